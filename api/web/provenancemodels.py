"""Typed models of a revision's provenance (``GET .../history?provenance=true``) and of the
audit query across keys (``GET /api/v1/revisions``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

_CAMEL = ConfigDict(alias_generator=to_camel, populate_by_name=True)
Outcome = Literal[
    "committed", "published", "synced", "retrying", "failed", "superseded", "coalesced", "deleted"
]


class PublishLink(BaseModel):
    """Where the relay put the change event: the broker's own coordinates."""

    model_config = _CAMEL

    outcome: str = Field(description="published, or set-aside (refused for good)")
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    error: str | None = None
    time: str = Field(json_schema_extra={"format": "date-time"})


class ProvenanceStep(BaseModel):
    """One stage reported by the sync: a target (kubernetes, git) or the workflow (sync)."""

    model_config = _CAMEL

    stage: str
    outcome: str = Field(
        description="applied, removed, superseded, skipped-newer, failed, retrying, "
        "coalesced or deleted"
    )
    time: str = Field(json_schema_extra={"format": "date-time"})
    workflow_id: str
    run_id: str
    activity_id: str = Field(description="unique in the run; its ActivityTaskScheduled event")
    activity_type: str
    attempt: int
    resource_version: str | None = Field(None, description="kubernetes: what the apply returned")
    uid: str | None = Field(None, description="kubernetes: metadata.uid of the object written")
    commit: str | None = Field(None, description="git: the commit holding the version")
    coalesced_into: int | None = None
    error: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class Provenance(BaseModel):
    """Where one version went: its event on Kafka, then each step of its sync."""

    model_config = _CAMEL

    outcome: Outcome
    coalesced_into: int | None = None
    error: str | None = None
    published: PublishLink | None = None
    steps: list[ProvenanceStep] = Field(default_factory=list)


class AuditRevision(BaseModel):
    """One committed write of any key (``GET /api/v1/revisions``)."""

    model_config = _CAMEL

    namespace: str
    name: str
    resource_version: str
    op: str = Field(description="create, update or delete")
    actor: str
    time: str = Field(json_schema_extra={"format": "date-time"})
    uid: str
    generation: int


class AuditListMeta(BaseModel):
    model_config = _CAMEL

    continue_: str | None = Field(
        None, alias="continue", description="pass as ?continue= for the next page; absent: last"
    )


class RevisionList(BaseModel):
    kind: Literal["RevisionList"] = "RevisionList"
    metadata: AuditListMeta
    items: list[AuditRevision]
