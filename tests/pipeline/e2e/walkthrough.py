"""Steps of the dev-stack walkthrough: drive the REST API, look at the cluster and Git."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from temporalio.client import Client

from rendersync.devstack.resyncing import finished_before_crash
from tests.pipeline.e2e.conftest import DevStack
from tests.support.waiting import eventually as wait
from vocabulary import workflow_id_for
from workflows.contracts import SIGNAL_RETRY, RetryRequest

NS = "default"
BASE = f"/api/v1/namespaces/{NS}/appconfigs"
KUBECTL = Path("/usr/bin/kubectl")
KUBECTL_INSTALLED = KUBECTL.exists()
VERSION = "rendersync.dev/version"


async def eventually(
    check: Callable[[], Awaitable[bool]], *, what: str, timeout_s: float = 60
) -> None:
    await wait(check, what=what, timeout_s=timeout_s, interval_s=0.25)


async def wait_synced(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    """The AppConfig once ``?wait=synced`` says Synced (asked again until the deadline)."""
    found: dict[str, Any] = {}

    async def synced() -> bool:
        nonlocal found
        reply = await api.get(f"{BASE}/{name}", params={"wait": "synced", "timeout": "20s"})
        found = reply.json()
        return reply.status_code == 200 and found["status"]["phase"] == "Synced"

    await eventually(synced, what=f"{name} Synced")
    return found


def rendersync(*args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rendersync.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout_s,
    )


def git(stack: DevStack, *args: str) -> subprocess.CompletedProcess[str]:
    """``git --git-dir <state>/gitops.git ARGS``, not checked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    argv = ["git", "--git-dir", str(stack.state_dir / "gitops.git"), *args]
    return subprocess.run(argv, capture_output=True, text=True, check=False, env=env, timeout=30)


def git_version(stack: DevStack, name: str, *, environment: str = "dev") -> int | None:
    """The version in ``environment``'s overlay (``clusters/<env>/appconfigs/<ns>/<name>.yaml``
    on ``main``), or None without that file."""
    shown = git(stack, "show", f"main:clusters/{environment}/appconfigs/{NS}/{name}.yaml")
    if shown.returncode != 0:
        return None
    return int(yaml.safe_load(shown.stdout)["metadata"]["annotations"][VERSION])


async def cr_version(stack: DevStack, name: str, *, cluster: str = "dev") -> int | None:
    """The version of the AppConfig CR in ``cluster``'s emulator (``kubectl --context`` when
    installed), or None."""
    if KUBECTL_INSTALLED:
        cr = await asyncio.to_thread(_kubectl_get, stack, name, cluster)
    else:
        url = f"{stack.urls['kubernetes_' + cluster]}/apis/rendersync.dev/v1alpha1/namespaces/{NS}"
        async with httpx.AsyncClient() as http:
            reply = await http.get(f"{url}/appconfigs/{name}")
        cr = None if reply.status_code == 404 else reply.raise_for_status().json()
    return None if cr is None else int(cr["metadata"]["annotations"][VERSION])


def _kubectl_get(stack: DevStack, name: str, cluster: str) -> dict[str, Any] | None:
    kubeconfig = str(stack.state_dir / "kubeconfig")
    argv = [str(KUBECTL), "--kubeconfig", kubeconfig, "--context", cluster]
    argv += ["get", "appconfigs.rendersync.dev", "-n", NS, name, "-o", "json"]
    argv += ["--request-timeout=10s"]
    got = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    if got.returncode != 0:
        assert "NotFound" in got.stderr, got.stderr
        return None
    found: dict[str, Any] = json.loads(got.stdout)
    return found


async def applied_everywhere(stack: DevStack, name: str, version: int | None) -> None:
    """Wait until the dev cluster's CR and the dev overlay's file hold ``version`` (None: until
    both are gone)."""

    async def there() -> bool:
        return git_version(stack, name) == version and await cr_version(stack, name) == version

    await eventually(there, what=f"{name}@{version} in the dev cluster and overlay")


