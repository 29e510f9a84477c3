"""The body of a DELETE: Kubernetes ``DeleteOptions``, of which preconditions are honoured.

``preconditions.uid`` and ``preconditions.resourceVersion`` make the delete conditional, as
in Kubernetes (a mismatch is a 409 Conflict). ``kind``/``apiVersion`` must name
DeleteOptions; ``propagationPolicy`` and ``gracePeriodSeconds`` are accepted and have no
effect (an AppConfig has no dependents and no grace period). Everything else, ``dryRun``
included (a dry run that deleted for real would be worse than a refusal), is a 400 naming
the field: an option that is silently ignored is a delete the client did not ask for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.spec import FieldError, whole_number
from api.web.httperrors import HttpError
from api.web.resources import RESOURCE_VERSION

_OPTIONS = {"kind", "apiVersion", "preconditions", "propagationPolicy", "gracePeriodSeconds"}
_PRECONDITIONS = {"uid", "resourceVersion"}
POLICIES = ("Foreground", "Background", "Orphan")
API_VERSIONS = ("v1", "meta.k8s.io/v1")


@dataclass(frozen=True)
class DeletePreconditions:
    """What the object must still be for the delete to go ahead (None: anything)."""

    uid: str | None = None
    resource_version: int | None = None


def _bad(field: str, message: str) -> HttpError:
    return HttpError(
        400,
        f"DeleteOptions: {field}: {message}",
        causes=[FieldError(field, "FieldValueInvalid", message)],
    )


def _check_options(options: dict[str, Any]) -> None:
    for key in options:
        if key not in _OPTIONS:
            raise _bad(key, "unknown or unsupported field")
    if options.get("kind", "DeleteOptions") != "DeleteOptions":
        raise _bad("kind", "must be DeleteOptions")
    if options.get("apiVersion", "v1") not in API_VERSIONS:
        raise _bad("apiVersion", "must be v1")
    policy = options.get("propagationPolicy")
    if policy is not None and policy not in POLICIES:
        raise _bad("propagationPolicy", f"must be one of {sorted(POLICIES)}")
    grace = whole_number(options.get("gracePeriodSeconds"))
    if grace is not None and (isinstance(grace, bool) or not isinstance(grace, int)):
        raise _bad("gracePeriodSeconds", "must be an integer")


def _preconditions(raw: Any) -> DeletePreconditions:
    if raw is None:
        return DeletePreconditions()
    if not isinstance(raw, dict):
        raise _bad("preconditions", "must be an object")
    for key in raw:
        if key not in _PRECONDITIONS:
            raise _bad(f"preconditions.{key}", "unknown field; uid and resourceVersion are")
    uid, version = raw.get("uid"), raw.get("resourceVersion")
    if uid is not None and not isinstance(uid, str):
        raise _bad("preconditions.uid", "must be a string")
    if version is not None and not (
        isinstance(version, str) and RESOURCE_VERSION.fullmatch(version)
    ):
        raise _bad("preconditions.resourceVersion", "must be a string holding a resourceVersion")
    return DeletePreconditions(uid, int(version) if version is not None else None)


def parse_delete_options(options: Any) -> DeletePreconditions:
    """The preconditions of a decoded DeleteOptions body; HttpError 400 naming a bad field."""
    if not isinstance(options, dict):
        raise _bad("body", "must be a DeleteOptions object")
    _check_options(options)
    return _preconditions(options.get("preconditions"))
