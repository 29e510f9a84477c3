"""Reads: one AppConfig, scans and pages of AppConfigs (one keyset paging), the keys that
lag behind their row, revisions (a key's, one at a version, a search across keys) and sync
status rows."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import (
    Callable,
    Collection,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select, tuple_
from sqlmodel import Session, col

from persistence.db import read_session
from persistence.tables import AppConfigRow, ChangeSequence, Revision, SyncStatusRow, as_utc
from persistence.writing import utcnow

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


def _scan(
    engine: Engine,
    *,
    live_only: bool,
    namespace: str | None = None,
    namespaces: Collection[str] | None = None,
    after: tuple[str, str] | None = None,
    written_before: datetime | None = None,
) -> Generator[AppConfigRow, None, None]:
    """AppConfig rows in (namespace, name) order after the key ``after``, read in chunks of
    ``_SCAN_CHUNK`` by keyset (each chunk starts after the last key of the one before), in
    one read session. ``live_only`` leaves tombstones out, ``written_before`` rows updated
    since."""
    with read_session(engine) as session:
        while True:
            query = select(AppConfigRow)
            if live_only:
                query = query.where(col(AppConfigRow.deleted).is_(False))
            if namespace is not None:
                query = query.where(col(AppConfigRow.namespace) == namespace)
            if namespaces is not None:
                query = query.where(col(AppConfigRow.namespace).in_(list(namespaces)))
            if written_before is not None:
                query = query.where(col(AppConfigRow.updated_at) < written_before)
            if after is not None:
                query = query.where(
                    tuple_(col(AppConfigRow.namespace), col(AppConfigRow.name)) > tuple_(*after)
                )
            query = query.order_by(col(AppConfigRow.namespace), col(AppConfigRow.name))
            chunk = list(session.execute(query.limit(_SCAN_CHUNK)).scalars())
            yield from chunk
            if len(chunk) < _SCAN_CHUNK:
                return
            after = (chunk[-1].namespace, chunk[-1].name)
            del chunk  # one chunk in memory at a time, not two


def all_rows(engine: Engine, *, namespace: str | None = None) -> Iterator[AppConfigRow]:
    """Every appconfigs row, tombstones included, in (namespace, name) order, in chunks."""
    return _scan(engine, live_only=False, namespace=namespace)


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
    scan = _scan(engine, live_only=True, namespace=namespace, namespaces=namespaces, after=after)
    for row in scan:
        if matches(row.labels):
            items.append(row)
            if len(items) == limit:
                scan.close()
                return Page(items, encode_continue(row.namespace, row.name))
    return Page(items, None)


def applied_progress(engine: Engine) -> dict[str, int]:
    """The newest version each target has applied (by the status rows)."""
    query = select(
        col(SyncStatusRow.target), func.max(col(SyncStatusRow.applied_version))
    ).group_by(col(SyncStatusRow.target))
    with read_session(engine) as session:
        return {str(target): int(newest or 0) for target, newest in session.execute(query)}


def lagging_rows(
    engine: Engine,
    *,
    targets: Callable[[AppConfigRow], Sequence[str]],
    grace_s: float,
    advancing: Mapping[str, int] | None = None,
) -> list[AppConfigRow]:
    """Rows last written over ``grace_s`` ago that one of their targets (``targets(row)``:
    those the row routes to) has not caught up with, and that the pipeline is not bringing.

    A key whose sync failed *at the row's version* is left out: it waits for a fix and
    `syncs replay`, and re-driving it would change nothing. A failure at an older version
    excuses nothing: the row moved on (its event may have been lost), so the key is lagging;
    and once a failure is cleared the key is lagging again until every target holds the row.

    ``advancing`` names the targets working through a backlog, each with the newest version
    it has applied (the caller's evidence: that version moved since its previous look, see
    ``worker.antientropy``). Such a target is bringing every row written after that version:
    a row it lacks is lagging there only once it was written over ``grace_s`` before that
    version was committed (the pipeline got past it without it). Re-driving the rows still
    queued would send each a second signal: a backlog's worth of signals, and workflow
    tasks, that change nothing. A target not named is held to ``grace_s`` alone.
    """
    cutoff = utcnow() - timedelta(seconds=grace_s)
    backlogged = advancing or {}
    applied: dict[tuple[str, str, str], int] = {}
    failed: dict[tuple[str, str], int] = {}
    with read_session(engine) as session:
        query = select(
            col(SyncStatusRow.namespace),
            col(SyncStatusRow.name),
            col(SyncStatusRow.target),
            col(SyncStatusRow.applied_version),
            col(SyncStatusRow.failed_version),
        )
        for namespace, name, target, applied_version, failed_version in session.execute(query):
            applied[(namespace, name, target)] = applied_version
            failed[(namespace, name)] = max(failed.get((namespace, name), 0), failed_version)
        committed = _commit_times(session, backlogged.values())
    # Both sides of these comparisons are the database's own times.
    written_before = {
        t: committed[v] - timedelta(seconds=grace_s)
        for t, v in backlogged.items()
        if v in committed
    }

    def lagging(row: AppConfigRow) -> bool:
        if failed.get((row.namespace, row.name), 0) >= row.seq:
            return False
        written = as_utc(row.updated_at)
        if row.deleted:  # compensated on every target
            return all(written < before for before in written_before.values())
        return any(
            applied.get((row.namespace, row.name, t), 0) < row.seq
            and (t not in written_before or written < written_before[t])
            for t in targets(row)
        )

    # The statuses' columns it needs, and the rows in chunks, of which only the lagging ones
    # are kept: a pass over 10,000 converged keys holds no row and no error text. The two
    # reads are two transactions, the statuses first: a key that syncs in between is re-driven
    # once more (a catch-up event, which it drops or applies once), one whose failure is
    # cleared in between waits for the next pass, and a row written in between is too young.
    return [row for row in _scan(engine, live_only=False, written_before=cutoff) if lagging(row)]


def _commit_times(session: Session, versions: Iterable[int]) -> dict[int, datetime]:
    """When each of ``versions`` was committed (its revision's time); a version whose
    revision is gone is left out."""
    wanted = sorted(set(versions))
    if not wanted:
        return {}
    query = select(col(Revision.seq), col(Revision.created_at)).where(col(Revision.seq).in_(wanted))
    return {int(seq): as_utc(created_at) for seq, created_at in session.execute(query)}


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


def revision_at(engine: Engine, *, namespace: str, name: str, seq: int) -> Revision | None:
    """The key's revision written at ``seq``: None when the key never had that version (a
    revision at that seq belongs to another key, or to a delete)."""
    with read_session(engine) as session:
        revision = session.execute(
            select(Revision).where(col(Revision.seq) == seq)
        ).scalar_one_or_none()
    if revision is None or (revision.namespace, revision.name) != (namespace, name):
        return None
    return None if revision.op == "delete" else revision


def revision_namespaces(engine: Engine) -> list[str]:
    """The namespaces that have revisions (deleted keys' too), sorted."""
    with read_session(engine) as session:
        query = select(col(Revision.namespace)).distinct().order_by(col(Revision.namespace))
        return [str(ns) for ns in session.execute(query).scalars()]


def search_revisions(
    engine: Engine,
    *,
    namespaces: list[str] | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    after: int,
) -> tuple[list[Revision], bool]:
    """Revisions after seq ``after`` in seq order, of ``namespaces`` (all when None), by
    ``actor``, created at or after ``since`` and before ``until`` (each when given): at most
    ``limit``, and whether more follow."""
    with read_session(engine) as session:
        query = select(Revision).where(col(Revision.seq) > after)
        if namespaces is not None:
            query = query.where(col(Revision.namespace).in_(namespaces))
        if actor is not None:
            query = query.where(col(Revision.actor) == actor)
        if since is not None:
            query = query.where(col(Revision.created_at) >= since)
        if until is not None:
            query = query.where(col(Revision.created_at) < until)
        rows = list(session.execute(query.order_by(col(Revision.seq)).limit(limit + 1)).scalars())
        return rows[:limit], len(rows) > limit


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
