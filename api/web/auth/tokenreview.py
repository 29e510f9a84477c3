"""Kubernetes ServiceAccount (or any cluster) tokens, authenticated by a TokenReview.

It recognises every bearer token the authenticators before it did not, so it belongs last
in the chain. A review that cannot be made (cluster unreachable, refused) is a refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from kubernetes_asyncio import client

from api.web.auth.principals import Credentials, InvalidCredentialError, Principal
from k8s.reviews import review_token

logger = logging.getLogger(__name__)

ApiFactory = Callable[[], Awaitable[client.ApiClient]]


class TokenReviewAuthenticator:
    name = "tokenreview"

    def __init__(self, api: ApiFactory, *, audiences: tuple[str, ...]) -> None:
        self._factory = api
        self._api: client.ApiClient | None = None
        self.audiences = audiences

    async def authenticate(self, credentials: Credentials) -> Principal | None:
        token = credentials.bearer
        if token is None:
            return None
        try:
            if self._api is None:
                self._api = await self._factory()
            user = await review_token(self._api, token=token, audiences=self.audiences)
        except Exception as err:
            logger.warning("TokenReview failed (%s): refusing the token", type(err).__name__)
            raise InvalidCredentialError("TokenReview could not be made") from None
        if user is None or not user.username:
            raise InvalidCredentialError("TokenReview: not authenticated")
        return Principal(user.username, user.groups, self.name)

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.close()
            self._api = None
