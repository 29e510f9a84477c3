"""The blocking ``serve`` entry point: starts on a free port, writes a kubeconfig, installs
the CRD on request, and exits 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
import yaml

from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = """
import sys
from pathlib import Path
from rendersync.devstack.k8semulator import serve
sys.exit(serve(host="127.0.0.1", port=0, kubeconfig_out=Path(sys.argv[1]), install_crd=True))
"""


async def _wait_for_file(path: Path, proc: asyncio.subprocess.Process) -> None:
    async def written() -> bool:
        assert proc.returncode is None, "serve exited early"
        return await asyncio.to_thread(path.exists)

    await eventually(written, timeout_s=20, what="the kubeconfig", interval_s=0.05)


async def test_serve_until_sigterm(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SCRIPT, str(kubeconfig), cwd=ROOT
    )
    try:
        await _wait_for_file(kubeconfig, proc)
        url = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
        async with aiohttp.ClientSession() as http:
            crd_path = (
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/appconfigs.rendersync.dev"
            )
            async with http.get(url + crd_path) as resp:
                assert resp.status == 200
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
