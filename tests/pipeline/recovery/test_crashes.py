"""Crashes and restarts (guarantees 1-3 and 6): a worker SIGKILLed mid-activity, a bridge
SIGKILLed mid-stream, and the Temporal server restarted on its history file all converge,
with no target ever going back to an older version and no change lost."""

from __future__ import annotations

import asyncio
import functools
import subprocess

from k8s.applying import read_appconfig
from tests.pipeline.recovery.conftest import Stack
from tests.support.builders import body
from tests.support.pipeline import (
    VersionLog,
    assert_non_decreasing,
    version_in_yaml,
    watching,
)
from tests.support.waiting import eventually

MERGE = {"content-type": "application/merge-patch+json"}
CR_PATH = "/apis/rendersync.dev/v1alpha1/namespaces/.*/appconfigs"


def git_file(stack: Stack, name: str) -> str | None:
    result = subprocess.run(
        ["git", "--git-dir", str(stack.remote), "show", f"main:appconfigs/{stack.ns}/{name}.yaml"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout if result.returncode == 0 else None


async def converged(stack: Stack, name: str, version: int) -> bool:
    cr = await read_appconfig(stack.kube, namespace=stack.ns, name=name)
    text = git_file(stack, name)
    return (
        cr is not None
        and int(cr["metadata"]["annotations"]["rendersync.dev/version"]) == version
        and text is not None
        and version_in_yaml(text) == version
    )


async def write_changes(stack: Stack, names: list[str], rounds: int) -> dict[str, int]:
    """Create the keys, update each ``rounds`` times; returns each key's final version."""
    finals: dict[str, int] = {}
    for name in names:
        response = await stack.api.post(stack.base, json=body(name))
        assert response.status_code == 201, response.text
    for i in range(rounds):
        for name in names:
            response = await stack.api.patch(
                f"{stack.base}/{name}", json={"spec": {"replicas": i + 1}}, headers=MERGE
            )
            finals[name] = int(response.json()["metadata"]["resourceVersion"])
    return finals


async def all_converged(
    stack: Stack, finals: dict[str, int], log: VersionLog, timeout_s: float = 90
) -> None:
    """Every key reaches its final version on both targets, never having gone back."""
    for name, version in finals.items():
        await eventually(
            functools.partial(converged, stack, name, version),
            timeout_s=timeout_s,
            what=f"{name} at v{version}",
        )
        assert_non_decreasing(log.seen.get(name, []), f"CR {name}")
        assert_non_decreasing(git_versions(stack, name), f"Git file of {name}")


def git_versions(stack: Stack, name: str) -> list[int]:
    path = f"appconfigs/{stack.ns}/{name}.yaml"
    git = ["git", "--git-dir", str(stack.remote)]
    shas = subprocess.run(
        [*git, "log", "--reverse", "--format=%H", "main", "--", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    shown = [
        subprocess.run([*git, "show", f"{sha}:{path}"], capture_output=True, text=True, check=False)
        for sha in shas
    ]
    return [version_in_yaml(s.stdout) for s in shown if s.returncode == 0]


async def test_worker_killed_mid_activity_is_replaced_and_converges(stack: Stack) -> None:
    for name in ("relay", "bridge", "worker"):
        stack.start(name)
    async with watching(stack.kube, stack.ns) as log:
        # The first apply hangs in the emulator; the worker is killed while it waits.
        stack.emulator.faults.add(method="POST", path_regex=CR_PATH, latency_s=30.0, count=1)
        finals = await write_changes(stack, ["slow"], rounds=1)

        async def in_flight() -> bool:
            return stack.emulator.faults.list() == []

        await eventually(in_flight, what="the apply to reach the emulator")
        stack.kill("worker")
        more = await write_changes(stack, ["after-kill"], rounds=2)
        stack.start("worker")
        await all_converged(stack, {**finals, **more}, log)


async def test_bridge_killed_mid_stream_loses_nothing(stack: Stack) -> None:
    for name in ("relay", "bridge", "worker"):
        stack.start(name)
    names = [f"key-{i}" for i in range(5)]
    async with watching(stack.kube, stack.ns) as log:
        writer = asyncio.create_task(write_changes(stack, names, rounds=6))
        await eventually(lambda: _any_cr(stack, names), what="some changes to reach the cluster")
        stack.kill("bridge")
        finals = await writer
        stack.start("bridge")
        await all_converged(stack, finals, log)


async def test_temporal_restart_on_its_history_file_converges(stack: Stack) -> None:
    for name in ("relay", "bridge", "worker"):
        stack.start(name)
    async with watching(stack.kube, stack.ns) as log:
        first = await write_changes(stack, ["a", "b"], rounds=2)
        await all_converged(stack, first, log)
        await stack.temporal.astop()
        later = {**first, **await write_changes(stack, ["c"], rounds=2)}  # Temporal is down
        for name in ("a", "b"):
            response = await stack.api.patch(
                f"{stack.base}/{name}", json={"spec": {"replicas": 7}}, headers=MERGE
            )
            later[name] = int(response.json()["metadata"]["resourceVersion"])
        await stack.restart_temporal()
        await all_converged(stack, later, log, timeout_s=120)


async def _any_cr(stack: Stack, names: list[str]) -> bool:
    for name in names:
        if await read_appconfig(stack.kube, namespace=stack.ns, name=name) is not None:
            return True
    return False
