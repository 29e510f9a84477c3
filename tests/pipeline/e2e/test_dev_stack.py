"""`rendersync dev` end to end: create, update, delete, a promotion from the dev cluster to the
prod cluster through the environments' overlays, a failed sync and its replay, a restart that
keeps state, a crashed child restarted, and Ctrl-C leaving no process behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.pipeline.e2e.conftest import DevStack, alive_in
from tests.pipeline.e2e.walkthrough import (
    BASE,
    KUBECTL_INSTALLED,
    NS,
    applied_everywhere,
    clear_faults,
    cr_version,
    eventually,
    git,
    git_version,
    inject_422,
    preview_and_rollback,
    rendersync,
    replay,
    wait_synced,
    workflow_exists,
)
from tests.support.builders import body
from tests.support.kustomizing import kustomize


async def only_the_admin_token_gets_in(stack: DevStack) -> str:
    """The API refuses anonymous callers; the first start's admin token is private and works."""
    token_file = stack.state_dir / "admin-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    async with httpx.AsyncClient(base_url=stack.urls["api"], timeout=30) as anonymous:
        refused = await anonymous.get(BASE)
        assert refused.status_code == 401, refused.text
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert (await anonymous.get("/healthz")).status_code == 200
    whoami = rendersync("whoami", "--state-dir", str(stack.state_dir))
    assert whoami.returncode == 0, whoami.stderr
    assert whoami.stdout.startswith("admin "), whoami.stdout
    return token_file.read_text()


async def create_update_delete(stack: DevStack, api: httpx.AsyncClient) -> None:
    created = await api.post(BASE, json=body("web", app="web", replicas=2))
    assert created.status_code == 201, created.text
    v1 = (await wait_synced(api, "web"))["status"]["appliedVersion"]
    assert v1 == int(created.json()["metadata"]["resourceVersion"])
    await applied_everywhere(stack, "web", v1)

    patch = {"spec": {"replicas": 3}}
    headers = {"content-type": "application/merge-patch+json"}
    updated = await api.patch(f"{BASE}/web", json=patch, headers=headers)
    assert updated.status_code == 200, updated.text
    v2 = (await wait_synced(api, "web"))["status"]["appliedVersion"]
    assert v2 > v1
    await applied_everywhere(stack, "web", v2)
    await preview_and_rollback(stack, api, first=v1, current=v2, tmp=stack.state_dir.parent)

    deleted = await api.delete(f"{BASE}/web", params={"wait": "synced", "timeout": "20s"})
    assert deleted.status_code in (200, 202), deleted.text
    await applied_everywhere(stack, "web", None)
    assert (await api.get(f"{BASE}/web")).status_code == 404


ENVIRONMENTS = ("dev", "staging", "prod")
CLUSTER_OF = {"dev": "dev", "staging": "dev", "prod": "prod"}


async def held_only_by(stack: DevStack, name: str, version: int | None, environment: str) -> None:
    """Wait until ``name`` is at ``version`` in ``environment``'s cluster and overlay, and in no
    other cluster or overlay (None: in none at all)."""

    async def placed() -> bool:
        for env in ENVIRONMENTS:
            if git_version(stack, name, environment=env) != (
                version if env == environment else None
            ):
                return False
        for cluster in ("dev", "prod"):
            held = version if cluster == CLUSTER_OF[environment] else None
            if await cr_version(stack, name, cluster=cluster) != held:
                return False
        return True

    await eventually(placed, what=f"{name}@{version} only in {environment}'s cluster and overlay")


async def promote(api: httpx.AsyncClient, name: str, environment: str) -> dict[str, Any]:
    patch = {"spec": {"environment": environment}}
    headers = {"content-type": "application/merge-patch+json"}
    moved = await api.patch(f"{BASE}/{name}", json=patch, headers=headers)
    assert moved.status_code == 200, moved.text
    synced = await wait_synced(api, name)
    assert synced["status"]["appliedVersion"] == int(moved.json()["metadata"]["resourceVersion"])
    return synced


def fresh_clone(stack: DevStack) -> Path:
    clone = stack.state_dir.parent / "gitops-clone"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    argv = ["git", "clone", "--quiet", str(stack.state_dir / "gitops.git"), str(clone)]
    cloned = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert cloned.returncode == 0, cloned.stderr
    return clone


