"""The AppConfig REST resource: thin routes over the persistence layer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.persistence import reading, writing
from api.persistence.tables import AppConfigRow
from api.spec import FieldError
from api.web.bodies import MERGE_PATCH, actor_of, if_match_version, read_json
from api.web.context import ApiContext, ContextDep
from api.web.deleteoptions import DeletePreconditions, parse_delete_options
from api.web.errors import ApiError, invalid
from api.web.resources import (
    check_name,
    check_namespace,
    check_object_size,
    largest_part,
    parse_body,
    render,
    render_revision,
)
from api.web.status import current_status
from api.web.waiting import WaitDep, finish
from k8s.labels import SelectorError, parse_selector
from k8s.mergepatch import merge_patch

router = APIRouter(prefix="/api/v1", tags=["appconfigs"])
ITEM = "/namespaces/{namespace}/appconfigs/{name}"


def resource(ctx: ApiContext, row: AppConfigRow) -> dict[str, Any]:
    return render(row, current_status(ctx, row))


def _load(ctx: ApiContext, namespace: str, name: str) -> AppConfigRow:
    row = reading.get_appconfig(ctx.engine, namespace=namespace, name=name)
    if row is None:
        raise ApiError(404, f'appconfigs "{name}" not found in namespace "{namespace}"', name=name)
    return row


def _parse(body: Any, namespace: str, name: str | None) -> tuple[str, writing.Content, int | None]:
    parsed, errors = parse_body(body)
    meta = body.get("metadata") if isinstance(body, dict) else None
    body_name = meta.get("name") if isinstance(meta, dict) else None
    errors = check_namespace(namespace, "namespace") + errors
    if name is None:
        errors += check_name(body_name)
    elif body_name not in (None, name):
        errors.append(
            FieldError("metadata.name", "FieldValueInvalid", f"must match the URL name {name!r}")
        )
    if parsed and parsed.namespace not in (None, namespace):
        errors.append(
            FieldError("metadata.namespace", "FieldValueInvalid", "must match the URL namespace")
        )
    if errors or parsed is None:
        raise invalid(name or (body_name if isinstance(body_name, str) else None), errors)
    version = int(parsed.resource_version) if parsed.resource_version else None
    final_name = name or str(body_name)
    too_large = check_object_size(namespace, final_name, parsed.content)
    if too_large:
        raise ApiError(413, too_large[0].message, causes=too_large, name=final_name)
    return final_name, parsed.content, version


def _too_large(err: writing.EventTooLargeError, content: writing.Content, name: str) -> ApiError:
    message = (
        f"{err}: the relay's producer accepts messages up to kafka.max_request_size "
        "(less the record's framing); make the largest part smaller"
    )
    cause = FieldError(largest_part(content), "FieldValueTooLong", message)
    return ApiError(413, message, causes=[cause], name=name)


def _write_errors(err: Exception, *, name: str, via_if_match: bool) -> ApiError:
    if isinstance(err, writing.NotFoundError):
        return ApiError(404, f'appconfigs "{name}" not found', name=name)
    if isinstance(err, writing.AlreadyExistsError):
        return ApiError(
            409, f'appconfigs "{name}" already exists', reason="AlreadyExists", name=name
        )
    assert isinstance(err, writing.VersionConflictError)
    if via_if_match:
        return ApiError(412, f"If-Match precondition failed: {err}", name=name)
    return ApiError(
        409,
        f'Operation cannot be fulfilled on appconfigs "{name}": {err}; '
        "read the latest version and try again",
        name=name,
    )


def _expected(request: Request, body_version: int | None) -> tuple[int | None, bool]:
    header = if_match_version(request)
    if header is not None and body_version is not None and header != body_version:
        raise ApiError(412, "If-Match and metadata.resourceVersion disagree: both cannot hold")
    return (header, True) if header is not None else (body_version, False)


@router.post("/namespaces/{namespace}/appconfigs", status_code=201)
async def create(
    namespace: str, request: Request, response: Response, ctx: ContextDep, wait: WaitDep
) -> dict[str, Any]:
    name, content, _ = _parse(await read_json(request), namespace, None)
    try:
        row = await run_in_threadpool(
            writing.create_appconfig,
            ctx.engine,
            namespace=namespace,
            name=name,
            content=content,
            actor=actor_of(request),
            max_event_bytes=ctx.max_event_bytes,
        )
    except writing.AlreadyExistsError as err:
        raise _write_errors(err, name=name, via_if_match=False) from None
    except writing.EventTooLargeError as err:
        raise _too_large(err, content, name) from None
    return await finish(response, ctx, row, wait)


@router.get(ITEM)
async def get(
    namespace: str, name: str, response: Response, ctx: ContextDep, wait: WaitDep
) -> dict[str, Any]:
    row = await run_in_threadpool(_load, ctx, namespace, name)
    return await finish(response, ctx, row, wait)


@router.put(ITEM)
async def replace(
    namespace: str, name: str, request: Request, response: Response, ctx: ContextDep, wait: WaitDep
) -> dict[str, Any]:
    _, content, body_version = _parse(await read_json(request), namespace, name)
    expected, via_if_match = _expected(request, body_version)
    try:
        row = await run_in_threadpool(
            writing.update_appconfig,
            ctx.engine,
            namespace=namespace,
            name=name,
            content=content,
            expected_version=expected,
            actor=actor_of(request),
            max_event_bytes=ctx.max_event_bytes,
        )
    except (writing.NotFoundError, writing.VersionConflictError) as err:
        raise _write_errors(err, name=name, via_if_match=via_if_match) from None
    except writing.EventTooLargeError as err:
        raise _too_large(err, content, name) from None
    return await finish(response, ctx, row, wait)


@router.patch(ITEM)
async def patch(
    namespace: str, name: str, request: Request, response: Response, ctx: ContextDep, wait: WaitDep
) -> dict[str, Any]:
    """JSON merge patch, merged with the current object inside the write transaction."""
    patch_body = await read_json(request, allowed=(MERGE_PATCH, "application/json"))
    if not isinstance(patch_body, dict):
        # A merge patch that is not an object replaces the whole object with it.
        cause = FieldError("body", "FieldValueInvalid", "a merge patch must be a JSON object")
        raise invalid(name, [cause])
    header = if_match_version(request)
    body_version: list[int | None] = [None]
    merged_content: list[writing.Content] = []

    def change(current: AppConfigRow) -> writing.Content:
        merged = merge_patch(render(current, {}), patch_body)
        merged.pop("status", None)
        merged_meta = merged.get("metadata")
        requested = patch_body.get("metadata")
        if isinstance(merged_meta, dict) and not (
            isinstance(requested, dict) and "resourceVersion" in requested
        ):
            merged_meta.pop("resourceVersion", None)
        _, content, version = _parse(merged, namespace, name)
        if version is not None and version != current.seq:
            body_version[0] = version
            raise writing.VersionConflictError(version, current.seq)
        merged_content.append(content)
        return content

    try:
        row = await run_in_threadpool(
            writing.modify_appconfig,
            ctx.engine,
            namespace=namespace,
            name=name,
            change=change,
            expected_version=header,
            actor=actor_of(request),
            max_event_bytes=ctx.max_event_bytes,
        )
    except (writing.NotFoundError, writing.VersionConflictError) as err:
        raise _write_errors(err, name=name, via_if_match=body_version[0] is None) from None
    except writing.EventTooLargeError as err:
        raise _too_large(err, merged_content[-1], name) from None
    return await finish(response, ctx, row, wait)


@router.delete(ITEM)
async def delete(
    namespace: str, name: str, request: Request, response: Response, ctx: ContextDep, wait: WaitDep
) -> dict[str, Any]:
    """Tombstone the object; a DeleteOptions body may carry uid/resourceVersion preconditions."""
    preconditions = DeletePreconditions()
    if await request.body():
        preconditions = parse_delete_options(await read_json(request))
    expected, via_if_match = _expected(request, preconditions.resource_version)
    try:
        row = await run_in_threadpool(
            writing.delete_appconfig,
            ctx.engine,
            namespace=namespace,
            name=name,
            expected_version=expected,
            expected_uid=preconditions.uid,
            actor=actor_of(request),
        )
    except writing.UidConflictError as err:
        raise ApiError(409, f"Precondition failed: {err}", reason="Conflict", name=name) from None
    except writing.VersionConflictError as err:
        if via_if_match:
            raise _write_errors(err, name=name, via_if_match=True) from None
        raise ApiError(
            409,
            f'Operation cannot be fulfilled on appconfigs "{name}": the resourceVersion in the '
            f"precondition ({err.expected}) does not match the resourceVersion in record "
            f"({err.actual}). The object might have been modified",
            reason="Conflict",
            name=name,
        ) from None
    except writing.NotFoundError as err:
        raise _write_errors(err, name=name, via_if_match=via_if_match) from None
    return await finish(response, ctx, row, wait)


def _list(
    ctx: ApiContext,
    namespace: str | None,
    selector: str | None,
    limit: int | None,
    token: str | None,
) -> dict[str, Any]:
    try:
        matcher = parse_selector(selector)
        page = reading.list_appconfigs(
            ctx.engine,
            namespace=namespace,
            matches=matcher.matches,
            limit=limit or ctx.default_page_limit,
            continue_token=token,
        )
    except SelectorError as err:
        raise ApiError(400, f"labelSelector: {err}") from None
    except reading.InvalidContinueError as err:
        raise ApiError(400, f"continue: {err}") from None
    metadata: dict[str, Any] = {"resourceVersion": str(reading.current_seq(ctx.engine))}
    if page.continue_token:
        metadata["continue"] = page.continue_token
    items = [resource(ctx, row) for row in page.items]
    return {
        "apiVersion": "rendersync.dev/v1alpha1",
        "kind": "AppConfigList",
        "metadata": metadata,
        "items": items,
    }


LimitQuery = Query(default=None, ge=1, le=1000)
SelectorQuery = Query(default=None, alias="labelSelector")


@router.get("/namespaces/{namespace}/appconfigs")
async def list_namespaced(
    namespace: str,
    ctx: ContextDep,
    label_selector: str | None = SelectorQuery,
    limit: int | None = LimitQuery,
    continue_: str | None = Query(default=None, alias="continue"),
) -> dict[str, Any]:
    return await run_in_threadpool(_list, ctx, namespace, label_selector, limit, continue_)


@router.get("/appconfigs")
async def list_all(
    ctx: ContextDep,
    label_selector: str | None = SelectorQuery,
    limit: int | None = LimitQuery,
    continue_: str | None = Query(default=None, alias="continue"),
) -> dict[str, Any]:
    return await run_in_threadpool(_list, ctx, None, label_selector, limit, continue_)


@router.get(ITEM + "/history")
async def history(namespace: str, name: str, ctx: ContextDep) -> dict[str, Any]:
    revisions = await run_in_threadpool(
        reading.list_revisions, ctx.engine, namespace=namespace, name=name
    )
    if not revisions:
        raise ApiError(
            404, f'appconfigs "{name}" has no history in namespace "{namespace}"', name=name
        )
    return {"kind": "AppConfigHistory", "items": [render_revision(r) for r in revisions]}
