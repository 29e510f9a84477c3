"""Lighter processes: the relay and the bridge load only the clients they use, whether
assembled alone or started by the ``rendersync`` command; its parsers load no client; the API
loads the Kubernetes client only when a preview or a Kubernetes-backed check needs it, and the
Temporal client only when a replay does."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rendersync.cli import build_parser
from rendersync.subcommands import Deferred

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

#: Runs ``rendersync ARGS`` (``rendersync.cli.main``) in a fresh interpreter, the relay's and
#: the bridge's I/O replaced by no-ops as above, and prints the top-level packages loaded.
_COMMAND = """
import contextlib, io, json, sys

async def nothing(*args, **kwargs):
    return None

argv = sys.argv[1:]
if argv == ["relay"]:
    from worker import relay
    relay.run_relay = nothing
elif argv == ["bridge"]:
    from rendersync import wiring
    from worker.bridge import Bridge
    wiring.connect_temporal = nothing
    Bridge.run = nothing
from rendersync import cli
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    cli.main(argv)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""

#: Builds the API app with the default settings (a Kubernetes and a Git target, so a dry-run
#: client per Kubernetes target for previews) and prints the top-level packages loaded.
_API = """
import json, sys
from rendersync import processes
from rendersync.settings import Settings

processes.build_app(Settings(), migrate=False)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""

WEB_AND_KUBERNETES = {"fastapi", "starlette", "uvicorn", "kubernetes_asyncio", "api", "k8s"}
#: What no process but the API loads: the web framework and the Kubernetes client.
WEB_AND_KUBERNETES_CLIENTS = {"fastapi", "starlette", "uvicorn", "kubernetes_asyncio", "k8s"}
CLIENTS = WEB_AND_KUBERNETES_CLIENTS | {"temporalio", "workflows", "aiokafka", "sqlalchemy"}


def loaded_by(script: str, *args: str, cwd: Path | None = None) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENDERSYNC_")}
    env |= {"RENDERSYNC_METRICS__RELAY_PORT": "0", "RENDERSYNC_METRICS__BRIDGE_PORT": "0"}
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
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
    loaded = loaded_by(_ASSEMBLE, kind)
    assert needs <= loaded
    assert loaded & forbidden == set()


def test_the_api_loads_no_kubernetes_or_temporal_client_before_it_needs_one(
    tmp_path: Path,
) -> None:
    loaded = loaded_by(_API, cwd=tmp_path)
    assert {"fastapi", "sqlalchemy", "k8s"} <= loaded
    assert loaded & {"kubernetes_asyncio", "temporalio", "workflows"} == set()


def test_building_the_command_line_loads_no_client() -> None:
    loaded = loaded_by(_COMMAND, "--help")
    assert loaded & (CLIENTS | {"httpx"}) == set()


@pytest.mark.parametrize(
    ("kind", "needs", "forbidden"),
    [
        (
            "relay",
            {"aiokafka", "sqlalchemy"},
            WEB_AND_KUBERNETES_CLIENTS | {"temporalio", "workflows", "httpx"},
        ),
        ("bridge", {"aiokafka", "sqlalchemy", "temporalio"}, WEB_AND_KUBERNETES_CLIENTS),
    ],
)
def test_process_started_by_the_command_loads_only_its_clients(
    kind: str, needs: set[str], forbidden: set[str], tmp_path: Path
) -> None:
    loaded = loaded_by(_COMMAND, kind, cwd=tmp_path)
    assert needs <= loaded
    assert loaded & forbidden == set()


def subcommands(
    parser: argparse.ArgumentParser, path: str = "rendersync"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every leaf subcommand of ``parser``, by its command line."""
    chosen = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not chosen:
        yield path, parser
    for action in chosen:
        for name, child in action.choices.items():
            yield from subcommands(child, f"{path} {name}")


def test_every_subcommand_names_a_function_that_exists() -> None:
    found = dict(subcommands(build_parser()))
    assert "rendersync relay" in found
    for line, parser in found.items():
        run = parser.get_default("run")
        assert isinstance(run, Deferred), line
        assert callable(run.resolve()), line


def test_a_subcommand_importing_its_clients_late_logs_no_import_chatter(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENDERSYNC_")}
    env["RENDERSYNC_DB__URL"] = f"sqlite:///{tmp_path / 'rendersync.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "rendersync.cli", "db", "upgrade"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert "setup plugin" not in done.stderr
    assert "database schema at head" in done.stderr
