"""The memory the benchmark reports for a process and its descendants counts each page once."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest

from bench.cost import _family, _rss

#: Holds 200 MiB and forks; the child waits, as a ``git`` between its fork and its exec.
FORKING = """
import os, signal
held = b"x" * (200 * 1024 * 1024)
child = os.fork()
if child == 0:
    signal.pause()  # until the test kills it
    os._exit(0)
print(child, flush=True)
signal.pause()
"""


@pytest.mark.timeout(60)
def test_a_forked_child_adds_only_what_it_holds_alone() -> None:
    parent = subprocess.Popen([sys.executable, "-c", FORKING], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert [p.pid for p in _family(parent.pid)] == [parent.pid, child]
        own = psutil.Process(parent.pid).memory_info().rss
        shared_twice = own + psutil.Process(child).memory_info().rss
        assert shared_twice > 1.8 * own  # the child's resident set shows the parent's pages
        assert own <= _rss(parent.pid) < 1.2 * own
    finally:
        for process in _family(parent.pid)[::-1]:
            process.kill()
        parent.wait(timeout=10)
