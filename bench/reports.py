"""An apply's database work, measured alone: the row check read right before the target write,
and the one write transaction that records the result (provenance notes and applied status).

``python -m bench.reports --keys 2000 --database sqlite``: ``--keys`` rows are created, then
each key's first version is checked and reported as applied (a fresh key, as the workflow sends
it), then each key is updated twice and its last version reported with the one before it
coalesced (a hot key). Prints the statements and the CPU milliseconds (this thread's) per apply
for each round. ``--database postgres`` runs the same on the embedded PostgreSQL server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from activities.frames import record_result
from persistence import writing
from persistence.db import make_engine
from persistence.migrating import upgrade
from persistence.provenance import Origin
from persistence.reading import get_row
from persistence.tables import AppConfigRow
from tests.support.postgres import start_postgres
from vocabulary import TARGET_KUBERNETES
from workflows.contracts import AppConfigImage, ApplyRequest, TargetResult

NAMESPACE = "bench"
SPEC = {"image": "nginx:1.27", "replicas": 1}
BY = Origin("AppConfigSync:bench", "run", "1", "kubernetes_apply", 1)


@contextmanager
def counted(engine: Engine) -> Iterator[list[int]]:
    """A one-item list holding the number of statements the engine sent in the block."""
    sent = [0]

    def listener(*_args: Any) -> None:
        sent[0] += 1

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def request(row: AppConfigRow, coalesced_after: int) -> ApplyRequest:
    image = AppConfigImage(
        namespace=row.namespace, name=row.name, uid=row.uid, seq=row.seq,
        generation=row.generation, spec=dict(row.spec),
    )  # fmt: skip
    return ApplyRequest(image=image, coalesced_after=coalesced_after)


def apply_all(engine: Engine, requests: list[ApplyRequest]) -> dict[str, float]:
    """The row check and the report of each request, as one apply does them; per apply."""

    def one(req: ApplyRequest) -> None:
        image = req.image  # the row check of ``activities.freshness.apply_check``
        row = get_row(engine, namespace=image.namespace, name=image.name)
        assert row is not None, image.name
        assert row.seq == image.seq, (row.seq, image.seq)
        result = TargetResult(target=TARGET_KUBERNETES, version=req.image.seq, object_uid="u")
        record_result(engine, req, result, BY)

    with counted(engine) as sent:
        cpu, wall = time.thread_time(), time.perf_counter()
        for req in requests:
            one(req)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    n = len(requests)
    return {
        "statements": round(sent[0] / n, 2),
        "cpu_ms": round(cpu / n * 1000, 3),
        "wall_ms": round(wall / n * 1000, 3),
    }


def measure(url: str, keys: int) -> dict[str, dict[str, float]]:
    engine = make_engine(url)
    upgrade(engine)

    def content(replicas: int) -> writing.Content:
        return writing.Content(spec={**SPEC, "replicas": replicas}, labels={}, annotations={})

    names = [f"app-{i:05d}" for i in range(keys)]
    created = [
        writing.create_appconfig(
            engine, namespace=NAMESPACE, name=n, content=content(1), actor="bench"
        )
        for n in names
    ]
    results = {"fresh": apply_all(engine, [request(r, 0) for r in created])}
    hot = []
    for n, first in zip(names, created, strict=True):
        writing.update_appconfig(
            engine, namespace=NAMESPACE, name=n, content=content(2), expected_version=None,
            actor="bench",
        )  # fmt: skip
        last = writing.update_appconfig(
            engine, namespace=NAMESPACE, name=n, content=content(3), expected_version=None,
            actor="bench",
        )  # fmt: skip
        hot.append(request(last, first.seq))  # the version between is coalesced
    results["coalescing"] = apply_all(engine, hot)
    engine.dispose()
    return results


async def main_async(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="rendersync-reports-") as tmp:
        if args.database == "sqlite":
            return await asyncio.to_thread(measure, f"sqlite:///{tmp}/bench.db", args.keys)
        server = await start_postgres(log_path=Path(tmp) / "postgres.log")
        try:
            return await asyncio.to_thread(measure, server.url(), args.keys)
        finally:
            await server.astop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__)
    parser.add_argument("--keys", type=int, default=2000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    print(
        json.dumps({"database": args.database, "keys": args.keys, **asyncio.run(main_async(args))})
    )


if __name__ == "__main__":
    main()
