"""An orphan collection pass over many converged keys: it reads every managed object and every
row, and keeps of each only what decides whether it is an orphan."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from kubernetes_asyncio import client
from sqlalchemy import Engine

from activities.kubernetes import Cluster
from k8s.manifests import render_appconfig
from persistence import syncstatus
from persistence.writing import Content, create_appconfig
from tests.support.emulatedcluster import emulated_cluster
from vocabulary import GROUP, PLURAL, TARGET_KUBERNETES, VERSION
from worker.orphans import prune_plan
from workflows.contracts import SyncOptions

NS = "ns"


async def test_a_pass_over_converged_keys_holds_neither_their_objects_nor_their_rows(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """Over 10,000 keys, holding every listed CR and every row (spec and all) at once would
    be the largest allocation of a pass. The emulator runs in this process, so its answers
    (one page of CRs each) are traced too."""
    count, spec_bytes = 1500, 8 * 1024
    spec = {"app": "web", "environment": "dev", "replicas": 1, "blob": "x" * spec_bytes}
    async with emulated_cluster(tmp_path, NS) as (_, api):
        custom = client.CustomObjectsApi(api)
        for i in range(count):
            name = f"web-{i}"
            content = Content(spec=spec, labels={}, annotations={})
            row = create_appconfig(
                sqlite_engine, namespace=NS, name=name, content=content, actor="t"
            )
            cr = render_appconfig(
                namespace=NS, name=name, spec=spec, labels={}, annotations={}, seq=row.seq
            )
            await custom.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, cr)
            syncstatus.record_applied(
                sqlite_engine,
                namespace=NS,
                name=name,
                target=TARGET_KUBERNETES,
                version=row.seq,
                detail="",
            )
        tracemalloc.start()
        try:
            orphans = await prune_plan(
                engine=sqlite_engine,
                clusters={TARGET_KUBERNETES: Cluster(api)},
                places={},
                options=SyncOptions(targets=(TARGET_KUBERNETES,)),
                keep_tombstoned=True,
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert orphans == []
    # Every spec once is 12 MiB; a page of CRs (500) and a chunk of rows (200) take about 7.
    assert peak < count * spec_bytes, f"a pass peaked at {peak} bytes"
