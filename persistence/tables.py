"""SQLModel tables: appconfigs, revisions, outbox, sync_status and the change sequence.

The appconfigs row holds its own ``seq`` (the version everywhere downstream). A delete is a
tombstone (``deleted`` set, new seq) so a Debezium delete still carries its version; the
tombstone is purged once the sync has compensated it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Text
from sqlmodel import Field, SQLModel

#: ``seq`` is a signed 64-bit integer (BigInteger): no version is above this.
MAX_SEQ = 2**63 - 1


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware datetime, a naive one read as UTC: every datetime these tables
    hold is written in UTC, and a column without a time zone (PostgreSQL's, sometimes SQLite's)
    reads back naive; the API's timestamps are UTC too."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class AppConfigRow(SQLModel, table=True):
    __tablename__ = "appconfigs"

    namespace: str = Field(primary_key=True, max_length=63)
    name: str = Field(primary_key=True, max_length=253)
    uid: str = Field(max_length=36)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    generation: int
    spec: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    labels: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    annotations: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    deleted: bool = False
    created_at: datetime
    updated_at: datetime


class Revision(SQLModel, table=True):
    """Every committed version of every key. Its indexes live in the migrations (a key's
    revisions are searched by ``ix_revisions_key_seq``)."""

    __tablename__ = "revisions"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    namespace: str = Field(max_length=63)
    name: str = Field(max_length=253)
    op: str = Field(max_length=8)
    actor: str = Field(max_length=253)
    uid: str = Field(max_length=36)
    generation: int
    spec: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    labels: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    annotations: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    key: str = Field(max_length=320)
    envelope: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime
    published_at: datetime | None = Field(default=None, index=True)
    #: Why the broker or producer refused this event for good; set, the relay skips it.
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SyncStatusRow(SQLModel, table=True):
    """What one target holds for one key, written by the sync activities."""

    __tablename__ = "sync_status"

    namespace: str = Field(primary_key=True, max_length=63)
    name: str = Field(primary_key=True, max_length=253)
    target: str = Field(primary_key=True, max_length=32)
    applied_version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    detail: str = ""
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False))
    attempts: int = 0
    failed_version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    #: The version ``last_error`` and ``attempts`` are about (0: none or unknown).
    error_version: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
    updated_at: datetime


class ChangeSequence(SQLModel, table=True):
    """A single row whose increment serializes writers and hands out ``seq`` in commit order."""

    __tablename__ = "change_sequence"

    id: int = Field(primary_key=True)
    value: int = Field(sa_column=Column(BigInteger, nullable=False))
