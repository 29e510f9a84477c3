"""Typed models of the change-management answers and bodies: a preview (``?dryRun=All`` on
POST, PUT and PATCH) and a rollback request (``POST .../{name}/rollback``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.web.models import AppConfig, ResourceVersion, waited_responses
from persistence.tables import MAX_SEQ
from vocabulary import API_VERSION, ApiVersionLiteral

_CAMEL = ConfigDict(alias_generator=to_camel, populate_by_name=True)
_CLOSED = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

TargetState = Literal["Compared", "Refused", "Unavailable"]


class FieldChangeModel(BaseModel):
    """One leaf that would change (maps key by key, lists and scalars whole)."""

    model_config = ConfigDict(title="FieldChange")

    path: str = Field(description='e.g. spec.replicas, metadata.labels["app.kubernetes.io/x"]')
    op: Literal["add", "remove", "replace"]
    before: Any = None
    after: Any = None


class TargetPreview(BaseModel):
    """What one target the AppConfig routes to holds now and what the write would change
    there. ``state``: ``Compared`` (``diff`` and ``changes`` are against the target's current
    content), ``Refused`` (the target would refuse the write: ``message`` says why),
    ``Unavailable`` (not reachable or not set up for this process)."""

    model_config = _CAMEL

    kind: Literal["kubernetes", "git"] | None = Field(
        None, description="the target's kind (absent: this process has no client for it)"
    )
    state: TargetState
    message: str = ""
    exists: bool = Field(False, description="the target holds the object now")
    diff: str = Field("", description="unified diff of the YAML, current -> after the write")
    changes: list[FieldChangeModel] = Field(default_factory=list)
    resource_version: str | None = Field(None, description="kubernetes: the live object's")
    path: str | None = Field(None, description="git: the file")
    commit: str | None = Field(None, description="git: the branch tip compared against")


class DatabasePreview(BaseModel):
    """What the write would do to the database."""

    model_config = _CAMEL

    op: Literal["create", "update", "none"] = Field(description="none: nothing would change")
    current: int | None = Field(description="the object's version now (None: no live object)")
    next: int = Field(
        description="the version the write would get if made now (a concurrent write may "
        "take it); the current one when nothing would change"
    )
    generation: int


class RenderedTargets(BaseModel):
    model_config = _CAMEL

    custom_resource: dict[str, Any] = Field(description="the CR direct apply would send")
    git_path: str | None = Field(
        None,
        description="where the first Git target compared would hold it (each Git target's own "
        "path is in its entry of targets)",
    )
    git_file: str = Field(description="the YAML the Git target would commit (the same CR)")


class AppConfigPreview(BaseModel):
    """The answer of a write with ``?dryRun=All``: the rules and limits passed (else the
    write's own 4xx), and nothing was written."""

    model_config = _CAMEL

    api_version: ApiVersionLiteral = API_VERSION
    kind: Literal["AppConfigPreview"] = "AppConfigPreview"
    namespace: str
    name: str
    database: DatabasePreview
    rendered: RenderedTargets
    targets: dict[str, TargetPreview] = Field(
        description="by target name, each target the AppConfig routes to, in apply order"
    )


class RollbackMetadata(BaseModel):
    model_config = _CLOSED

    resource_version: ResourceVersion | None = Field(None, description="conditional rollback")


class AppConfigRollback(BaseModel):
    """Rollback body: write revision ``toVersion``'s spec and labels as a new revision."""

    model_config = _CLOSED

    api_version: ApiVersionLiteral = API_VERSION
    kind: Literal["AppConfigRollback"] = "AppConfigRollback"
    to_version: int = Field(
        ge=1, le=MAX_SEQ, description="a resourceVersion from the key's history"
    )
    metadata: RollbackMetadata = Field(default_factory=RollbackMetadata)


#: What POST, PUT and PATCH answer: the object, or with ``?dryRun=All`` its preview.
AppConfigOrPreview = Annotated[AppConfig | AppConfigPreview, Field(discriminator="kind")]

#: ``?dryRun=All``: check and preview the write, write nothing (Kubernetes' parameter).
DryRunQuery = Annotated[
    Literal["All"] | None,
    Query(
        alias="dryRun",
        description="All: run every rule, limit and precondition, answer the "
        "AppConfigPreview, write nothing",
    ),
]


def previewable_responses(written: int) -> dict[int | str, dict[str, Any]]:
    """``waited_responses(written)`` for a route whose ``written`` answer is the object or
    its preview (the route's ``response_model``, ``AppConfigOrPreview``, states it)."""
    out = waited_responses(written)
    described = out[written]["description"]
    out[written] = {"description": f"{described}; with dryRun=All, the preview (nothing written)"}
    return out
