"""Reads: one AppConfig, pages of AppConfigs, a key's revisions, its sync status rows."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import Engine, func, select, tuple_
from sqlmodel import col

from persistence.db import read_session
from persistence.tables import AppConfigRow, ChangeSequence, Revision, SyncStatusRow

_SCAN_CHUNK = 200


class InvalidContinueError(ValueError):
    """The continue token was not issued by this API."""


@dataclass(frozen=True)
class Page:
    items: list[AppConfigRow]
    continue_token: str | None


def get_appconfig(engine: Engine, *, namespace: str, name: str) -> AppConfigRow | None:
    """The live AppConfig, or None (also for a tombstone awaiting its compensation)."""
    with read_session(engine) as session:
        row = session.get(AppConfigRow, (namespace, name))
        return row if row is not None and not row.deleted else None


def get_row(engine: Engine, *, namespace: str, name: str) -> AppConfigRow | None:
    """The row including a tombstone (deleted, not yet purged)."""
    with read_session(engine) as session:
        return session.get(AppConfigRow, (namespace, name))


def current_seq(engine: Engine) -> int:
    with read_session(engine) as session:
        row = session.get(ChangeSequence, 1)
        return row.value if row else 0


def encode_continue(namespace: str, name: str) -> str:
    raw = json.dumps([namespace, name]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        namespace, name = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as err:
        raise InvalidContinueError("continue token is not valid") from err
    if not isinstance(namespace, str) or not isinstance(name, str):
        raise InvalidContinueError("continue token is not valid")
    return namespace, name


def list_appconfigs(
    engine: Engine,
    *,
    namespace: str | None,
    matches: Callable[[Mapping[str, str]], bool],
    limit: int,
    continue_token: str | None,
    namespaces: Collection[str] | None = None,
) -> Page:
    """Live AppConfigs ordered by (namespace, name), filtered by ``matches`` on labels (and,
    given ``namespaces``, to those namespaces). Returns at most ``limit`` items and a token
    for the next page when more may follow."""
    after = decode_continue(continue_token) if continue_token else None
    items: list[AppConfigRow] = []
    with read_session(engine) as session:
        while True:
            query = select(AppConfigRow).where(col(AppConfigRow.deleted).is_(False))
            if namespace is not None:
                query = query.where(col(AppConfigRow.namespace) == namespace)
            if namespaces is not None:
                query = query.where(col(AppConfigRow.namespace).in_(list(namespaces)))
            if after is not None:
                query = query.where(
                    tuple_(col(AppConfigRow.namespace), col(AppConfigRow.name)) > tuple_(*after)
                )
            query = query.order_by(col(AppConfigRow.namespace), col(AppConfigRow.name))
            chunk = list(session.execute(query.limit(_SCAN_CHUNK)).scalars())
            for row in chunk:
                if matches(row.labels):
                    items.append(row)
                    if len(items) == limit:
                        return Page(items, encode_continue(row.namespace, row.name))
            if len(chunk) < _SCAN_CHUNK:
                return Page(items, None)
            after = (chunk[-1].namespace, chunk[-1].name)


def live_namespaces(engine: Engine) -> list[str]:
    """The namespaces that hold at least one live AppConfig, sorted."""
    with read_session(engine) as session:
        query = (
            select(col(AppConfigRow.namespace))
            .where(col(AppConfigRow.deleted).is_(False))
            .distinct()
            .order_by(col(AppConfigRow.namespace))
        )
        return [str(ns) for ns in session.execute(query).scalars()]


def list_revisions(engine: Engine, *, namespace: str, name: str) -> list[Revision]:
    """Every revision of the key, newest first."""
    with read_session(engine) as session:
        query = (
            select(Revision)
            .where(col(Revision.namespace) == namespace, col(Revision.name) == name)
            .order_by(col(Revision.seq).desc())
        )
        return list(session.execute(query).scalars())


def sync_status_rows(engine: Engine, *, namespace: str, name: str) -> list[SyncStatusRow]:
    with read_session(engine) as session:
        query = select(SyncStatusRow).where(
            col(SyncStatusRow.namespace) == namespace, col(SyncStatusRow.name) == name
        )
        return list(session.execute(query).scalars())


def count_rows(engine: Engine) -> dict[str, int]:
    """Row counts per table (diagnostics and tests)."""
    tables = {"appconfigs": AppConfigRow, "revisions": Revision, "sync_status": SyncStatusRow}
    with read_session(engine) as session:
        return {
            name: int(session.execute(select(func.count()).select_from(table)).scalar_one())
            for name, table in tables.items()
        }
