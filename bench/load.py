"""Writing changes: bursts straight through the persistence layer, paced writes via the API.

Commit times come from the database afterwards: the outbox row's ``created_at`` is the row's
``updated_at``, stamped inside the write transaction just before it commits.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Engine, text

from persistence import writing
from persistence.tables import as_utc
from vocabulary import API_VERSION, KIND

NAMESPACE = "default"
ACTOR = "bench"


@dataclass(frozen=True)
class Written:
    key: str
    seq: int


@dataclass(frozen=True)
class OutboxTimes:
    key: str
    committed: float
    published: float | None


def keys(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{i:05d}" for i in range(count)]


def spec(i: int) -> dict[str, Any]:
    return {"app": "bench", "environment": "dev", "replicas": 1, "data": {"n": str(i)}}


def write_burst(engine: Engine, names: list[str], changes: int, *, existing: bool) -> list[Written]:
    """``changes`` writes round-robin over ``names`` (creates first unless ``existing``)."""
    created = set(names) if existing else set()
    out = []
    for i in range(changes):
        name = names[i % len(names)]
        content = writing.Content(spec=spec(i), labels={}, annotations={})
        if name in created:
            row = writing.update_appconfig(
                engine,
                namespace=NAMESPACE,
                name=name,
                content=content,
                expected_version=None,
                actor=ACTOR,
            )
        else:
            row = writing.create_appconfig(
                engine, namespace=NAMESPACE, name=name, content=content, actor=ACTOR
            )
            created.add(name)
        out.append(Written(f"{NAMESPACE}/{name}", row.seq))
    return out


def finals(written: list[Written]) -> dict[str, int]:
    newest: dict[str, int] = {}
    for w in written:
        newest[w.key] = max(newest.get(w.key, 0), w.seq)
    return newest


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return float(as_utc(value).timestamp())


def outbox_times(engine: Engine, low: int, high: int) -> dict[int, OutboxTimes]:
    """Commit and publish times of the outbox rows with ``low <= seq <= high``."""
    query = text(
        "SELECT seq, key, created_at, published_at FROM outbox WHERE seq BETWEEN :low AND :high"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"low": low, "high": high}).all()
    return {
        int(seq): OutboxTimes(key, _epoch(created) or 0.0, _epoch(published))
        for seq, key, created, published in rows
    }


async def _put(client: httpx.AsyncClient, name: str, i: int) -> Written | None:
    body = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name},
        "spec": spec(i),
    }
    response = await client.put(f"/api/v1/namespaces/{NAMESPACE}/appconfigs/{name}", json=body)
    if response.status_code != 200:
        return None
    seq = int(response.json()["metadata"]["resourceVersion"])
    return Written(f"{NAMESPACE}/{name}", seq)


async def paced_writes(
    api_url: str,
    names: list[str],
    *,
    rate: float,
    duration_s: float,
    seed: int,
    token: str,
) -> tuple[list[Written], int]:
    """Open-loop updates at ``rate``/s to random keys for ``duration_s``: a write is sent on
    schedule whether or not earlier ones returned (at most 64 in flight). Returns the
    accepted writes and the number that failed."""
    rng = random.Random(seed)
    total = int(rate * duration_s)
    gate = asyncio.Semaphore(64)
    limits = httpx.Limits(max_connections=64)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=api_url, timeout=60, limits=limits, headers=headers
    ) as client:

        async def one(i: int, name: str) -> Written | None:
            async with gate:
                return await _put(client, name, i)

        start = time.monotonic()
        tasks = []
        for i in range(total):
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(i, rng.choice(names))))
        results = await asyncio.gather(*tasks, return_exceptions=True)
    accepted = [r for r in results if isinstance(r, Written)]
    return accepted, total - len(accepted)
