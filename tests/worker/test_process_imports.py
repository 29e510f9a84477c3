"""Lighter processes: the relay and the bridge assemble without the clients they do not use."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

#: Assembles the process in a fresh interpreter (its I/O replaced by no-ops: nothing
#: connects) and prints the top-level packages loaded by then.
_ASSEMBLE = """
import asyncio, json, sys
from rendersync import processes, wiring
from rendersync.settings import Settings

async def nothing(*args, **kwargs):
    return None

kind = sys.argv[1]
if kind == "relay":
    from worker import relay
    relay.run_relay = nothing
    main = processes.relay_main
else:
    from worker.bridge import Bridge
    wiring.connect_temporal = nothing
    Bridge.run = nothing
    main = processes.bridge_main
asyncio.run(main(Settings(), asyncio.Event()))
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""

WEB_AND_KUBERNETES = {"fastapi", "starlette", "uvicorn", "kubernetes_asyncio", "api", "k8s"}


def loaded_by(kind: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENDERSYNC_")}
    done = subprocess.run(
        [sys.executable, "-c", _ASSEMBLE, kind],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    ("kind", "needs", "forbidden"),
    [
        ("relay", {"aiokafka", "sqlalchemy"}, WEB_AND_KUBERNETES | {"temporalio", "workflows"}),
        ("bridge", {"aiokafka", "sqlalchemy", "temporalio"}, WEB_AND_KUBERNETES),
    ],
)
def test_process_loads_only_its_clients(kind: str, needs: set[str], forbidden: set[str]) -> None:
    loaded = loaded_by(kind)
    assert needs <= loaded
    assert not loaded & forbidden
