"""Audit queries across keys: ``GET /api/v1/revisions?actor=&since=&until=&namespace=``.

Revisions in commit order (``seq``), paged with ``limit`` and ``continue`` like the lists.
A caller sees only the namespaces it may list: with no cluster-wide right, the namespaces
that have revisions (deleted keys' too) are each asked of the authorizers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BeforeValidator

from api.web.apicontext import ContextDep
from api.web.auth.authorizing import allows
from api.web.auth.principals import Principal
from api.web.httperrors import HttpError
from api.web.models import error_responses
from api.web.provenancemodels import RevisionList
from api.web.resources import timestamp
from persistence import reading
from persistence.tables import Revision, as_utc

router = APIRouter()


def _render(revision: Revision) -> dict[str, Any]:
    return {
        "namespace": revision.namespace,
        "name": revision.name,
        "resourceVersion": str(revision.seq),
        "op": revision.op,
        "actor": revision.actor,
        "time": timestamp(revision.created_at),
        "uid": revision.uid,
        "generation": revision.generation,
    }


async def _visible(request: Request, namespace: str | None) -> list[str] | None:
    """None: every namespace; else those the caller may list (narrowed to ``namespace``)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None or await allows(request, principal, "list", ""):
        return None if namespace is None else [namespace]
    engine = request.app.state.context.engine
    present = await run_in_threadpool(reading.revision_namespaces, engine)
    wanted = [ns for ns in present if namespace in (None, ns)]
    return [ns for ns in wanted if await allows(request, principal, "list", ns)]


def _after(token: str | None) -> int:
    if token is None:
        return 0
    try:
        namespace, seq = reading.decode_continue(token)
        if namespace != "revisions" or not seq.isdigit():
            raise reading.InvalidContinueError("continue token is not valid")
    except reading.InvalidContinueError as err:
        raise HttpError(400, f"continue: {err}") from None
    return int(seq)


def _rfc3339(value: Any) -> Any:
    """An RFC 3339 date-time, as the document says (``format: date-time``); pydantic alone
    would also read a number such as ``0.0`` as a Unix time."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an RFC 3339 date-time") from None
        if "T" not in value.upper() or parsed.tzinfo is None:
            raise ValueError("must be an RFC 3339 date-time with its offset (Z or ±hh:mm)")
        return parsed
    return value


#: (FastAPI applies a validator only when the Query is in the same Annotated.)
SinceQuery = Annotated[
    datetime | None, Query(description="committed at or after"), BeforeValidator(_rfc3339)
]
UntilQuery = Annotated[
    datetime | None, Query(description="committed before"), BeforeValidator(_rfc3339)
]


@router.get(
    "/revisions",
    response_model=RevisionList,
    response_model_exclude_unset=True,
    responses=error_responses(400, 422),
)
async def list_revisions(
    request: Request,
    ctx: ContextDep,
    actor: str | None = Query(default=None, description="only writes by this principal"),
    since: SinceQuery = None,
    until: UntilQuery = None,
    namespace: str | None = Query(default=None, description="only this namespace"),
    limit: int | None = Query(default=None, ge=1, le=1000),
    continue_: str | None = Query(default=None, alias="continue"),
) -> dict[str, Any]:
    """Committed writes of every key the caller may list, oldest first."""
    after = _after(continue_)
    visible = await _visible(request, namespace)
    rows, more = await run_in_threadpool(
        lambda: reading.search_revisions(
            ctx.engine,
            namespaces=visible,
            actor=actor,
            since=None if since is None else as_utc(since),
            until=None if until is None else as_utc(until),
            limit=limit or ctx.default_page_limit,
            after=after,
        )
    )
    metadata: dict[str, Any] = {}
    if more and rows:
        metadata["continue"] = reading.encode_continue("revisions", str(rows[-1].seq))
    return {"kind": "RevisionList", "metadata": metadata, "items": [_render(r) for r in rows]}
