"""The dev stack's own files in the state directory: the lock, the PID file, the Git remote.

``dev.lock`` keeps two ``rendersync dev`` from sharing one state directory (their SQLite
files and Git repository would interleave). ``dev-pids.json`` lists the supervisor's and every
running child's PID while the stack runs, so tools and tests can check that none is left.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from pathlib import Path
from typing import IO

from rendersync.devstack.environments import first_commit_files
from rendersync.devstack.services.gitremote import init_bare_repo

logger = logging.getLogger(__name__)

LOCK_FILE = "dev.lock"
PIDS_FILE = "dev-pids.json"


class StateDirInUseError(RuntimeError):
    """Another ``rendersync dev`` holds the state directory."""


def lock_state_dir(state_dir: Path) -> IO[str]:
    """Take the state directory's lock for the life of the returned file (close to release).

    Raises :class:`StateDirInUseError` naming the holder's PID if another process has it.
    The lock is an ``flock``: it goes away with its holder, however that ends.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    handle = (state_dir / LOCK_FILE).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise StateDirInUseError(
            f"{state_dir} is in use by another `rendersync dev` (pid {holder}); stop it or "
            "pass another --state-dir"
        ) from None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def prepare_state_dir(state_dir: Path, *, branch: str) -> None:
    """Create the Git remote once, with an empty overlay per environment, and drop the last
    run's kubeconfig.

    The kubeconfig is written anew once the emulators listen; removing the old one means
    nobody reads a file pointing at emulators that are not up yet.
    """
    gitops = state_dir / "gitops.git"
    if not (gitops / "HEAD").exists():
        init_bare_repo(gitops, branch=branch, files=first_commit_files())
    with contextlib.suppress(FileNotFoundError):
        (state_dir / "kubeconfig").unlink()


def write_pids(state_dir: Path, children: dict[str, int]) -> None:
    path = state_dir / PIDS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"supervisor": os.getpid(), "children": children}, indent=2))
    tmp.replace(path)


def remove_pids(state_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (state_dir / PIDS_FILE).unlink()
