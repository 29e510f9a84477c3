"""OIDC: JWTs signed by the issuer's keys (a JWKS file or URL), with ``iss``, ``aud`` and
``exp`` required and the algorithms fixed by configuration.

A token's header never chooses how it is checked: the algorithms are the configured ones
(asymmetric only, checked at start), so ``alg: none`` and an HMAC signature made with the
issuer's public key are refused. Keys are cached; a ``kid`` not in the cache makes one
refresh of the key set, at most every ``min_refresh_s`` (a flood of made-up kids cannot
turn into a flood of fetches).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from fastapi.concurrency import run_in_threadpool

from api.web.auth.principals import Credentials, InvalidCredentialError, Principal

logger = logging.getLogger(__name__)

#: Algorithms a configuration may name: signatures with a public key only.
ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


def file_source(path: Path) -> Callable[[bool], jwt.PyJWKSet]:
    def load(_refresh: bool) -> jwt.PyJWKSet:
        return jwt.PyJWKSet.from_dict(json.loads(path.read_text()))

    return load


def url_source(url: str, *, timeout_s: float = 5.0) -> Callable[[bool], jwt.PyJWKSet]:
    client = jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=300, timeout=timeout_s)
    return lambda refresh: client.get_jwk_set(refresh=refresh)


class KeyCache:
    """Signing keys by kid, refreshed on a miss (rate-limited)."""

    def __init__(self, source: Callable[[bool], jwt.PyJWKSet], *, min_refresh_s: float) -> None:
        self.source = source
        self.min_refresh_s = min_refresh_s
        self._keys: dict[str, Any] = {}
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def key_for(self, kid: str | None) -> Any | None:
        with self._lock:
            if self._loaded_at is None:
                self._load(refresh=False)
            if kid not in self._keys and self._may_refresh():
                self._load(refresh=True)
            if kid is None and len(self._keys) == 1:
                return next(iter(self._keys.values()))
            return self._keys.get(kid) if kid is not None else None

    def _may_refresh(self) -> bool:
        return self._loaded_at is None or time.monotonic() - self._loaded_at >= self.min_refresh_s

    def _load(self, *, refresh: bool) -> None:
        self._loaded_at = time.monotonic()
        try:
            keys = self.source(refresh)
        except Exception as err:  # a fetch that fails keeps the keys we had
            logger.warning("OIDC key set could not be loaded: %s", err)
            return
        self._keys = {k.key_id or "": k.key for k in keys.keys}


@dataclass(frozen=True)
class OidcOptions:
    issuer: str
    audience: str
    algorithms: Sequence[str]
    username_claim: str = "sub"
    groups_claim: str = "groups"
    username_prefix: str = ""
    leeway_s: float = 30.0


class OidcAuthenticator:
    name = "oidc"

    def __init__(self, options: OidcOptions, keys: KeyCache) -> None:
        self.options = options
        self.keys = keys

    def recognises(self, token: str) -> bool:
        """Whether ``token`` is a JWT claiming our issuer (read unverified, for routing)."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return False
        return claims.get("iss") == self.options.issuer

    async def authenticate(self, credentials: Credentials) -> Principal | None:
        token = credentials.bearer
        if token is None or not self.recognises(token):
            return None
        return await run_in_threadpool(self._verify, token)

    def _verify(self, token: str) -> Principal:
        opts = self.options
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self.keys.key_for(kid)
            if key is None:
                raise InvalidCredentialError(f"no signing key with kid {kid!r}")
            claims = jwt.decode(
                token,
                key,
                algorithms=list(opts.algorithms),
                audience=opts.audience,
                issuer=opts.issuer,
                leeway=opts.leeway_s,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as err:
            raise InvalidCredentialError(f"JWT refused: {type(err).__name__}: {err}") from None
        username = claims.get(opts.username_claim)
        if not isinstance(username, str) or not username:
            raise InvalidCredentialError(f"JWT has no string claim {opts.username_claim!r}")
        groups = claims.get(opts.groups_claim) or []
        if isinstance(groups, str):
            groups = [groups]
        names = tuple(str(g) for g in groups) if isinstance(groups, list) else ()
        return Principal(opts.username_prefix + username, names, self.name)