async def inject_422(stack: DevStack, name: str) -> None:
    """Make the emulator reject writes of ``name`` as invalid: its create (POST to the
    collection, nothing else is created meanwhile) and its apply (PATCH)."""
    faults = [
        {"method": "POST", "path_regex": f"/namespaces/{NS}/appconfigs($|\\?)", "status": 422},
        {"method": "PATCH", "path_regex": f"/appconfigs/{name}($|\\?|/)", "status": 422},
    ]
    async with httpx.AsyncClient() as http:
        for fault in faults:
            reply = await http.post(f"{stack.urls['kubernetes_dev']}/_emulator/faults", json=fault)
            assert reply.status_code == 201, reply.text


async def clear_faults(stack: DevStack) -> None:
    async with httpx.AsyncClient() as http:
        (await http.delete(f"{stack.urls['kubernetes_dev']}/_emulator/faults")).raise_for_status()


async def replay(stack: DevStack, key: str) -> str:
    """Re-drive a failed sync with ``rendersync syncs replay``, or the ``retry`` signal where
    that command is missing; return which way was used."""
    if (await asyncio.to_thread(rendersync, "syncs", "replay", "--help")).returncode == 0:
        state = str(stack.state_dir)
        done = await asyncio.to_thread(rendersync, "syncs", "replay", key, "--state-dir", state)
        # A crash while the interpreter finalizes comes after the command's work is done
        # (temporalio/sdk-python#300); the sync reaching Synced is what is checked next.
        ok = done.returncode == 0 or finished_before_crash(done.stderr)
        assert ok, done.stdout + done.stderr
        assert key in done.stdout, done.stdout
        return "cli"
    client = await Client.connect(stack.env["RENDERSYNC_TEMPORAL__ADDRESS"])
    handle = client.get_workflow_handle(workflow_id_for(key))
    await handle.signal(SIGNAL_RETRY, RetryRequest(reason="e2e replay"))
    return "signal"


async def workflow_exists(stack: DevStack, key: str) -> bool:
    client = await Client.connect(stack.env["RENDERSYNC_TEMPORAL__ADDRESS"])
    described = await client.get_workflow_handle(workflow_id_for(key)).describe()
    return described.id == workflow_id_for(key)


async def preview_and_rollback(
    stack: DevStack, api: httpx.AsyncClient, *, first: int, current: int, tmp: Path
) -> int:
    """README: ``rendersync diff -f`` shows what each target would get and writes nothing;
    ``rendersync rollback --to`` writes the first version again, synced everywhere."""
    state = str(stack.state_dir)
    live = (await api.get(f"{BASE}/web")).json()
    change = {"metadata": {"name": "web", "namespace": NS}, "spec": {**live["spec"], "replicas": 4}}
    file = tmp / "web.yaml"
    file.write_text(yaml.safe_dump(change))
    shown = await asyncio.to_thread(rendersync, "diff", "-f", str(file), "--state-dir", state)
    assert shown.returncode == 1, shown.stdout + shown.stderr
    assert "# dev: Compared" in shown.stdout, shown.stdout
    assert "# gitops-dev: Compared" in shown.stdout, shown.stdout
    assert "+  replicas: 4" in shown.stdout, shown.stdout
    assert (await api.get(f"{BASE}/web")).json()["metadata"]["resourceVersion"] == str(current)
    await applied_everywhere(stack, "web", current)

    args = ("rollback", f"{NS}/web", "--to", str(first), "--state-dir", state)
    rolled = await asyncio.to_thread(rendersync, *args)
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    synced = await wait_synced(api, "web")
    version: int = synced["status"]["appliedVersion"]
    assert version > current
    await applied_everywhere(stack, "web", version)
    history = (await api.get(f"{BASE}/web/history")).json()["items"]
    assert history[0]["op"] == "rollback"
    return version
