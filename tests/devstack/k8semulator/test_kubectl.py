"""The real kubectl against the emulator: apply the CRD, create, list, watch, refuse, delete."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import pytest

from rendersync.devstack.k8semulator import Emulator

KUBECTL = shutil.which("kubectl")
CRD_FILE = Path(__file__).resolve().parents[3] / "k8s" / "manifests" / "crd.yaml"

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed on this machine")

VALID = """
apiVersion: rendersync.dev/v1alpha1
kind: AppConfig
metadata:
  name: web
  labels: {app.kubernetes.io/managed-by: rendersync}
  annotations: {rendersync.dev/version: "REV"}
spec:
  app: web
  environment: prod
  replicas: REPLICAS
"""


class Kubectl:
    def __init__(self, emulator: Emulator, home: Path) -> None:
        assert emulator.kubeconfig_path is not None
        assert KUBECTL is not None
        self.base = [
            KUBECTL,
            "--kubeconfig",
            str(emulator.kubeconfig_path),
            "--cache-dir",
            str(home / "cache"),
            "--request-timeout",
            "10s",
        ]
        # A private HOME keeps the user's kubectl cache and config out of the test.
        self.env = {**os.environ, "HOME": str(home)}
        self.env.pop("KUBECONFIG", None)

    async def start(self, *args: str, stdin: bytes | None = None) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *self.base,
            *args,
            env=self.env,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    async def run(self, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        data = stdin.encode() if stdin is not None else None
        proc = await self.start(*args, stdin=data)
        out, err = await asyncio.wait_for(proc.communicate(data), timeout=30)
        return proc.returncode or 0, out.decode(), err.decode()

    async def ok(self, *args: str, stdin: str | None = None) -> str:
        code, out, err = await self.run(*args, stdin=stdin)
        assert code == 0, f"kubectl {' '.join(args)} failed: {err}"
        return out


def _manifest(rev: int, replicas: int) -> str:
    return VALID.replace("REV", str(rev)).replace("REPLICAS", str(replicas))


async def _read_until(stream: asyncio.StreamReader, needle: str, seen: list[str]) -> None:
    deadline = time.monotonic() + 15
    while not any(needle in line for line in seen):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"never saw {needle!r} in {seen}"
        line = await asyncio.wait_for(stream.readline(), timeout=remaining)
        assert line, f"stream ended before {needle!r}: {seen}"
        seen.append(line.decode())


@pytest.mark.timeout(90)
async def test_kubectl_round_trip(tmp_path: Path) -> None:
    from rendersync.devstack.k8semulator import running_emulator

    async with running_emulator(kubeconfig_out=tmp_path / "kubeconfig") as emulator:
        kubectl = Kubectl(emulator, tmp_path)
        assert "created" in await kubectl.ok("apply", "-f", str(CRD_FILE))
        assert "created" in await kubectl.ok("apply", "-f", "-", stdin=_manifest(1, 2))
        listing = await kubectl.ok("get", "appconfigs")
        assert listing.split("\n")[0].split() == [
            "NAME",
            "APP",
            "ENV",
            "REPLICAS",
            "VERSION",
            "SYNCED",
            "AGE",
        ]
        assert listing.split("\n")[1].split()[:5] == ["web", "web", "prod", "2", "1"]

        watch = await kubectl.start("get", "ac", "-w")
        assert watch.stdout is not None
        seen: list[str] = []
        try:
            await _read_until(watch.stdout, "web", seen)
            await kubectl.ok("apply", "-f", "-", stdin=_manifest(2, 3))
            await _read_until(watch.stdout, "3   ", seen)
        finally:
            watch.terminate()
            await watch.wait()
        assert seen[-1].split()[:5] == ["web", "web", "prod", "3", "2"]

        code, _, err = await kubectl.run(
            "apply", "-f", "-", stdin=_manifest(3, 1).replace("name: web", "name: bad")
        )
        assert code != 0
        assert 'AppConfig "bad" is invalid' in err
        assert "spec.replicas" in err

        described = await kubectl.ok("describe", "ac", "web")
        assert "Environment:  prod" in described
        assert "deleted" in await kubectl.ok("delete", "ac", "web")
        code, _, err = await kubectl.run("get", "ac", "web")
        assert code != 0
        assert "NotFound" in err
