"""The REST API's typed models: what ``/openapi.json`` states and every answer is checked
against.

Family (as the full-stack FastAPI template): ``AppConfigCreate`` (POST body),
``AppConfigUpdate`` (PUT body; the merge patch of PATCH is derived from it), ``AppConfig``
(what is answered; the table is ``AppConfigRow``), ``AppConfigList``, ``AppConfigHistory`` and
``Status`` (every error). No rule is restated here: the spec is ``api.spec.AppConfigSpec``
itself, and the metadata constraints are the patterns and limits ``api.web.resources`` checks
with. The routes parse bodies themselves (every violation at once, with field paths), so the
request models document the bodies and are not used to parse them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict

from api.spec import DNS1123_LABEL, DNS1123_SUBDOMAIN, AppConfigSpec, SecretRef
from api.web.deleteoptions import API_VERSIONS, POLICIES
from api.web.provenancemodels import Provenance
from api.web.resources import (
    LABEL_VALUE,
    LABEL_VALUE_MAX,
    NAME_MAX,
    NAMESPACE_MAX,
    QUALIFIED_KEY,
    RESOURCE_VERSION,
)
from vocabulary import API_VERSION, GROUP, KIND, PLURAL, ApiVersionLiteral, KindLiteral

__all__ = ["AppConfigSpec", "SecretRef"]

_CAMEL = ConfigDict(alias_generator=to_camel, populate_by_name=True)
_CLOSED = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

Name = Annotated[
    str, Field(max_length=NAME_MAX, pattern=DNS1123_SUBDOMAIN.pattern, description="DNS-1123")
]
Namespace = Annotated[
    str, Field(max_length=NAMESPACE_MAX, pattern=DNS1123_LABEL.pattern, description="DNS-1123")
]
ResourceVersion = Annotated[str, Field(pattern=f"^({RESOURCE_VERSION.pattern[1:-1]})?$")]
#: The URL's namespace, checked before anything else (422 naming ``namespace``).
NamespacePath = Annotated[
    str, Path(max_length=NAMESPACE_MAX, pattern=DNS1123_LABEL.pattern, description="DNS-1123")
]
ANNOTATIONS_NOTE = "keys and values at most 256 KiB of UTF-8 in all, less 64 bytes"


class StatusCause(BaseModel):
    field: str = Field(description="dotted path of the field, e.g. spec.replicas")
    reason: str = Field(description="FieldValueInvalid, FieldValueRequired, ...")
    message: str


class StatusDetails(BaseModel):
    kind: str = PLURAL
    group: str = GROUP
    name: str | None = None
    causes: list[StatusCause] | None = None


class Status(BaseModel):
    """Every error answer: a Kubernetes ``Status`` (``metav1.Status``) with field causes."""

    model_config = _CAMEL

    kind: Literal["Status"] = "Status"
    api_version: Literal["v1"] = "v1"
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: Literal["Failure"] = "Failure"
    message: str
    reason: str
    details: StatusDetails
    code: int
    request_id: str = Field(description="the X-Request-Id of the request, also in the log")


class ObjectMeta(BaseModel):
    model_config = _CAMEL

    namespace: str
    name: str
    uid: str
    generation: int
    resource_version: str = Field(description="change sequence of the last write; the ETag")
    labels: dict[str, str]
    annotations: dict[str, str]
    creation_timestamp: str = Field(json_schema_extra={"format": "date-time"})


class TargetStatus(BaseModel):
    """What one target (kubernetes, git, relay) reported; the detail is the target's own."""

    model_config = _CAMEL

    applied_version: int
    resource_version: str | None = Field(None, description="kubernetes: the CR's")
    commit: str | None = Field(None, description="git: the commit holding the version")
    detail: str | None = Field(None, description="another target's detail")
    last_error: str
    attempts: int
    failed_version: int


