"""The API's AuthConfig built from ``RENDERSYNC_AUTH__*``, or one line naming what is wrong.

Everything that can be checked before serving is checked here (a policy file that does not
load, an OIDC issuer without audience or keys, a symmetric algorithm, a proxy without
addresses), so a bad configuration stops ``rendersync api`` at start instead of serving an
API that is open, or closed to everyone, by accident.

The Kubernetes-backed checks (TokenReview, SubjectAccessReview) and the Kubernetes client
are imported only when configured: the client's import costs an API some 60 MiB.
"""

from __future__ import annotations

import ipaddress
import json
from typing import TYPE_CHECKING, Any

from limits import parse
from sqlalchemy import Engine

from api.web.auth.config import AuthConfig, Authenticator, Authorizer
from api.web.auth.oidc import (
    ASYMMETRIC,
    KeyCache,
    OidcAuthenticator,
    OidcOptions,
    file_source,
    url_source,
)
from api.web.auth.policy import PolicyAuthorizer, PolicyError, load_policy
from api.web.auth.proxy import TrustedProxyAuthenticator
from api.web.auth.tokenauth import ApiTokenAuthenticator
from rendersync.settings import Authenticator as Kind
from rendersync.settings import AuthSettings, Settings

if TYPE_CHECKING:
    from kubernetes_asyncio import client

PREFIX = "RENDERSYNC_AUTH__"


class AuthConfigError(ValueError):
    """A setting that cannot work; the message starts with the variable's name."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{PREFIX}{setting.upper()}: {problem}")


def auth_config(settings: Settings, engine: Engine) -> AuthConfig:
    auth = settings.auth
    if len(set(auth.authenticators)) != len(auth.authenticators):
        raise AuthConfigError("authenticators", "names an authenticator twice")
    if not auth.authenticators:
        raise AuthConfigError("authenticators", "is empty: nobody could call the API")
    try:
        parse(auth.failure_limit)
    except ValueError as err:
        raise AuthConfigError("failure_limit", str(err)) from None
    kube = _kube_factory(settings)
    authenticators = tuple(_authenticator(k, auth, engine, kube) for k in auth.authenticators)
    return AuthConfig(
        authenticators=authenticators,
        authorizers=_authorizers(auth, engine, kube),
        metrics_public=auth.metrics_public,
        failure_limit=auth.failure_limit,
    )


def _authenticator(kind: Kind, auth: AuthSettings, engine: Engine, kube: Any) -> Authenticator:
    if kind is Kind.TOKENS:
        return ApiTokenAuthenticator(engine)
    if kind is Kind.OIDC:
        return _oidc(auth)
    if kind is Kind.TOKENREVIEW:
        from api.web.auth.tokenreview import TokenReviewAuthenticator

        return TokenReviewAuthenticator(kube, audiences=tuple(auth.tokenreview_audiences))
    return _proxy(auth)


def _kube_factory(settings: Settings) -> Any:
    async def factory() -> client.ApiClient:
        from k8s.client import make_api_client

        kube = settings.kubernetes
        return await make_api_client(kubeconfig=kube.kubeconfig, context=kube.context)

    return factory


def _oidc(auth: AuthSettings) -> OidcAuthenticator:
    if not auth.oidc_issuer:
        raise AuthConfigError("oidc_issuer", "required with the oidc authenticator")
    if not auth.oidc_audience:
        raise AuthConfigError("oidc_audience", "required with the oidc authenticator")
    if bool(auth.oidc_jwks_url) == (auth.oidc_jwks_file is not None):
        raise AuthConfigError("oidc_jwks_url", "give exactly one of OIDC_JWKS_URL, OIDC_JWKS_FILE")
    bad = [a for a in auth.oidc_algorithms if a not in ASYMMETRIC]
    if bad or not auth.oidc_algorithms:
        raise AuthConfigError("oidc_algorithms", f"only {sorted(ASYMMETRIC)} are allowed: {bad}")
    if auth.oidc_jwks_file is not None:
        path = auth.oidc_jwks_file
        try:
            json.loads(path.read_text())["keys"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise AuthConfigError("oidc_jwks_file", f"not a readable JWKS: {err}") from None
        source = file_source(path)
    else:
        source = url_source(auth.oidc_jwks_url)
    options = OidcOptions(
        issuer=auth.oidc_issuer,
        audience=auth.oidc_audience,
        algorithms=tuple(auth.oidc_algorithms),
        username_claim=auth.oidc_username_claim,
        groups_claim=auth.oidc_groups_claim,
        username_prefix=auth.oidc_username_prefix,
    )
    return OidcAuthenticator(options, KeyCache(source, min_refresh_s=auth.oidc_jwks_refresh_s))


def _proxy(auth: AuthSettings) -> TrustedProxyAuthenticator:
    if not auth.proxy_cidrs:
        raise AuthConfigError("proxy_cidrs", "required with the proxy authenticator")
    try:
        networks = [ipaddress.ip_network(c, strict=False) for c in auth.proxy_cidrs]
    except ValueError as err:
        raise AuthConfigError("proxy_cidrs", str(err)) from None
    secret = auth.proxy_secret.get_secret_value() if auth.proxy_secret else None
    return TrustedProxyAuthenticator(networks=networks, secret=secret or None)


def _authorizers(auth: AuthSettings, engine: Engine, kube: Any) -> tuple[Authorizer, ...]:
    try:
        file_bindings = load_policy(auth.policy_file) if auth.policy_file else ()
    except PolicyError as err:
        raise AuthConfigError("policy_file", str(err)) from None
    found: list[Authorizer] = [PolicyAuthorizer(file_bindings=file_bindings, engine=engine)]
    if auth.sar:
        from api.web.auth.sar import SubjectAccessReviewAuthorizer

        found.append(SubjectAccessReviewAuthorizer(kube, ttl_s=auth.sar_cache_s))
    return tuple(found)
