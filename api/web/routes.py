"""The AppConfig REST resource: thin routes over the persistence layer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.spec import FieldError
from api.web.apicontext import ApiContext, ContextDep
from api.web.apidoc import IF_MATCH_PARAMETER, merge_patch_body, request_body
from api.web.bodies import MERGE_PATCH, actor_of, if_match_version, read_json
from api.web.changemodels import AppConfigOrPreview, DryRunQuery, previewable_responses
from api.web.deleteoptions import DeletePreconditions, parse_delete_options
from api.web.httperrors import HttpError, invalid, stale_write
from api.web.listing import router as listing_router
from api.web.models import (
    AppConfig,
    AppConfigCreate,
    AppConfigUpdate,
    DeleteOptions,
    NamespacePath,
    error_responses,
    waited_responses,
)
from api.web.previewing import preview
from api.web.resources import check_name, check_object_size, largest_part, parse_body
from api.web.revisionsearch import router as revisions_router
from api.web.rollbacks import router as rollback_router
from api.web.unrouted import check_routed
from api.web.waiting import WaitDep, finish
from k8s.mergepatch import merge_patch
from persistence import reading, writing
from persistence.tables import AppConfigRow
from vocabulary import API_VERSION, KIND

router = APIRouter(prefix="/api/v1", tags=["appconfigs"])
ITEM = "/namespaces/{namespace}/appconfigs/{name}"
# Answers carry exactly the fields the handlers set (a deleted object's status is short):
# response_model_exclude_unset on every route.
CONDITIONAL = {"parameters": [IF_MATCH_PARAMETER]}


def _load(ctx: ApiContext, namespace: str, name: str) -> AppConfigRow:
    row = reading.get_appconfig(ctx.engine, namespace=namespace, name=name)
    if row is None:
        raise HttpError(404, f'appconfigs "{name}" not found in namespace "{namespace}"', name=name)
    return row


def _parse(body: Any, namespace: str, name: str | None) -> tuple[str, writing.Content, int | None]:
    parsed, errors = parse_body(body)
    meta = body.get("metadata") if isinstance(body, dict) else None
    body_name = meta.get("name") if isinstance(meta, dict) else None
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
        raise HttpError(413, too_large[0].message, causes=too_large, name=final_name)
    return final_name, parsed.content, version


def _too_large(err: writing.EventTooLargeError, name: str) -> HttpError:
    message = (
        f"{err}: the relay's producer accepts messages up to kafka.max_request_size "
        "(less the record's framing); make the largest part smaller"
    )
    cause = FieldError(largest_part(err.content), "FieldValueTooLong", message)
    return HttpError(413, message, causes=[cause], name=name)


class _StaleBodyError(writing.VersionConflictError):
    """The resourceVersion a merge patch names is not the row's: a 409, as for a PUT body
    (a stale If-Match is a 412)."""


def _patched(ctx: ApiContext, row: AppConfigRow, patch: dict[str, Any]) -> writing.Content:
    """The spec, labels and annotations a JSON merge patch makes of ``row``'s, validated as
    a PUT body of the merged object would be (422, routing included; 413). Only what a client
    may write is patched: a ``status`` or read-only metadata in the patch is ignored, as in a
    PUT, and a ``metadata.resourceVersion`` in it must be the row's (else _StaleBodyError)."""
    writable = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "namespace": row.namespace,
            "name": row.name,
            "labels": row.labels,
            "annotations": row.annotations,
        },
        "spec": row.spec,
    }
    _, content, version = _parse(merge_patch(writable, patch), row.namespace, row.name)
    check_routed(ctx, row.namespace, row.name, content)
    if version is not None and version != row.seq:
        raise _StaleBodyError(version, row.seq)
    return content


def _write_errors(err: Exception, *, name: str, via_if_match: bool) -> HttpError:
    if isinstance(err, writing.NotFoundError):
        return HttpError(404, f'appconfigs "{name}" not found', name=name)
    if isinstance(err, writing.AlreadyExistsError):
        return HttpError(
            409, f'appconfigs "{name}" already exists', reason="AlreadyExists", name=name
        )
    assert isinstance(err, writing.VersionConflictError)
    return stale_write(err, name=name, via_if_match=via_if_match)


async def _previewed(
    ctx: ApiContext, row: AppConfigRow, current: AppConfigRow | None
) -> dict[str, Any]:
    """The answer of a dry run that would have left ``row`` (nothing was written), compared
    with the targets it routes to (a write no rule routes was refused before)."""
    routed = ctx.route(namespace=row.namespace, spec=row.spec, labels=row.labels) or ()
    return await preview(targets=routed, readers=ctx.previews, row=row, current=current)


def _live(ctx: ApiContext, namespace: str, name: str) -> AppConfigRow | None:
    return reading.get_appconfig(ctx.engine, namespace=namespace, name=name)


def _expected(request: Request, body_version: int | None) -> tuple[int | None, bool]:
    header = if_match_version(request)
    if header is not None and body_version is not None and header != body_version:
        raise HttpError(412, "If-Match and metadata.resourceVersion disagree: both cannot hold")
    return (header, True) if header is not None else (body_version, False)


