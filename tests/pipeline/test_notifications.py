"""Notifications on the real pipeline: one delivery per state change of a key, to a loopback
webhook receiver that refuses requests (503) for a while; signed, with an idempotency key."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus

from activities.webhooks import NotifyConfig, Receiver
from tests.support.builders import body
from tests.support.pipeline import Pipeline
from tests.support.waiting import eventually
from vocabulary import workflow_id_for
from workflows.contracts import NOTIFY_EVENTS

CR_PATH = "/apis/rendersync.dev/v1alpha1/namespaces/.*/appconfigs"
MERGE = {"content-type": "application/merge-patch+json"}
SECRET_ENV = "RS_TEST_HOOK_SECRET"
SECRET = "hook-s3cret"


@dataclasses.dataclass
class Hook:
    """What the receiver saw: every request, and those it accepted."""

    refuse_first: int
    seen: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    @property
    def accepted(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.seen if r["status"] == 200]


@contextlib.contextmanager
def receiver(hook: Hook) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["content-length"]))
            with hook.lock:
                status = 503 if len(hook.seen) < hook.refuse_first else 200
                hook.seen.append(
                    {"status": status, "headers": dict(self.headers.items()), "raw": raw}
                )
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        thread.join(timeout=5)


async def version_of(pipe: Pipeline, answer: Any) -> int:
    assert answer.status_code in (200, 201), answer.text
    return int(answer.json()["metadata"]["resourceVersion"])


async def wait_phase(pipe: Pipeline, name: str, wanted: str) -> None:
    async def reached() -> bool:
        answer = await pipe.api.get(f"{pipe.base}/{name}")
        return answer.status_code == 200 and answer.json()["status"]["phase"] == wanted

    await eventually(reached, timeout_s=60, what=f"{name} {wanted}")


async def wait_synced(pipe: Pipeline, name: str, version: int) -> None:
    """Through the API: a read of the CR would meet the faults meant for the sync."""

    async def reached() -> bool:
        status: dict[str, Any] = (await pipe.api.get(f"{pipe.base}/{name}")).json()["status"]
        return bool(status["phase"] == "Synced" and status["appliedVersion"] == version)

    await eventually(reached, timeout_s=60, what=f"{name} v{version} synced")


async def wait_accepted(hook: Hook, count: int) -> None:
    async def enough() -> bool:
        return len(hook.accepted) >= count

    await eventually(enough, timeout_s=90, what=f"{count} notifications accepted")


@pytest.mark.timeout(240)
async def test_one_notification_per_state_change_despite_a_refusing_receiver(
    pipe: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    hook = Hook(refuse_first=4)
    with receiver(hook) as url:
        pipe.notify = NotifyConfig((Receiver(name="ops", url=url, secret_env=SECRET_ENV),))
        pipe.options = dataclasses.replace(
            pipe.options,
            notify_events=NOTIFY_EVENTS,
            notify_retrying_after=2,
            notify_max_interval_s=1.0,
            notify_attempts=30,
        )
        name = "noisy"
        v1 = await version_of(pipe, await pipe.api.post(pipe.base, json=body(name)))
        await wait_synced(pipe, name, v1)

        # Retrying past 2 attempts (3 refused reads), then Recovered.
        pipe.emulator.faults.add(method="GET", path_regex=CR_PATH, status=503, count=3)
        v2 = await version_of(pipe, await _patch(pipe, name, 2))
        await wait_synced(pipe, name, v2)
        await wait_accepted(hook, 2)  # the receiver refused for a while: delivered late

        # Failed for good, then Recovered by a newer change.
        pipe.emulator.faults.add(method="PATCH", path_regex=CR_PATH, status=422, count=1)
        v3 = await version_of(pipe, await _patch(pipe, name, 3))
        await wait_phase(pipe, name, "Failed")
        v4 = await version_of(pipe, await _patch(pipe, name, 4))
        await wait_synced(pipe, name, v4)

        v5 = await version_of(pipe, await pipe.api.delete(f"{pipe.base}/{name}"))
        await wait_accepted(hook, 5)
        await _wait_all_done(pipe, name, hook)

    # Each notice is its own child workflow, retried on its own against the refusing
    # receiver, so they may arrive in any order; the workflow numbers them (the id's end).
    accepted = sorted(
        (json.loads(r["raw"]) for r in hook.accepted), key=lambda n: int(n["id"].rsplit(":", 1)[1])
    )
    assert [(n["event"], n["version"]) for n in accepted] == [
        ("Retrying", v2),
        ("Recovered", v2),
        ("Failed", v3),
        ("Recovered", v4),
        ("Deleted", v5),
    ]
    ids = [n["id"] for n in accepted]
    assert len(set(ids)) == len(ids)  # exactly once each
    refused = [r for r in hook.seen if r["status"] == 503]
    assert len(refused) == 4
    assert {r["headers"]["idempotency-key"] for r in refused} <= set(ids)  # retried, same key
    for request in hook.accepted:  # each delivery is checked against its own body
        notice = json.loads(request["raw"])
        headers = request["headers"]
        assert headers["idempotency-key"] == notice["id"]
        digest = hmac.new(SECRET.encode(), request["raw"], hashlib.sha256).hexdigest()
        assert headers["x-rendersync-signature"] == f"sha256={digest}"
        assert notice["schemaVersion"] == 1
        assert notice["key"] == f"{pipe.ns}/{name}"
        assert notice["workflowId"] == workflow_id_for(f"{pipe.ns}/{name}")
    assert accepted[0]["attempts"] == 2
    assert "503" in accepted[0]["error"]


async def _wait_all_done(pipe: Pipeline, name: str, hook: Hook) -> None:
    """The key's workflow completed (no state change can follow) and every notification
    workflow it started has finished, so no delivery is still to come."""
    sync = pipe.client.get_workflow_handle(workflow_id_for(f"{pipe.ns}/{name}"))

    async def completed() -> bool:
        return (await sync.describe()).status == WorkflowExecutionStatus.COMPLETED

    await eventually(completed, timeout_s=60, what="sync workflow completed")
    for notice in [json.loads(r["raw"]) for r in hook.accepted]:
        await pipe.client.get_workflow_handle(f"notify:{notice['id']}").result()


async def _patch(pipe: Pipeline, name: str, replicas: int) -> Any:
    return await pipe.api.patch(
        f"{pipe.base}/{name}", json={"spec": {"replicas": replicas}}, headers=MERGE
    )
