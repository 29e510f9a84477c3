"""Per-app and per-request context for the web layer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from api.web.previewing import PreviewTargets
from vocabulary.routing import Route, routed


@dataclass(frozen=True)
class ApiContext:
    """What the routes need, built once by ``create_app``."""

    engine: Engine
    targets: tuple[str, ...]
    ui_url: str
    temporal_namespace: str
    default_page_limit: int
    #: Largest change event a write may produce (derived from kafka.max_request_size).
    max_event_bytes: int
    #: The clients a preview (``?dryRun=All``) compares the targets with.
    previews: PreviewTargets = field(default_factory=PreviewTargets)
    #: The routing rules (``vocabulary.routing``); none: every AppConfig goes to every target.
    routes: tuple[Route, ...] = ()
    #: The kind of each target not named after its kind (``SyncOptions.target_kinds``).
    target_kinds: Mapping[str, str] = field(default_factory=dict)

    def route(
        self, *, namespace: str, spec: Mapping[str, object], labels: Mapping[str, str]
    ) -> tuple[str, ...] | None:
        """The targets an AppConfig of ``namespace`` with ``spec`` and ``labels`` syncs to, in
        apply order; None when no rule routes it."""
        environment = str(spec.get("environment", ""))
        return routed(
            self.targets, self.routes, environment=environment, namespace=namespace, labels=labels
        )


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


ContextDep = Annotated[ApiContext, Depends(get_context)]