@router.post(
    "/namespaces/{namespace}/appconfigs",
    status_code=201,
    response_model=AppConfigOrPreview,
    response_model_exclude_unset=True,
    responses={**previewable_responses(201), **error_responses(400, 409, 413, 415, 422)},
    openapi_extra=request_body(AppConfigCreate),
)
async def create(
    namespace: NamespacePath,
    request: Request,
    response: Response,
    ctx: ContextDep,
    wait: WaitDep,
    dry_run: DryRunQuery = None,
) -> dict[str, Any]:
    name, content, _ = _parse(await read_json(request), namespace, None)
    check_routed(ctx, namespace, name, content)
    try:
        row = await run_in_threadpool(
            writing.create_appconfig,
            ctx.engine,
            namespace=namespace,
            name=name,
            content=content,
            actor=actor_of(request),
            max_event_bytes=ctx.max_event_bytes,
            dry_run=dry_run is not None,
        )
    except writing.AlreadyExistsError as err:
        raise _write_errors(err, name=name, via_if_match=False) from None
    except writing.EventTooLargeError as err:
        raise _too_large(err, name) from None
    if dry_run:
        return await _previewed(ctx, row, None)
    return await finish(response, ctx, row, wait)


@router.get(
    ITEM,
    response_model=AppConfig,
    response_model_exclude_unset=True,
    responses={**waited_responses(200), **error_responses(400, 404, 422)},
)
async def get(
    namespace: NamespacePath, name: str, response: Response, ctx: ContextDep, wait: WaitDep
) -> dict[str, Any]:
    row = await run_in_threadpool(_load, ctx, namespace, name)
    return await finish(response, ctx, row, wait)


@router.put(
    ITEM,
    response_model=AppConfigOrPreview,
    response_model_exclude_unset=True,
    responses={**previewable_responses(200), **error_responses(400, 404, 409, 412, 413, 415, 422)},
    openapi_extra={**request_body(AppConfigUpdate), **CONDITIONAL},
)
async def replace(
    namespace: NamespacePath,
    name: str,
    request: Request,
    response: Response,
    ctx: ContextDep,
    wait: WaitDep,
    dry_run: DryRunQuery = None,
) -> dict[str, Any]:
    _, content, body_version = _parse(await read_json(request), namespace, name)
    check_routed(ctx, namespace, name, content)
    expected, via_if_match = _expected(request, body_version)
    current = await run_in_threadpool(_live, ctx, namespace, name) if dry_run else None
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
            dry_run=dry_run is not None,
        )
    except (writing.NotFoundError, writing.VersionConflictError) as err:
        raise _write_errors(err, name=name, via_if_match=via_if_match) from None
    except writing.EventTooLargeError as err:
        raise _too_large(err, name) from None
    if dry_run:
        return await _previewed(ctx, row, current)
    return await finish(response, ctx, row, wait)


@router.patch(
    ITEM,
    response_model=AppConfigOrPreview,
    response_model_exclude_unset=True,
    responses={**previewable_responses(200), **error_responses(400, 404, 409, 412, 413, 415, 422)},
    openapi_extra={**merge_patch_body(), **CONDITIONAL},
)
async def patch(
    namespace: NamespacePath,
    name: str,
    request: Request,
    response: Response,
    ctx: ContextDep,
    wait: WaitDep,
    dry_run: DryRunQuery = None,
) -> dict[str, Any]:
    """JSON merge patch, merged with the current object inside the write transaction."""
    patch_body = await read_json(request, allowed=(MERGE_PATCH, "application/json"))
    if not isinstance(patch_body, dict):
        # A merge patch that is not an object replaces the whole object with it.
        cause = FieldError("body", "FieldValueInvalid", "a merge patch must be a JSON object")
        raise invalid(name, [cause])
    header = if_match_version(request)
    current = await run_in_threadpool(_live, ctx, namespace, name) if dry_run else None
    try:
        row = await run_in_threadpool(
            writing.modify_appconfig,
            ctx.engine,
            namespace=namespace,
            name=name,
            change=lambda row: _patched(ctx, row, patch_body),
            expected_version=header,
            actor=actor_of(request),
            max_event_bytes=ctx.max_event_bytes,
            dry_run=dry_run is not None,
        )
    except (writing.NotFoundError, writing.VersionConflictError) as err:
        stale_body = isinstance(err, _StaleBodyError)
        raise _write_errors(err, name=name, via_if_match=not stale_body) from None
    except writing.EventTooLargeError as err:
        raise _too_large(err, name) from None
    if dry_run:
        return await _previewed(ctx, row, current)
    return await finish(response, ctx, row, wait)


@router.delete(
    ITEM,
    response_model=AppConfig,
    response_model_exclude_unset=True,
    responses={**waited_responses(200), **error_responses(400, 404, 409, 412, 413, 415, 422)},
    openapi_extra={**request_body(DeleteOptions, required=False), **CONDITIONAL},
)
async def delete(
    namespace: NamespacePath,
    name: str,
    request: Request,
    response: Response,
    ctx: ContextDep,
    wait: WaitDep,
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
        raise HttpError(409, f"Precondition failed: {err}", reason="Conflict", name=name) from None
    except writing.VersionConflictError as err:
        if via_if_match:
            raise _write_errors(err, name=name, via_if_match=True) from None
        raise HttpError(
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


# Reading collections and history: api.web.listing; rollback: api.web.rollbacks; both
# served under this router's prefix.
router.include_router(listing_router)
# Audit queries across keys: api.web.revisionsearch.
router.include_router(revisions_router)
router.include_router(rollback_router)
