"""Delegated authorization: a SubjectAccessReview on ``appconfigs.rendersync.dev``.

Answers are cached for ``ttl_s`` (allowed and denied alike, as the API server's webhook
authorizer does); a review that cannot be made denies (fail closed) and is not cached.
``history`` is asked as ``get`` on the ``history`` subresource; ``replay``/``resync`` are
asked as those verbs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from kubernetes_asyncio import client

from api.web.auth.principals import Principal
from k8s.reviews import AccessQuestion, review_access
from vocabulary import GROUP, PLURAL

logger = logging.getLogger(__name__)

ApiFactory = Callable[[], Awaitable[client.ApiClient]]


class SubjectAccessReviewAuthorizer:
    name = "sar"

    def __init__(self, api: ApiFactory, *, ttl_s: float) -> None:
        self._factory = api
        self._api: client.ApiClient | None = None
        self.ttl_s = ttl_s
        self._cache: dict[AccessQuestion, tuple[float, bool]] = {}

    def question(self, principal: Principal, verb: str, namespace: str) -> AccessQuestion:
        sub = "history" if verb == "history" else ""
        return AccessQuestion(
            user=principal.name,
            groups=principal.groups,
            verb="get" if verb == "history" else verb,
            namespace=namespace,
            group=GROUP,
            resource=PLURAL,
            subresource=sub,
        )

    async def allows(self, principal: Principal, verb: str, namespace: str) -> bool:
        asked = self.question(principal, verb, namespace)
        now = time.monotonic()
        cached = self._cache.get(asked)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            if self._api is None:
                self._api = await self._factory()
            allowed = await review_access(self._api, asked)
        except Exception as err:
            logger.warning("SubjectAccessReview failed (%s): denying", type(err).__name__)
            return False
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[asked] = (now + self.ttl_s, allowed)
        return allowed

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.close()
            self._api = None
