"""TokenReview and SubjectAccessReview, answered from rules a test sets.

``POST /apis/authentication.k8s.io/v1/tokenreviews`` authenticates a token registered with
``reviews.add_token(token, username=..., groups=...)`` (over HTTP: ``POST
/_emulator/tokenreviews`` with those fields); any other token is ``authenticated: false``.
``POST /apis/authorization.k8s.io/v1/subjectaccessreviews`` is decided by the first rule
matching the review (``reviews.add_access(user=..., verb=..., namespace=..., allowed=True)``,
over HTTP ``POST /_emulator/subjectaccessreviews``; a field left out matches anything);
without a match the answer is ``allowed: false``, as RBAC denies by default. ``DELETE`` on
either control path clears its rules; ``GET`` lists them with how many reviews were answered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

AUTHN = "/apis/authentication.k8s.io/v1/tokenreviews"
AUTHZ = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


@dataclass(frozen=True)
class TokenRule:
    token: str
    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    #: Audiences the token is valid for; empty: any the review asks for.
    audiences: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccessRule:
    allowed: bool
    user: str | None = None
    group: str | None = None
    verb: str | None = None
    namespace: str | None = None
    group_name: str | None = None
    resource: str | None = None
    subresource: str | None = None

    def matches(self, user: str, groups: list[str], attrs: dict[str, Any]) -> bool:
        wanted = {
            "verb": self.verb,
            "namespace": self.namespace,
            "group": self.group_name,
            "resource": self.resource,
            "subresource": self.subresource,
        }
        if self.user is not None and self.user != user:
            return False
        if self.group is not None and self.group not in groups:
            return False
        return all(v is None or attrs.get(k, "") == v for k, v in wanted.items())


@dataclass
class Reviews:
    tokens: dict[str, TokenRule] = field(default_factory=dict)
    access: list[AccessRule] = field(default_factory=list)
    token_reviews: int = 0
    access_reviews: int = 0

    def add_token(self, token: str, **fields: Any) -> TokenRule:
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
        rule = TokenRule(token, **fields)
        self.tokens[token] = rule
        return rule

    def add_access(self, **fields: Any) -> AccessRule:
        rule = AccessRule(**fields)
        self.access.append(rule)
        return rule

    def review_token(self, spec: dict[str, Any]) -> dict[str, Any]:
        self.token_reviews += 1
        rule = self.tokens.get(str(spec.get("token", "")))
        wanted = list(spec.get("audiences") or [])
        if rule is None or (rule.audiences and not set(wanted) <= set(rule.audiences)):
            return {"authenticated": False, "error": "token not recognised"}
        user = {"username": rule.username, "uid": rule.uid, "groups": list(rule.groups)}
        return {"authenticated": True, "user": user, "audiences": wanted or list(rule.audiences)}

    def review_access(self, spec: dict[str, Any]) -> dict[str, Any]:
        self.access_reviews += 1
        attrs = dict(spec.get("resourceAttributes") or {})
        user, groups = str(spec.get("user", "")), list(spec.get("groups") or [])
        for rule in self.access:
            if rule.matches(user, groups, attrs):
                return {"allowed": rule.allowed, "denied": not rule.allowed, "reason": "rule"}
        return {"allowed": False, "reason": "no rule allows it"}


def _answer(kind: str, group: str, body: dict[str, Any], status: dict[str, Any]) -> web.Response:
    answer = {
        "kind": kind,
        "apiVersion": f"{group}/v1",
        "metadata": {"creationTimestamp": None},
        "spec": body.get("spec") or {},
        "status": status,
    }
    return web.json_response(answer, status=201)


def add_routes(app: web.Application, reviews: Reviews) -> None:
    async def token_review(request: web.Request) -> web.Response:
        body = await request.json()
        status = reviews.review_token(body.get("spec") or {})
        return _answer("TokenReview", "authentication.k8s.io", body, status)

    async def access_review(request: web.Request) -> web.Response:
        body = await request.json()
        status = reviews.review_access(body.get("spec") or {})
        return _answer("SubjectAccessReview", "authorization.k8s.io", body, status)

    async def add_token(request: web.Request) -> web.Response:
        rule = reviews.add_token(**(await request.json()))
        return web.json_response(asdict(rule), status=201)

    async def add_access(request: web.Request) -> web.Response:
        rule = reviews.add_access(**(await request.json()))
        return web.json_response(asdict(rule), status=201)

    async def list_tokens(_: web.Request) -> web.Response:
        rules = [asdict(r) for r in reviews.tokens.values()]
        return web.json_response({"rules": rules, "reviews": reviews.token_reviews})

    async def list_access(_: web.Request) -> web.Response:
        rules = [asdict(r) for r in reviews.access]
        return web.json_response({"rules": rules, "reviews": reviews.access_reviews})

    async def clear_tokens(_: web.Request) -> web.Response:
        reviews.tokens.clear()
        return web.json_response({})

    async def clear_access(_: web.Request) -> web.Response:
        reviews.access.clear()
        return web.json_response({})

    app.router.add_post(AUTHN, token_review)
    app.router.add_post(AUTHZ, access_review)
    for path, add, listing, clear in (
        ("/_emulator/tokenreviews", add_token, list_tokens, clear_tokens),
        ("/_emulator/subjectaccessreviews", add_access, list_access, clear_access),
    ):
        app.router.add_post(path, add)
        app.router.add_get(path, listing)
        app.router.add_delete(path, clear)
