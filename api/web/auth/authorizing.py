"""The guard on every AppConfig route: who is calling, and may they do this here?

The verb and namespace come from the matched route (so a new route is covered without
listing it): ``.../history`` (and ``.../timeline``) is ``history``, ``.../replay`` is
``replay``, ``.../rollback`` is ``update`` (it writes an older revision as a new one,
recreating a deleted key); an item is ``get``/``update``/``patch``/``delete`` by method; a
collection is ``list``/``create``. A refusal is a 403 ``Status`` naming verb, resource and
namespace. Listing across namespaces is never refused: it is narrowed to the namespaces the
caller may list (``request.state.visible_namespaces``; None means all).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.web.auth.authenticating import Authentication
from api.web.auth.principals import Principal
from api.web.httperrors import HttpError
from persistence import reading
from vocabulary import CRD_NAME, GROUP, PLURAL

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API token (`rendersync tokens create`), an OIDC ID token, or a "
    "Kubernetes ServiceAccount token, as configured.",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]

_ITEM_VERBS = {"GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_COLLECTION_VERBS = {"GET": "list", "HEAD": "list", "POST": "create"}
#: Subresources of an item and their verbs (``timeline`` reads what ``history`` does).
_SUBRESOURCE_VERBS = {
    "history": "history",
    "timeline": "history",
    "replay": "replay",
    "rollback": "update",
}


@dataclass(frozen=True)
class Action:
    verb: str
    namespace: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.namespace or '*'}/{self.name}" if self.name else f"{self.namespace or '*'}/"


def action_of(request: Request) -> Action:
    route = request.scope.get("route")
    path = str(getattr(route, "path", request.url.path))
    params = request.path_params
    namespace, name = str(params.get("namespace", "")), str(params.get("name", ""))
    subresource = path.rsplit("/", 1)[-1]
    if name and subresource in _SUBRESOURCE_VERBS:
        verb = _SUBRESOURCE_VERBS[subresource]
    elif name:
        verb = _ITEM_VERBS.get(request.method, "unknown")
    else:
        verb = _COLLECTION_VERBS.get(request.method, "unknown")
    return Action(verb, namespace, name)


def forbidden(principal: Principal, action: Action) -> HttpError:
    verb, resource = action.verb, PLURAL
    if verb == "history":
        verb, resource = "get", f"{PLURAL}/history"
    subject = f'{CRD_NAME} "{action.name}"' if action.name else CRD_NAME
    where = f'in the namespace "{action.namespace}"' if action.namespace else "at the cluster scope"
    message = (
        f'{subject} is forbidden: User "{principal.name}" cannot {verb} resource "{resource}" '
        f'in API group "{GROUP}" {where}'
    )
    return HttpError(403, message, reason="Forbidden", name=action.name or None)


def authentication_of(request: Request) -> Authentication:
    found: Authentication = request.app.state.authentication
    return found


async def allows(request: Request, principal: Principal, verb: str, namespace: str) -> bool:
    for authorizer in authentication_of(request).config.authorizers:
        if await authorizer.allows(principal, verb, namespace):
            return True
    return False


async def visible_namespaces(request: Request, principal: Principal) -> list[str] | None:
    """None when the caller may list everywhere, else the namespaces it may list."""
    if await allows(request, principal, "list", ""):
        return None
    engine = request.app.state.context.engine
    present = await run_in_threadpool(reading.live_namespaces, engine)
    return [ns for ns in present if await allows(request, principal, "list", ns)]


async def authenticated(request: Request, _bearer: BearerDep) -> Principal:
    """Dependency: the authenticated principal (401 otherwise), kept in request.state."""
    principal = await authentication_of(request).authenticate(request)
    request.state.principal = principal
    return principal


async def guard(request: Request, _bearer: BearerDep) -> None:
    """Dependency of the AppConfig routes: authenticate, then authorize the route's action."""
    action = action_of(request)
    request.state.action = action
    principal = await authenticated(request, None)
    if action.verb == "list" and not action.namespace:
        request.state.visible_namespaces = await visible_namespaces(request, principal)
        return
    if not await allows(request, principal, action.verb, action.namespace):
        raise forbidden(principal, action)


GuardDep = Depends(guard)
AuthenticatedDep = Depends(authenticated)
