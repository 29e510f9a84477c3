"""Reading many AppConfigs: pages of a namespace or of all namespaces (label selectors,
``limit`` and ``continue``), and the revision history of one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from api.web.apicontext import ApiContext, ContextDep
from api.web.httperrors import HttpError
from api.web.models import AppConfigHistory, AppConfigList, NamespacePath, error_responses
from api.web.provenancerendering import add_provenance
from api.web.resources import render, render_revision
from api.web.status import current_status
from k8s.labels import SelectorError, parse_selector
from persistence import reading
from vocabulary import API_VERSION

router = APIRouter()
ITEM = "/namespaces/{namespace}/appconfigs/{name}"


def _list(
    ctx: ApiContext,
    namespace: str | None,
    selector: str | None,
    limit: int | None,
    token: str | None,
    visible: list[str] | None = None,
) -> dict[str, Any]:
    try:
        matcher = parse_selector(selector)
        page = reading.list_appconfigs(
            ctx.engine,
            namespace=namespace,
            matches=matcher.matches,
            limit=limit or ctx.default_page_limit,
            continue_token=token,
            namespaces=visible,
        )
    except SelectorError as err:
        raise HttpError(400, f"labelSelector: {err}") from None
    except reading.InvalidContinueError as err:
        raise HttpError(400, f"continue: {err}") from None
    metadata: dict[str, Any] = {"resourceVersion": str(reading.current_seq(ctx.engine))}
    if page.continue_token:
        metadata["continue"] = page.continue_token
    items = [render(row, current_status(ctx, row)) for row in page.items]
    return {
        "apiVersion": API_VERSION,
        "kind": "AppConfigList",
        "metadata": metadata,
        "items": items,
    }


LimitQuery = Query(default=None, ge=1, le=1000)
SelectorQuery = Query(default=None, alias="labelSelector")


@router.get(
    "/namespaces/{namespace}/appconfigs",
    response_model=AppConfigList,
    response_model_exclude_unset=True,
    responses=error_responses(400, 422),
)
async def list_namespaced(
    namespace: NamespacePath,
    ctx: ContextDep,
    label_selector: str | None = SelectorQuery,
    limit: int | None = LimitQuery,
    continue_: str | None = Query(default=None, alias="continue"),
) -> dict[str, Any]:
    return await run_in_threadpool(_list, ctx, namespace, label_selector, limit, continue_)


@router.get(
    "/appconfigs",
    response_model=AppConfigList,
    response_model_exclude_unset=True,
    responses=error_responses(400, 422),
)
async def list_all(
    request: Request,
    ctx: ContextDep,
    label_selector: str | None = SelectorQuery,
    limit: int | None = LimitQuery,
    continue_: str | None = Query(default=None, alias="continue"),
) -> dict[str, Any]:
    """Only the namespaces the caller may list (the auth guard decided which)."""
    visible = getattr(request.state, "visible_namespaces", None)
    return await run_in_threadpool(_list, ctx, None, label_selector, limit, continue_, visible)


@router.get(
    ITEM + "/history",
    response_model=AppConfigHistory,
    response_model_exclude_unset=True,
    responses=error_responses(404, 422),
)
async def history(
    namespace: NamespacePath,
    name: str,
    ctx: ContextDep,
    with_provenance: bool = Query(
        default=False, alias="provenance", description="where each version went (its sync)"
    ),
) -> dict[str, Any]:
    revisions = await run_in_threadpool(
        reading.list_revisions, ctx.engine, namespace=namespace, name=name
    )
    if not revisions:
        raise HttpError(
            404, f'appconfigs "{name}" has no history in namespace "{namespace}"', name=name
        )
    items = [render_revision(r) for r in revisions]
    if with_provenance:
        await run_in_threadpool(add_provenance, ctx, revisions, items)
    return {"kind": "AppConfigHistory", "items": items}
