"""What ``create_app`` is given about authentication and authorization."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from api.web.auth.principals import Credentials, Principal

ANONYMOUS = Principal("system:anonymous", ("system:unauthenticated",), "none")


class Authenticator(Protocol):
    """None: not a credential it recognises (the next one is asked). Raises
    ``InvalidCredentialError``: recognised and refused (the request gets 401)."""

    name: str

    async def authenticate(self, credentials: Credentials) -> Principal | None: ...


class Authorizer(Protocol):
    """Whether ``principal`` may ``verb`` in ``namespace`` ("": every namespace at once)."""

    name: str

    async def allows(self, principal: Principal, verb: str, namespace: str) -> bool: ...


class _Anonymous:
    name = "none"

    async def authenticate(self, credentials: Credentials) -> Principal | None:
        return ANONYMOUS


class _AllowAll:
    name = "allow-all"

    async def allows(self, principal: Principal, verb: str, namespace: str) -> bool:
        return True


@dataclass(frozen=True)
class AuthConfig:
    """Authenticators in the order they are asked, authorizers (any may allow), whether
    ``/metrics`` is open, and how many refused credentials a client may present (a
    ``limits`` rate string such as ``10/minute``) before it gets 429 for a while."""

    authenticators: tuple[Authenticator, ...]
    authorizers: tuple[Authorizer, ...]
    metrics_public: bool = False
    failure_limit: str = "10/minute"

    @classmethod
    def disabled(cls) -> AuthConfig:
        """No authentication: every request is ``system:anonymous`` and allowed. Only for
        code that builds the app directly (tests, benchmarks); ``rendersync api`` and
        ``rendersync dev`` always build their config from the settings."""
        return cls(authenticators=(_Anonymous(),), authorizers=(_AllowAll(),), metrics_public=True)

    @property
    def enabled(self) -> bool:
        return not any(isinstance(a, _Anonymous) for a in self.authenticators)
