"""Record AppConfigSync histories from real runs for the Replayer test.

``python -m tests.pipeline.record_histories`` starts the real services, drives a
create/update/fail/retry/delete/recreate lifecycle and a burst through the whole pipeline,
and writes each workflow's history to ``tests/workflows/histories/<name>.json``. Re-record
when a workflow change is *meant* to be incompatible (and ship it behind a new version).
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from rendersync.devstack.services.gitremote import init_bare_repo
from rendersync.devstack.services.kafka import start_kafka_broker
from rendersync.devstack.services.temporal import start_temporal_dev_server
from tests.support.builders import body
from tests.support.pipeline import Pipeline, pipeline
from tests.support.waiting import eventually
from vocabulary import workflow_id_for
from workflows.contracts import SIGNAL_RETRY, RetryRequest

OUT = Path(__file__).resolve().parents[1] / "workflows" / "histories"
MERGE = {"content-type": "application/merge-patch+json"}
SYNCED = {"wait": "synced", "timeout": "30s"}
CR_PATH = "/apis/rendersync.dev/v1alpha1/namespaces/.*/appconfigs"


async def lifecycle(pipe: Pipeline) -> None:
    await pipe.api.post(pipe.base, json=body("life"), params=SYNCED)
    await pipe.api.patch(
        f"{pipe.base}/life", json={"spec": {"replicas": 2}}, headers=MERGE, params=SYNCED
    )
    pipe.emulator.faults.add(method="GET", path_regex=CR_PATH, status=422, count=1)
    await pipe.api.patch(f"{pipe.base}/life", json={"spec": {"replicas": 3}}, headers=MERGE)

    async def failed() -> bool:
        status = (await pipe.api.get(f"{pipe.base}/life")).json()["status"]
        return bool(status["phase"] == "Failed")

    await eventually(failed, what="failed sync")
    handle = pipe.client.get_workflow_handle(workflow_id_for(f"{pipe.ns}/life"))
    await handle.signal(SIGNAL_RETRY, RetryRequest(reason="recording"))
    await pipe.api.get(f"{pipe.base}/life", params=SYNCED)
    await pipe.api.delete(f"{pipe.base}/life", params=SYNCED)
    await pipe.api.post(pipe.base, json=body("life", replicas=4), params=SYNCED)


async def burst(pipe: Pipeline) -> None:
    await pipe.api.post(pipe.base, json=body("burst"))
    for i in range(30):
        await pipe.api.patch(
            f"{pipe.base}/burst", json={"spec": {"data": {"i": str(i)}}}, headers=MERGE
        )
    await pipe.api.get(f"{pipe.base}/burst", params=SYNCED)


async def save_runs(pipe: Pipeline, name: str, out: Path) -> list[Path]:
    """Every run of the key's workflow, oldest first, as ``<name>-<n>.json``."""
    workflow_id = workflow_id_for(f"{pipe.ns}/{name}")
    runs = [r async for r in pipe.client.list_workflows(f'WorkflowId = "{workflow_id}"')]
    runs.sort(key=lambda r: r.start_time)
    paths = []
    for number, run in enumerate(runs, start=1):
        handle = pipe.client.get_workflow_handle(workflow_id, run_id=run.run_id)
        path = out / f"{name}-{number}.json"
        path.write_text((await handle.fetch_history()).to_json())
        paths.append(path)
    return paths


async def record(out: Path = OUT) -> list[Path]:
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        temporal = await start_temporal_dev_server(headless=True)
        broker = await start_kafka_broker()
        remote = init_bare_repo(Path(tmp) / "remote.git")
        try:
            async with pipeline(
                db_url=f"sqlite:///{tmp}/rs.db",
                temporal_address=temporal.address,
                bootstrap=broker.bootstrap_servers,
                remote=remote,
                tmp_path=Path(tmp),
            ) as pipe:
                for name, scenario in (("life", lifecycle), ("burst", burst)):
                    await scenario(pipe)
                    written += await save_runs(pipe, name, out)
        finally:
            broker.stop()
            await temporal.astop()
    return written


if __name__ == "__main__":
    for written_path in asyncio.run(record()):
        print(written_path)
