"""`rendersync dev` failing to start: a taken port or a child dying at start-up gives one clear
message and a non-zero exit, promptly, with nothing left running."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from rendersync.devstack.ports import bindable
from rendersync.devstack.statefiles import lock_state_dir
from tests.pipeline.e2e.conftest import PORT_FLAGS, DevStack

HOST = "127.0.0.1"


def run_dev(stack: DevStack, *, timeout_s: float) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "rendersync.cli", "dev", "--state-dir", str(stack.state_dir)]
    for flag, port in stack.ports.items():
        argv += [flag, str(port)]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout_s)


def test_taken_port_is_named(dev_stack: DevStack) -> None:
    port = dev_stack.ports["--k8s-port"]
    with socket.socket() as squatter:
        squatter.bind((HOST, port))
        squatter.listen()
        done = run_dev(dev_stack, timeout_s=60)
    assert done.returncode == 1
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith("rendersync dev: port"), done.stderr
    assert str(port) in message
    assert "--k8s-port" in message
    assert done.stdout == ""


@pytest.mark.timeout(240)
def test_child_dying_at_start_stops_the_stack(dev_stack: DevStack) -> None:
    # A directory where the SQLite file should be: the API cannot migrate and exits.
    (dev_stack.state_dir / "rendersync.db").mkdir(parents=True)
    started = time.monotonic()
    done = run_dev(dev_stack, timeout_s=200)
    tail = done.stderr[-3000:]
    assert done.returncode == 1, tail
    assert "rendersync dev: api exited during start-up with status" in done.stderr, tail
    assert "ready" not in done.stdout
    assert time.monotonic() - started < 150
    taken = [flag for flag in PORT_FLAGS if not bindable(HOST, dev_stack.ports[flag])]
    assert not taken, f"still listening after exit: {taken}"
    assert not (dev_stack.state_dir / "dev-pids.json").exists()


def test_state_dir_of_a_running_stack_is_refused(dev_stack: DevStack) -> None:
    with lock_state_dir(dev_stack.state_dir):
        done = run_dev(dev_stack, timeout_s=60)
    assert done.returncode == 1
    assert "is in use by another `rendersync dev`" in done.stderr
