"""The API-token authenticator: ``rst_…`` bearer tokens checked against their stored digest."""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from api.web.auth.principals import Credentials, InvalidCredentialError, Principal
from persistence import apitokens


class ApiTokenAuthenticator:
    """Recognises bearer tokens of rendersync's format; unknown, revoked and expired tokens
    are all one refusal."""

    name = "tokens"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def authenticate(self, credentials: Credentials) -> Principal | None:
        token = credentials.bearer
        if token is None or apitokens.split_token(token) is None:
            return None
        row = await run_in_threadpool(apitokens.verify, self.engine, token)
        if row is None:
            raise InvalidCredentialError("API token unknown, revoked or expired")
        return Principal(row.principal, tuple(row.groups), self.name)
