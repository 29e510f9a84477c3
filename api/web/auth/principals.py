"""Who is calling: the principal an authenticator vouches for, and what it reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """An authenticated caller; ``authenticator`` names what vouched for it."""

    name: str
    groups: tuple[str, ...] = ()
    authenticator: str = ""


@dataclass(frozen=True)
class Credentials:
    """What a request offers: its bearer token, headers (lower-case) and TCP peer address."""

    bearer: str | None
    headers: Mapping[str, str]
    peer: str | None


class InvalidCredentialError(Exception):
    """The authenticator recognised the credential and refuses it. The reason goes to the
    server log only; the client hears the same 401 whatever it was."""


def bearer_of(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if that is what it holds."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