class AppConfigStatus(BaseModel):
    """Read-only; ``phase`` is one of Pending, Syncing, Synced, Retrying, Failed, Deleting,
    Deleted. A deleted object's answer carries only ``phase`` and ``desiredVersion``."""

    model_config = _CAMEL

    phase: str
    desired_version: int
    applied_version: int = 0
    targets: dict[str, TargetStatus] = Field(default_factory=dict)
    last_error: str = ""
    attempts: int = 0
    workflow_id: str = ""
    workflow_url: str = ""


class AppConfig(BaseModel):
    model_config = _CAMEL

    api_version: ApiVersionLiteral = API_VERSION
    kind: KindLiteral = KIND
    metadata: ObjectMeta
    spec: AppConfigSpec
    status: AppConfigStatus


class ListMeta(BaseModel):
    model_config = _CAMEL

    resource_version: str = Field(description="change sequence when the page was read")
    continue_: str | None = Field(
        None, alias="continue", description="pass as ?continue= for the next page; absent: last"
    )


class AppConfigList(BaseModel):
    model_config = _CAMEL

    api_version: ApiVersionLiteral = API_VERSION
    kind: Literal["AppConfigList"] = "AppConfigList"
    metadata: ListMeta
    items: list[AppConfig]


class AppConfigRevision(BaseModel):
    """One committed write, by whom (``actor``) and when."""

    model_config = _CAMEL

    resource_version: str
    op: Literal["create", "update", "delete", "rollback"]
    actor: str
    time: str = Field(json_schema_extra={"format": "date-time"})
    uid: str
    generation: int
    labels: dict[str, str]
    annotations: dict[str, str]
    spec: AppConfigSpec
    provenance: Provenance | None = Field(None, description="with ?provenance=true")


class AppConfigHistory(BaseModel):
    kind: Literal["AppConfigHistory"] = "AppConfigHistory"
    items: list[AppConfigRevision]


class ReplayResult(BaseModel):
    """``POST .../{name}/replay``: what was done to re-drive the key's sync."""

    model_config = _CAMEL

    api_version: ApiVersionLiteral = API_VERSION
    kind: Literal["Replay"] = "Replay"
    key: str
    action: str
    #: The version re-driven; 0 when nothing was re-driven.
    version: int


class TimelineVersion(BaseModel):
    version: int
    op: str
    actor: str
    time: str


class TimelineTarget(BaseModel):
    model_config = _CAMEL

    target: str
    applied_version: int
    failed_version: int
    error_version: int
    reported_at: str


class AppConfigTimeline(BaseModel):
    """``GET .../{name}/timeline``: when each version was committed, and when each target
    last reported the version it holds."""

    model_config = _CAMEL

    api_version: ApiVersionLiteral = API_VERSION
    kind: Literal["AppConfigTimeline"] = "AppConfigTimeline"
    desired_version: int
    versions: list[TimelineVersion]
    targets: list[TimelineTarget]


class UserInfo(BaseModel):
    username: str
    groups: list[str]


class SelfSubjectReviewStatus(BaseModel):
    model_config = _CAMEL

    user_info: UserInfo
    #: Which authenticator recognised the credential (``tokens``, ``oidc``, ...).
    authenticator: str


class SelfSubjectReview(BaseModel):
    """``GET /api/v1/whoami``: who the API takes the caller for (as Kubernetes' own)."""

    model_config = _CAMEL

    api_version: ApiVersionLiteral = API_VERSION
    kind: Literal["SelfSubjectReview"] = "SelfSubjectReview"
    status: SelfSubjectReviewStatus


def _string_map(key: re.Pattern[str], value: JsonDict, description: str = "") -> Any:
    """A map of strings whose keys match ``key`` and whose values match ``value``."""
    extra: JsonDict = {"propertyNames": {"pattern": key.pattern}, "additionalProperties": value}
    return Field(default_factory=dict, description=description or None, json_schema_extra=extra)


_LABEL_VALUE_SCHEMA: JsonDict = {
    "type": "string",
    "maxLength": LABEL_VALUE_MAX,
    "pattern": LABEL_VALUE.pattern,
}


