"""``POST .../appconfigs/{name}/rollback``: write an older revision's spec and labels as a new
revision (``persistence.rollingback``), so it flows through the pipeline like any write.

The auth guard takes it for an ``update`` of the namespace (``editor``); a rollback of a
deleted key recreates it. Preconditions as for PUT: ``metadata.resourceVersion`` (409) or
``If-Match`` (412). A revision no routing rule routes now is refused (422, ``api.web.unrouted``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from api.spec import FieldError
from api.web.apicontext import ContextDep
from api.web.apidoc import IF_MATCH_PARAMETER, request_body
from api.web.bodies import actor_of, if_match_version, read_json
from api.web.changemodels import AppConfigRollback
from api.web.httperrors import HttpError, invalid, stale_write
from api.web.models import AppConfig, NamespacePath, error_responses, waited_responses
from api.web.unrouted import check_routed
from api.web.waiting import WaitDep, finish
from persistence import rollingback, writing

router = APIRouter()


def _parse(body: Any, name: str) -> AppConfigRollback:
    try:
        return AppConfigRollback.model_validate(body)
    except ValidationError as err:
        causes = [
            FieldError(".".join(str(p) for p in e["loc"]) or "body", "FieldValueInvalid", e["msg"])
            for e in err.errors()
        ]
        raise invalid(name, causes) from None


def _expected(request: Request, body: AppConfigRollback) -> tuple[int | None, bool]:
    header = if_match_version(request)
    rv = body.metadata.resource_version
    in_body = int(rv) if rv else None
    if header is not None and in_body is not None and header != in_body:
        raise HttpError(412, "If-Match and metadata.resourceVersion disagree: both cannot hold")
    return (header, True) if header is not None else (in_body, False)


def _refused(err: Exception, *, name: str, namespace: str, via_if_match: bool) -> HttpError:
    if isinstance(err, writing.NotFoundError):
        message = f'appconfigs "{name}" has no history in namespace "{namespace}"'
        return HttpError(404, message, name=name)
    if isinstance(err, rollingback.RevisionError):
        return invalid(name, [FieldError("toVersion", "FieldValueInvalid", str(err))])
    if isinstance(err, writing.EventTooLargeError):
        cause = FieldError("spec", "FieldValueTooLong", str(err))
        return HttpError(413, str(err), causes=[cause], name=name)
    assert isinstance(err, writing.VersionConflictError)
    return stale_write(err, name=name, via_if_match=via_if_match)


@router.post(
    "/namespaces/{namespace}/appconfigs/{name}/rollback",
    response_model=AppConfig,
    response_model_exclude_unset=True,
    responses={**waited_responses(200), **error_responses(400, 404, 409, 412, 413, 415, 422)},
    openapi_extra={**request_body(AppConfigRollback), "parameters": [IF_MATCH_PARAMETER]},
)
async def rollback(
    namespace: NamespacePath,
    name: str,
    request: Request,
    response: Response,
    ctx: ContextDep,
    wait: WaitDep,
) -> dict[str, Any]:
    """Write revision ``toVersion``'s spec and labels as a new revision (history: op
    ``rollback``, annotation ``kubernetes.io/change-cause: rollback to N``)."""
    body = _parse(await read_json(request), name)
    expected, via_if_match = _expected(request, body)
    try:
        row = await run_in_threadpool(
            rollingback.rollback_appconfig,
            ctx.engine,
            namespace=namespace,
            name=name,
            to_version=body.to_version,
            expected_version=expected,
            actor=actor_of(request),
            max_event_bytes=ctx.max_event_bytes,
            check=lambda content: check_routed(ctx, namespace, name, content),
        )
    except (
        writing.NotFoundError,
        writing.VersionConflictError,
        writing.EventTooLargeError,
        rollingback.RevisionError,
    ) as err:
        raise _refused(err, name=name, namespace=namespace, via_if_match=via_if_match) from None
    return await finish(response, ctx, row, wait)
