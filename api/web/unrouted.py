"""Refusing a write that would leave an AppConfig no routing rule routes (``vocabulary.routing``):
no target would take it, and its workflow would fail the sync. Every write that sets a spec
or labels (create, replace, merge patch, rollback; their previews alike) checks the object
it would leave, before anything is written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.spec import FieldError
from api.web.apicontext import ApiContext
from api.web.httperrors import invalid
from persistence.writing import Content
from vocabulary.routing import unrouted_reason

#: The field an unrouted AppConfig is refused on (routing reads it first).
FIELD = "spec.environment"


@dataclass(frozen=True)
class _Written:
    """What routing reads of the AppConfig a write would leave."""

    namespace: str
    spec: Mapping[str, Any]
    labels: Mapping[str, str]


def check_routed(ctx: ApiContext, namespace: str, name: str, content: Content) -> None:
    """422 ``Invalid`` on ``spec.environment`` (message: ``unrouted_reason``, naming the
    environment, namespace and labels) when no rule routes ``content`` in ``namespace``."""
    if ctx.route(namespace=namespace, spec=content.spec, labels=content.labels) is None:
        written = _Written(namespace, content.spec, content.labels)
        raise invalid(name, [FieldError(FIELD, "FieldValueInvalid", unrouted_reason(written))])