class _MetadataInput(BaseModel):
    """``uid``, ``generation``, ``creationTimestamp`` and ``managedFields`` are read-only: a
    client may send them back from a GET, and they are ignored."""

    model_config = _CLOSED

    namespace: Namespace | None = Field(None, description="must be the URL's")
    labels: dict[str, str] = _string_map(QUALIFIED_KEY, _LABEL_VALUE_SCHEMA)
    annotations: dict[str, str] = _string_map(QUALIFIED_KEY, {"type": "string"}, ANNOTATIONS_NOTE)
    resource_version: ResourceVersion | None = Field(None, description="conditional write")
    uid: Any = None
    generation: Any = None
    creation_timestamp: Any = None
    managed_fields: Any = None


class CreateMetadata(_MetadataInput):
    name: Name


class UpdateMetadata(_MetadataInput):
    name: Name | None = Field(None, description="must be the URL's")


class _AppConfigInput(BaseModel):
    model_config = _CLOSED

    api_version: ApiVersionLiteral = API_VERSION
    kind: KindLiteral = KIND
    spec: AppConfigSpec
    status: Any = Field(None, description="read-only; ignored")


class AppConfigCreate(_AppConfigInput):
    """POST body."""

    metadata: CreateMetadata


class AppConfigUpdate(_AppConfigInput):
    """PUT body: the whole object; ``metadata.resourceVersion`` makes it conditional. The
    merge-patch body of PATCH is derived from this schema (``api.web.apidoc``)."""

    metadata: UpdateMetadata = Field(default_factory=UpdateMetadata)


class Preconditions(BaseModel):
    model_config = _CLOSED

    uid: str | None = None
    resource_version: Annotated[str, Field(pattern=RESOURCE_VERSION.pattern)] | None = None


class DeleteOptions(BaseModel):
    """DELETE body (optional). ``propagationPolicy`` and ``gracePeriodSeconds`` have no
    effect; a mismatched precondition is a 409."""

    model_config = _CLOSED

    kind: Literal["DeleteOptions"] = "DeleteOptions"
    api_version: Literal[API_VERSIONS] = "v1"  # type: ignore[valid-type]
    preconditions: Preconditions | None = None
    propagation_policy: Literal[POLICIES] | None = None  # type: ignore[valid-type]
    grace_period_seconds: int | None = None


_DESCRIPTIONS = {
    400: "Bad request: malformed JSON, query parameter, If-Match, selector or continue token",
    401: "No credential, or one that is not accepted (WWW-Authenticate names the scheme)",
    403: "The principal's roles do not allow this verb on this namespace",
    404: "No such AppConfig",
    409: "Conflict: already exists, or a stale resourceVersion or uid precondition",
    412: "If-Match does not hold the current resourceVersion",
    413: "Request body, change event or rendered resource over its byte limit",
    415: "Unsupported Content-Type",
    422: "Invalid: every violated rule, each with its field path in details.causes",
    429: "Too many refused credentials from this client (Retry-After says when to try again)",
    503: "Not ready, or a dependency it needs (database, Temporal) is unavailable",
}


#: What every guarded route can answer besides its own statuses (see api.web.auth).
AUTH_ERRORS = (401, 403, 429)


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that can answer these error statuses."""
    return {code: {"model": Status, "description": _DESCRIPTIONS[code]} for code in codes}


def waited_responses(written: int) -> dict[int | str, dict[str, Any]]:
    """``?wait=synced``: 200 once synced (also for a create), 202 when the wait timed out;
    ``written`` is the status without waiting."""
    synced = "the object; with wait=synced, its sync finished"
    out: dict[int | str, dict[str, Any]] = {200: {"model": AppConfig, "description": synced}}
    out[202] = {"model": AppConfig, "description": "wait=synced: the sync did not finish in time"}
    if written != 200:
        out[written] = {"model": AppConfig, "description": "the object as written"}
    return out
