"""``targets list``: one line per configured target, in apply order, with its health and how
far it is behind.

``keys`` counts the live rows whose routing names the target; ``synced`` those of them whose
row version the target holds (its sync_status entry); ``lag_s`` is the age of the oldest
unsynced key's version: how long ago the row was written that the target has not applied
(None when every key is synced). A failed sync counts as unsynced. Health comes from
``rendersync.ops.probing``; the probes and the database read run concurrently.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from persistence.reading import all_rows
from persistence.syncstatus import list_status
from persistence.tables import as_utc
from rendersync.ops.context import Ops, OpsError
from rendersync.ops.probing import PROBE_TIMEOUT_S, Probe, one_line, probe_all

COLUMNS = (
    ("NAME", "name"),
    ("KIND", "kind"),
    ("WHERE", "where"),
    ("HEALTH", "detail"),
    ("KEYS", "keys"),
    ("SYNCED", "synced"),
    ("LAG", "lag"),
)


@dataclass(frozen=True)
class Backlog:
    """The live keys routed to one target, how many of them it holds at the row's version,
    and the age in seconds of the oldest version it lacks (and that key)."""

    keys: int = 0
    synced: int = 0
    lag_s: float | None = None
    oldest_unsynced: str = ""


@dataclass(frozen=True)
class TargetLine:
    name: str
    kind: str
    where: str
    health: str
    reason: str
    keys: int
    synced: int
    lag_s: float | None
    oldest_unsynced: str


def backlogs(ops: Ops, *, namespace: str | None = None) -> dict[str, Backlog]:
    """Each target's :class:`Backlog`, by name, from the database."""
    applied = {
        (s.namespace, s.name, s.target): s.applied_version
        for s in list_status(ops.engine, namespace=namespace)
    }
    counts = {name: [0, 0] for name in ops.targets}
    oldest: dict[str, tuple[datetime, str]] = {}
    for row in all_rows(ops.engine, namespace=namespace):
        if row.deleted:
            continue
        key = f"{row.namespace}/{row.name}"
        for target in ops.options.route(row) or ():
            counts[target][0] += 1
            if applied.get((row.namespace, row.name, target), 0) >= row.seq:
                counts[target][1] += 1
            elif target not in oldest or as_utc(row.updated_at) < oldest[target][0]:
                oldest[target] = (as_utc(row.updated_at), key)
    now = datetime.now(UTC)
    return {
        name: Backlog(
            keys=keys,
            synced=synced,
            lag_s=(now - oldest[name][0]).total_seconds() if name in oldest else None,
            oldest_unsynced=oldest[name][1] if name in oldest else "",
        )
        for name, (keys, synced) in counts.items()
    }


async def listing(
    ops: Ops, *, namespace: str | None = None, timeout_s: float = PROBE_TIMEOUT_S
) -> list[TargetLine]:
    """Every configured target, in apply order, probed and counted; OpsError when the
    database cannot be read (an unreachable target is a line, never an error)."""
    configured = ops.settings.configured_targets()
    probes: dict[str, Probe]
    try:
        probes, counted = await asyncio.gather(
            probe_all(configured, timeout_s=timeout_s),
            asyncio.to_thread(backlogs, ops, namespace=namespace),
        )
    except SQLAlchemyError as err:
        raise OpsError(f"cannot read the database: {one_line(err)}") from err
    return [
        TargetLine(
            name=name,
            kind=target.kind,
            where=probes[name].where,
            health=probes[name].health,
            reason=probes[name].reason,
            keys=counted[name].keys,
            synced=counted[name].synced,
            lag_s=counted[name].lag_s,
            oldest_unsynced=counted[name].oldest_unsynced,
        )
        for name, target in configured.items()
    ]


def age(seconds: float | None) -> str:
    """``seconds`` for a table: ``-`` for none, else its two largest units (``3m12s``)."""
    if seconds is None:
        return "-"
    left = int(seconds)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size or (unit == "s" and not parts):
            parts.append(f"{left // size}{unit}")
            left %= size
    return "".join(parts[:2])


def table_row(line: TargetLine) -> dict[str, object]:
    health = f"{line.health}: {line.reason}" if line.reason else line.health
    return {
        "name": line.name,
        "kind": line.kind,
        "where": line.where,
        "detail": health,
        "keys": line.keys,
        "synced": line.synced,
        "lag": age(line.lag_s),
    }
