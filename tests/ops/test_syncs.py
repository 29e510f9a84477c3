"""``syncs list`` / ``show`` / ``replay`` on the real pipeline: a sync the cluster rejects
(422) is listed Failed, shown with its workflow's events, and cured by a replay."""

from __future__ import annotations

from temporalio.client import WorkflowExecutionStatus

from tests.ops.helpers import Cli, create, fail_applies, wait_phase, wait_synced
from tests.support.pipeline import Pipeline
from tests.support.waiting import eventually
from vocabulary import PHASE_FAILED, PHASE_RETRYING, PHASE_SYNCED, workflow_id_for


async def failed_sync(pipe: Pipeline, name: str) -> int:
    """Create ``name`` while the cluster rejects it; wait until it is Failed."""
    fail_applies(pipe, name)
    version = await create(pipe, name, replicas=1)
    await wait_phase(pipe, name, PHASE_FAILED)
    return version


async def test_list_shows_the_failed_sync_and_failed_filters(pipe: Pipeline, cli: Cli) -> None:
    good = await create(pipe, "good")
    await wait_synced(pipe, "good", good)
    bad = await failed_sync(pipe, "bad")

    table = await cli("syncs", "list", "-n", pipe.ns)
    assert table.code == 0
    header, *lines = table.out.splitlines()
    assert header.split()[:5] == ["KEY", "PHASE", "DESIRED", "APPLIED", "ATTEMPTS"]
    assert [line.split()[:3] for line in lines] == [
        [f"{pipe.ns}/bad", PHASE_FAILED, str(bad)],
        [f"{pipe.ns}/good", PHASE_SYNCED, str(good)],
    ]
    assert "422" in lines[0] or "Invalid" in lines[0]
    assert f"http://ui.test/namespaces/default/workflows/appconfig%3A{pipe.ns}%2Fbad" in lines[0]

    listed = (await cli("syncs", "list", "-n", pipe.ns, "-o", "json")).json()
    assert {s["key"]: s["phase"] for s in listed} == {
        f"{pipe.ns}/bad": PHASE_FAILED,
        f"{pipe.ns}/good": PHASE_SYNCED,
    }
    bad_sync = next(s for s in listed if s["key"].endswith("/bad"))
    assert bad_sync["desired_version"] == bad
    assert bad_sync["applied_version"] == 0
    assert "Invalid value" in bad_sync["last_error"]

    async def failed_in_both() -> bool:
        found = (await cli("syncs", "list", "--failed", "-n", pipe.ns, "-o", "json")).json()
        assert [s["key"] for s in found] == [f"{pipe.ns}/bad"]
        return bool(found[0]["source"] == "db+temporal")

    await eventually(failed_in_both, timeout_s=30, what="Temporal's visibility lists it Failed")
    only_failed = await cli("syncs", "list", "--failed", "-n", pipe.ns)
    assert f"{pipe.ns}/bad" in only_failed.out
    assert f"{pipe.ns}/good" not in only_failed.out


async def test_show_prints_status_workflow_and_events(pipe: Pipeline, cli: Cli) -> None:
    await failed_sync(pipe, "bad")

    shown = (await cli("syncs", "show", f"{pipe.ns}/bad", "-o", "json")).json()
    assert shown["status"]["phase"] == PHASE_FAILED
    assert shown["workflow"]["status"] == "RUNNING"
    assert shown["state"]["phase"] == PHASE_FAILED
    types = [e["type"] for e in shown["events"]]
    assert 0 < len(types) <= 20
    assert "ActivityTaskFailed" in types

    text = await cli("syncs", "show", f"{pipe.ns}/bad")
    assert text.code == 0
    assert "Phase:     Failed" in text.out
    assert f"appconfig:{pipe.ns}/bad (RUNNING" in text.out
    assert "Recent events" in text.out

    missing = await cli("syncs", "show", f"{pipe.ns}/missing")
    assert missing.code == 2


async def test_replay_retries_a_running_failed_workflow(pipe: Pipeline, cli: Cli) -> None:
    version = await failed_sync(pipe, "bad")
    pipe.emulator.faults.clear()

    replayed = await cli("syncs", "replay", f"{pipe.ns}/bad")

    assert replayed.code == 0
    assert "retry signalled" in replayed.out
    await wait_synced(pipe, "bad", version)
    await wait_phase(pipe, "bad", PHASE_SYNCED)


async def test_replay_restarts_a_closed_workflow_from_the_database(
    pipe: Pipeline, cli: Cli
) -> None:
    version = await failed_sync(pipe, "bad")
    handle = pipe.client.get_workflow_handle(workflow_id_for(f"{pipe.ns}/bad"))
    await handle.terminate("operator gave up")
    pipe.emulator.faults.clear()

    replayed = (await cli("syncs", "replay", "--all-failed", "-n", pipe.ns, "-o", "json")).json()

    assert replayed == [
        {"key": f"{pipe.ns}/bad", "action": "restarted from the database", "version": version}
    ]
    await wait_synced(pipe, "bad", version)
    await wait_phase(pipe, "bad", PHASE_SYNCED)
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

    histories = await cli("history", "replay", "--query", f'WorkflowId="{handle.id}"')
    assert histories.code == 0, histories.out
    assert "replayed 2 history(ies), 0 failed" in histories.out


async def test_replay_of_an_unknown_key_has_nothing_to_do(pipe: Pipeline, cli: Cli) -> None:
    replayed = await cli("syncs", "replay", f"{pipe.ns}/nothing")

    assert replayed.code == 1
    assert "nothing to replay" in replayed.out


async def test_list_shows_a_retrying_sync_with_attempts_and_error(pipe: Pipeline, cli: Cli) -> None:
    path = f"/namespaces/{pipe.ns}/appconfigs/flaky"
    pipe.emulator.faults.add(path_regex=path, status=503, message="apiserver unavailable")
    version = await create(pipe, "flaky")
    await wait_phase(pipe, "flaky", PHASE_RETRYING)

    listed = (await cli("syncs", "list", "-n", pipe.ns, "-o", "json")).json()
    assert [(s["key"], s["phase"]) for s in listed] == [(f"{pipe.ns}/flaky", PHASE_RETRYING)]
    assert listed[0]["attempts"] >= 1
    assert "unavailable" in listed[0]["last_error"] or "503" in listed[0]["last_error"]

    pipe.emulator.faults.clear()
    replayed = await cli("syncs", "replay", f"{pipe.ns}/flaky")  # retries now, not after backoff
    assert replayed.code == 0
    await wait_synced(pipe, "flaky", version)
    await wait_phase(pipe, "flaky", PHASE_SYNCED)
