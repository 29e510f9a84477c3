"""Failure classification (guarantee 5) and bad input (guarantee 6) on the real pipeline:
retried 5xx and timeouts, a 422 that ends Failed and is cured, poison messages to the DLQ."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from temporalio.client import WorkflowHandle

from tests.support.builders import body
from tests.support.pipeline import Pipeline, version_in_yaml
from tests.support.waiting import eventually
from vocabulary import workflow_id_for
from workflows.contracts import SIGNAL_RETRY, RetryRequest

MERGE = {"content-type": "application/merge-patch+json"}
CR_PATH = "/apis/rendersync.dev/v1alpha1/namespaces/.*/appconfigs"


async def phase(pipe: Pipeline, name: str) -> str:
    status: str = (await pipe.api.get(f"{pipe.base}/{name}")).json()["status"]["phase"]
    return status


async def sync_state(pipe: Pipeline, name: str) -> str | None:
    handle: WorkflowHandle[Any, Any] = pipe.client.get_workflow_handle(
        workflow_id_for(f"{pipe.ns}/{name}")
    )
    description = await handle.describe()
    values = description.search_attributes.get("SyncState")
    return str(values[0]) if values else None


async def wait_sync_state(pipe: Pipeline, name: str, wanted: str) -> None:
    """SyncState follows the API's phase: the workflow sets it once the activity returned."""

    async def reached() -> bool:
        return await sync_state(pipe, name) == wanted

    await eventually(reached, timeout_s=30, what=f"SyncState {wanted} for {name}")


async def wait_phase(pipe: Pipeline, name: str, wanted: str) -> None:
    async def reached() -> bool:
        return await phase(pipe, name) == wanted

    await eventually(reached, timeout_s=60, what=f"{name} {wanted}")


async def test_server_errors_and_timeouts_are_retried_to_success(pipe: Pipeline) -> None:
    # Attempt 1 gets a 503, attempt 2 times out (the client gives up after 2 s), attempt 3
    # gets a 500 on create; attempt 4 succeeds.
    pipe.emulator.faults.add(method="GET", path_regex=CR_PATH, status=503, count=1)
    pipe.emulator.faults.add(method="GET", path_regex=CR_PATH, latency_s=5.0, count=1)
    pipe.emulator.faults.add(method="POST", path_regex=CR_PATH, status=500, count=1)
    created = await pipe.api.post(pipe.base, json=body("flaky"))
    version = int(created.json()["metadata"]["resourceVersion"])
    await wait_phase(pipe, "flaky", "Synced")
    cr = await pipe.live_cr("flaky")
    assert cr is not None
    assert int(cr["metadata"]["annotations"]["rendersync.dev/version"]) == version
    status = (await pipe.api.get(f"{pipe.base}/flaky")).json()["status"]
    assert status["lastError"] == ""  # cleared once the version applied
    assert pipe.emulator.faults.list() == []  # every fault was hit (and expired)


async def test_invalid_at_the_cluster_fails_fast_and_a_corrected_put_cures_it(
    pipe: Pipeline,
) -> None:
    pipe.emulator.faults.add(method="POST", path_regex=CR_PATH, status=422, count=1)
    await pipe.api.post(pipe.base, json=body("strict"))
    await wait_phase(pipe, "strict", "Failed")
    status = (await pipe.api.get(f"{pipe.base}/strict")).json()["status"]
    assert "422" in status["lastError"] or "Invalid" in status["lastError"]
    assert status["attempts"] == 1  # permanent: no retries
    await wait_sync_state(pipe, "strict", "Failed")

    fixed = await pipe.api.put(f"{pipe.base}/strict", json=body("strict", replicas=3))
    assert fixed.status_code == 200
    await wait_phase(pipe, "strict", "Synced")
    await wait_sync_state(pipe, "strict", "Synced")


async def test_retry_signal_cures_a_failed_sync(pipe: Pipeline) -> None:
    pipe.emulator.faults.add(method="POST", path_regex=CR_PATH, status=403, count=1)
    await pipe.api.post(pipe.base, json=body("denied"))
    await wait_phase(pipe, "denied", "Failed")
    handle: WorkflowHandle[Any, Any] = pipe.client.get_workflow_handle(
        workflow_id_for(f"{pipe.ns}/denied")
    )
    await handle.signal(SIGNAL_RETRY, RetryRequest(reason="test"))
    await wait_phase(pipe, "denied", "Synced")
    assert pipe.git_file("denied") is not None


async def test_poison_message_goes_to_the_dlq_and_the_partition_keeps_flowing(
    pipe: Pipeline,
) -> None:
    await pipe.api.post(pipe.base, json=body("before"))
    await wait_phase(pipe, "before", "Synced")
    producer = AIOKafkaProducer(bootstrap_servers=pipe.bootstrap, acks="all")
    await producer.start()
    try:
        for partition in range(3):  # one poison message in every partition
            await producer.send_and_wait(
                pipe.topic, key=b"x/y", value=b"{not json", partition=partition
            )
    finally:
        await producer.stop()
    created = await pipe.api.post(pipe.base, json=body("after"))
    version = int(created.json()["metadata"]["resourceVersion"])

    async def applied() -> bool:
        text = pipe.git_file("after")
        return text is not None and version_in_yaml(text) == version

    await eventually(applied, what="change after the poison messages")
    consumer = AIOKafkaConsumer(
        f"{pipe.topic}.dlq", bootstrap_servers=pipe.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=10_000, max_records=10)
    finally:
        await consumer.stop()
    records = [r for batch in batches.values() for r in batch]
    assert len(records) == 3
    headers = dict(records[0].headers)
    assert b"not JSON" in headers["rendersync-error"]
    assert records[0].value == b"{not json"


async def test_an_outage_longer_than_any_budget_is_retrying_then_synced(pipe: Pipeline) -> None:
    # The cluster answers 503 to everything for this key: far more attempts than the old
    # budget of 8; the sync must show Retrying (API and SyncState), never Failed.
    path = f"/apis/rendersync.dev/v1alpha1/namespaces/{pipe.ns}/appconfigs"
    pipe.emulator.faults.add(path_regex=path, status=503, message="etcd unavailable")
    created = await pipe.api.post(pipe.base, json=body("outage"))
    version = int(created.json()["metadata"]["resourceVersion"])

    async def retrying_long() -> bool:
        status = (await pipe.api.get(f"{pipe.base}/outage")).json()["status"]
        assert status["phase"] != "Failed", status
        return bool(status["phase"] == "Retrying" and status["attempts"] > 8)

    await eventually(retrying_long, timeout_s=60, what="outage Retrying past 8 attempts")
    status = (await pipe.api.get(f"{pipe.base}/outage")).json()["status"]
    assert "503" in status["lastError"] or "unavailable" in status["lastError"]
    await wait_sync_state(pipe, "outage", "Retrying")

    pipe.emulator.faults.clear()
    await wait_phase(pipe, "outage", "Synced")
    await wait_sync_state(pipe, "outage", "Synced")
    assert await pipe.converged("outage", version)
