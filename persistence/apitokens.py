"""API tokens: issued once, stored as a SHA-256 digest, looked up by their public id.

A token reads ``rst_<id>_<secret>``: ``id`` (12 hex characters) is public and indexed, the
secret is 32 random bytes. Only ``sha256(token)`` is stored. A fast hash is enough here (and
a slow password KDF would cost CPU on every request): the token carries 256 bits from
``secrets``, so nothing can be guessed from the digest; the digest is compared in constant
time (``hmac.compare_digest``). The ``rst_`` prefix lets secret scanners recognise a leak.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, Engine, update
from sqlmodel import Field, SQLModel, col, select

from persistence.db import read_session, write_session
from persistence.tables import as_utc

PREFIX = "rst_"
#: ``last_used_at`` is written at most this often per token (a read must not become a write).
LAST_USED_RESOLUTION = timedelta(seconds=60)


class ApiTokenRow(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: str = Field(primary_key=True, max_length=16)
    digest: str = Field(max_length=64)
    principal: str = Field(max_length=253)
    groups: list[str] = Field(sa_column=Column(JSON, nullable=False))
    description: str = Field(default="", max_length=253)
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class IssuedToken:
    """What ``issue`` returns: the only time the secret exists outside the client."""

    id: str
    token: str
    principal: str
    expires_at: datetime | None


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def split_token(token: str) -> str | None:
    """The public id of a token of our format, or None when it is not one."""
    if not token.startswith(PREFIX):
        return None
    token_id, _, secret = token[len(PREFIX) :].partition("_")
    if len(token_id) != 12 or not secret:
        return None
    return token_id


def issue(
    engine: Engine,
    *,
    principal: str,
    groups: list[str],
    expires_in: timedelta | None,
    description: str = "",
    now: datetime | None = None,
) -> IssuedToken:
    """Create a token for ``principal``; the returned secret is never stored."""
    now = now or datetime.now(UTC)
    token_id = secrets.token_hex(6)
    token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    expires = now + expires_in if expires_in else None
    row = ApiTokenRow(
        id=token_id,
        digest=digest_of(token),
        principal=principal,
        groups=list(groups),
        description=description,
        created_at=now,
        expires_at=expires,
    )
    with write_session(engine) as session:
        session.add(row)
    return IssuedToken(token_id, token, principal, expires)


def verify(engine: Engine, token: str, *, now: datetime | None = None) -> ApiTokenRow | None:
    """The live token row ``token`` matches (recording its use), or None: unknown, wrong
    secret, expired and revoked all look the same to the caller."""
    token_id = split_token(token)
    if token_id is None:
        return None
    now = now or datetime.now(UTC)
    with read_session(engine) as session:
        row = session.get(ApiTokenRow, token_id)
    if row is None or not hmac.compare_digest(row.digest, digest_of(token)):
        return None
    if row.revoked_at is not None or (row.expires_at and as_utc(row.expires_at) <= now):
        return None
    if row.last_used_at is None or now - as_utc(row.last_used_at) >= LAST_USED_RESOLUTION:
        with write_session(engine) as session:
            session.execute(
                update(ApiTokenRow).where(col(ApiTokenRow.id) == token_id).values(last_used_at=now)
            )
    return row


def list_tokens(engine: Engine) -> list[ApiTokenRow]:
    with read_session(engine) as session:
        return list(session.exec(select(ApiTokenRow).order_by(col(ApiTokenRow.created_at))))


def revoke(engine: Engine, token_id: str, *, now: datetime | None = None) -> bool:
    """Revoke the token with public id ``token_id``; False when there is none (idempotent
    for one already revoked)."""
    with write_session(engine) as session:
        row = session.get(ApiTokenRow, token_id)
        if row is None:
            return False
        if row.revoked_at is None:
            row.revoked_at = now or datetime.now(UTC)
            session.add(row)
    return True


def describe(row: ApiTokenRow) -> dict[str, Any]:
    """A token's public facts (never its digest)."""
    return {
        "id": row.id,
        "principal": row.principal,
        "groups": list(row.groups),
        "description": row.description,
        "created": row.created_at.isoformat(),
        "expires": row.expires_at.isoformat() if row.expires_at else "",
        "lastUsed": row.last_used_at.isoformat() if row.last_used_at else "",
        "revoked": row.revoked_at.isoformat() if row.revoked_at else "",
    }
