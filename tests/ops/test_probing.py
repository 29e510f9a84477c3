"""Target health checks (``targets list``'s HEALTH): real servers that answer, refuse or
hang, and real Git remotes; every target is probed at once, each within its timeout."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

from k8s.manifests import load_crd
from rendersync.devstack.k8semulator import running_emulator
from rendersync.devstack.k8semulator.kubeconfig import CONTEXT, write_kubeconfig
from rendersync.ops.probing import HEALTH_OK, HEALTH_UNREACHABLE, probe_all
from rendersync.settings import GitTargetSettings, KubernetesTargetSettings

TIMEOUT_S = 1.0
Target = KubernetesTargetSettings | GitTargetSettings


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """A server that accepts connections and never answers: its URL."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for writer in held:
            writer.close()


async def test_every_target_is_probed_at_once_and_each_failure_stays_its_own(
    tmp_path: Path, git_remote: Path
) -> None:
    def kubeconfig(name: str, url: str) -> Path:
        return write_kubeconfig(tmp_path / name / "kubeconfig", url)

    async with (
        running_emulator(kubeconfig_out=tmp_path / "live" / "kubeconfig", crds=[load_crd()]) as emu,
        silent_server() as silent_a,
        silent_server() as silent_b,
    ):
        assert emu.kubeconfig_path is not None
        live = emu.kubeconfig_path
        refused_url = f"http://127.0.0.1:{closed_port()}"
        # name -> (target, health, where contains, reason contains)
        cases: dict[str, tuple[Target, str, str, str]] = {
            "live": (KubernetesTargetSettings(kubeconfig=live), HEALTH_OK, emu.url, ""),
            "silent-a": (
                KubernetesTargetSettings(kubeconfig=kubeconfig("a", silent_a)),
                HEALTH_UNREACHABLE,
                f"{CONTEXT} {silent_a}",
                f"no answer within {TIMEOUT_S:g}s",
            ),
            "silent-b": (
                KubernetesTargetSettings(kubeconfig=kubeconfig("b", silent_b)),
                HEALTH_UNREACHABLE,
                silent_b,
                "no answer",
            ),
            "refused": (
                KubernetesTargetSettings(kubeconfig=kubeconfig("refused", refused_url)),
                HEALTH_UNREACHABLE,
                refused_url,
                "Cannot connect",
            ),
            "no-context": (
                KubernetesTargetSettings(kubeconfig=live, context="elsewhere"),
                HEALTH_UNREACHABLE,
                "elsewhere",
                "elsewhere",
            ),
            "gitops": (
                GitTargetSettings(remote=str(git_remote), branch="main"),
                HEALTH_OK,
                f"{git_remote} main appconfigs/",
                "",
            ),
            "gitops-new-branch": (
                GitTargetSettings(remote=str(git_remote), branch="fresh"),
                HEALTH_OK,
                "fresh",
                "branch 'fresh' does not exist yet",
            ),
            "gitops-gone": (
                GitTargetSettings(remote=str(tmp_path / "gone.git"), branch="main"),
                HEALTH_UNREACHABLE,
                "gone.git",
                "gone.git",
            ),
        }
        started = time.monotonic()

        probes = await probe_all({n: c[0] for n, c in cases.items()}, timeout_s=TIMEOUT_S)

        elapsed = time.monotonic() - started
    assert list(probes) == list(cases)
    for name, (_, health, where, reason) in cases.items():
        found = probes[name]
        assert found.health == health, (name, found)
        assert where in found.where, (name, found)
        assert reason in found.reason, (name, found)
        assert "\n" not in found.reason
    # Two silent servers each hold their probe for the whole timeout: concurrently, the
    # listing takes one timeout, not two.
    assert TIMEOUT_S <= elapsed < 2 * TIMEOUT_S
