"""The authenticator chain, the failure rate limit and the 401/429 answers.

The first authenticator that recognises the credential decides. Every refusal answers the
same ``401 Unauthorized`` with ``WWW-Authenticate: Bearer``, whatever was wrong (unknown
token, bad signature, expired, wrong audience ...); the reason is logged on the server.
Each refused credential counts against its client (the TCP peer address); past
``failure_limit`` the client gets 429 with ``Retry-After`` before anything is checked.
"""

from __future__ import annotations

import logging
import math
import time

from fastapi import Request
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from api.web.auth.config import AuthConfig
from api.web.auth.principals import Credentials, InvalidCredentialError, Principal, bearer_of
from api.web.httperrors import HttpError

logger = logging.getLogger(__name__)

REALM = "rendersync"


class AuthError(HttpError):
    """An HttpError with response headers (``WWW-Authenticate``, ``Retry-After``)."""

    def __init__(self, code: int, message: str, *, reason: str, headers: dict[str, str]) -> None:
        super().__init__(code, message, reason=reason)
        self.headers = headers


def unauthorized() -> AuthError:
    challenge = f'Bearer realm="{REALM}"'
    return AuthError(
        401, "Unauthorized", reason="Unauthorized", headers={"WWW-Authenticate": challenge}
    )


class Authentication:
    """The chain of one app, with its own failure counters."""

    def __init__(self, config: AuthConfig) -> None:
        self.config = config
        self.limit = parse(config.failure_limit)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def authenticate(self, request: Request) -> Principal:
        peer = request.client.host if request.client else None
        client = peer or "unknown"
        if not self.limiter.test(self.limit, client):
            raise self._too_many(client)
        headers = {k.lower(): v for k, v in request.headers.items()}
        credentials = Credentials(bearer_of(headers.get("authorization")), headers, peer)
        for authenticator in self.config.authenticators:
            try:
                principal = await authenticator.authenticate(credentials)
            except InvalidCredentialError as err:
                logger.info("credential refused by %s: %s", authenticator.name, err)
                self.limiter.hit(self.limit, client)
                raise unauthorized() from None
            if principal is not None:
                return principal
        if credentials.bearer is not None:
            logger.info("bearer token recognised by no authenticator")
            self.limiter.hit(self.limit, client)
        raise unauthorized()

    def _too_many(self, client: str) -> AuthError:
        reset = self.limiter.get_window_stats(self.limit, client).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        return AuthError(
            429,
            "too many refused credentials from this client; retry later",
            reason="TooManyRequests",
            headers={"Retry-After": str(wait)},
        )