async def promotion_moves_it(stack: DevStack, api: httpx.AsyncClient) -> None:
    """README: an AppConfig made in dev is promoted to staging, then prod; each step applies it
    to the new environment's cluster and overlay and removes it from the ones it left."""
    created = await api.post(BASE, json=body("shopfront", app="shopfront", replicas=2))
    assert created.status_code == 201, created.text
    synced = await wait_synced(api, "shopfront")
    assert set(synced["status"]["targets"]) == {"dev", "gitops-dev"}
    await held_only_by(stack, "shopfront", synced["status"]["appliedVersion"], "dev")

    for environment in ("staging", "prod"):
        synced = await promote(api, "shopfront", environment)
        cluster, overlay = CLUSTER_OF[environment], f"gitops-{environment}"
        targets = synced["status"]["targets"]
        assert set(targets) == {cluster, overlay}, synced["status"]
        assert targets[cluster]["resourceVersion"], targets  # named by kind, not by name
        assert targets[overlay]["commit"], targets
        await held_only_by(stack, "shopfront", synced["status"]["appliedVersion"], environment)

    if KUBECTL_INSTALLED:
        clone = fresh_clone(stack)
        built = {env: kustomize(clone, f"clusters/{env}") for env in ENVIRONMENTS}
        assert built == {"dev": [], "staging": [], "prod": [f"{NS}/shopfront"]}, built
    state = str(stack.state_dir)
    listed = rendersync("targets", "list", "-o", "json", "--state-dir", state)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    counts = {line["name"]: (line["keys"], line["synced"]) for line in json.loads(listed.stdout)}
    assert counts == {
        "dev": (0, 0),
        "prod": (1, 1),
        "gitops-dev": (0, 0),
        "gitops-staging": (0, 0),
        "gitops-prod": (1, 1),
    }, counts

    deleted = await api.delete(f"{BASE}/shopfront", params={"wait": "synced", "timeout": "20s"})
    assert deleted.status_code in (200, 202), deleted.text
    await held_only_by(stack, "shopfront", None, "prod")


async def failing_sync_and_replay(stack: DevStack, api: httpx.AsyncClient) -> int:
    """A sync the cluster rejects (422) ends Failed; replayed after the fix, it is Synced."""
    await inject_422(stack, "failing")
    assert (await api.post(BASE, json=body("failing", app="failing"))).status_code == 201

    async def failed() -> bool:
        status = (await api.get(f"{BASE}/failing")).json()["status"]
        return bool(status["phase"] == "Failed")

    await eventually(failed, what="failing to be Failed")
    await clear_faults(stack)
    assert await cr_version(stack, "failing") is None
    await replay(stack, f"{NS}/failing")
    version: int = (await wait_synced(api, "failing"))["status"]["appliedVersion"]
    await applied_everywhere(stack, "failing", version)
    return version


async def interrupt_leaves_nothing(stack: DevStack) -> None:
    started = stack.process_ids()
    # temporal, kafka, emulator-dev, emulator-prod, api, relay, bridge, worker
    assert len(started) >= 8, started
    assert await stack.interrupt() == 0, stack.log_tail()

    async def all_gone() -> bool:
        return not alive_in(started)

    await eventually(all_gone, what=f"{alive_in(started)} to exit", timeout_s=10)


async def state_survives(stack: DevStack, api: httpx.AsyncClient, kept: dict[str, int]) -> None:
    for name, version in kept.items():
        reply = await api.get(f"{BASE}/{name}")
        assert reply.status_code == 200, reply.text
        assert int(reply.json()["metadata"]["resourceVersion"]) == version
        assert await workflow_exists(stack, f"{NS}/{name}")
        # The emulator starts empty; the start-up resync brings the CR back.
        await applied_everywhere(stack, name, version)


async def crashed_api_is_restarted(stack: DevStack, api: httpx.AsyncClient) -> None:
    old = stack.child_pid("api")
    os.kill(old, signal.SIGKILL)

    async def back() -> bool:
        if stack.child_pid("api") == old:
            return False
        with contextlib.suppress(httpx.HTTPError):
            return (await api.get("/readyz")).status_code == 200
        return False

    await eventually(back, what="the api to be restarted", timeout_s=60)


@pytest.mark.timeout(300)
async def test_walkthrough(dev_stack: DevStack) -> None:
    await dev_stack.start()
    token = await only_the_admin_token_gets_in(dev_stack)
    headers = dev_stack.admin_headers
    async with httpx.AsyncClient(
        base_url=dev_stack.urls["api"], timeout=60, headers=headers
    ) as api:
        await create_update_delete(dev_stack, api)
        await promotion_moves_it(dev_stack, api)
        kept = {"failing": await failing_sync_and_replay(dev_stack, api)}
    head = git(dev_stack, "rev-parse", "main").stdout.strip()
    await interrupt_leaves_nothing(dev_stack)

    await dev_stack.start()
    assert (dev_stack.state_dir / "admin-token").read_text() == token, "the token is kept"
    async with httpx.AsyncClient(
        base_url=dev_stack.urls["api"], timeout=60, headers=headers
    ) as api:
        await state_survives(dev_stack, api, kept)
        await crashed_api_is_restarted(dev_stack, api)
    ancestry = git(dev_stack, "merge-base", "--is-ancestor", head, "main")
    assert ancestry.returncode == 0, "Git history was rewritten across the restart"
    await interrupt_leaves_nothing(dev_stack)
