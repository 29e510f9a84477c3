"""A local bare Git repository standing in for the GitOps remote Argo CD or Flux would watch."""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

logger = logging.getLogger(__name__)

_IDENTITY = ("-c", "user.name=rendersync", "-c", "user.email=rendersync@localhost")


def init_bare_repo(
    path: Path, *, branch: str = "main", files: Mapping[str, str] | None = None
) -> Path:
    """Create a bare repository at ``path`` whose ``branch`` holds one commit of ``files``
    (relative path → text; none: an empty commit); return it.

    The commit gives clones a branch to check out and push to. Fails with
    ``subprocess.CalledProcessError`` if ``path`` already holds a repository with that branch
    or the ``git`` CLI fails; never touches the caller's Git configuration.
    """
    path.mkdir(parents=True, exist_ok=True)
    _git(path, "init", "--quiet", "--bare", f"--initial-branch={branch}", ".")
    tree = _tree_of(path, files or {})
    commit = _git(path, "commit-tree", tree, "-m", "Initialise repository")
    # The empty old value makes update-ref fail if the branch already exists.
    _git(path, "update-ref", f"refs/heads/{branch}", commit, "")
    logger.info("initialised bare repository %s on %s at %s", path, branch, commit[:12])
    return path


def _tree_of(repo: Path, files: Mapping[str, str]) -> str:
    """Write ``files`` into ``repo`` as a tree, through an index of its own; its hash."""
    with tempfile.TemporaryDirectory() as scratch:
        index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        for name, text in sorted(files.items()):
            blob = _git(repo, "hash-object", "-w", "--stdin", stdin=text)
            _git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=index)
        return _git(repo, "write-tree", env=index)


def _git(
    cwd: Path, *args: str, stdin: str | None = None, env: Mapping[str, str] | None = None
) -> str:
    # GIT_DIR etc. from an enclosing repository or hook must not redirect these commands.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    result = subprocess.run(
        ["git", *_IDENTITY, *args],
        cwd=cwd,
        env={**inherited, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()
