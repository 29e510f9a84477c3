"""Reading an AppConfig's file at the tip of the GitOps branch, for the API's previews.

Read only, and apart from the worker's working clone (which one writer owns): a bare
repository of this process, in a temporary folder, takes a shallow fetch of the branch tip
per read, then ``git show <tip>:<path>``. The git commands and their error classes are the
sync's (``gitops.command``); the path is the one the Git activity writes, the target's layout
(``gitops.layout.GitLayout.file``).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import weakref
from pathlib import Path

from api.web.previewing import GitTip
from gitops.command import failure, run_git
from gitops.layout import GitLayout

_TIP = "refs/preview/tip"


def _absolute(remote: str) -> str:
    """A local remote given relative to the working directory, made absolute: git runs in
    the bare repository's folder."""
    local = Path(remote)
    return str(local.resolve()) if "://" not in remote and local.exists() else remote


class GitTipReader:
    """``read`` answers what the branch tip holds for a key at ``layout``'s path (the
    default layout: ``appconfigs/{namespace}/{name}.yaml``); concurrent reads take turns."""

    def __init__(
        self,
        *,
        remote: str,
        branch: str,
        layout: GitLayout | None = None,
        command_timeout_s: float = 30.0,
    ) -> None:
        self.remote = remote
        self.branch = branch
        self.layout = layout or GitLayout()
        self._timeout = command_timeout_s
        self._lock = asyncio.Lock()
        self._dir: Path | None = None

    async def read(self, namespace: str, name: str, environment: str = "") -> GitTip:
        """The branch tip's commit and the key's file, placed by ``environment`` where the
        layout says so (None when absent; a commit of None: the branch does not exist yet).
        Git errors leave as ``gitops.command.GitError``."""
        path = self.layout.file(namespace, name, environment)
        async with self._lock:
            repo = await self._repository()
            refspec = f"+refs/heads/{self.branch}:{_TIP}"
            fetched = await run_git(
                *("fetch", "--depth=1", "--no-tags", "--quiet", _absolute(self.remote), refspec),
                cwd=repo,
                limit_seconds=self._timeout,
                check=False,
            )
            if not fetched.ok:
                if "couldn't find remote ref" in fetched.stderr:
                    return GitTip(path=path, commit=None, text=None)
                raise failure(f"git fetch {self.remote} {self.branch}", fetched)
            commit = await run_git("rev-parse", _TIP, cwd=repo, limit_seconds=self._timeout)
            listed = await run_git(
                "ls-tree", "--name-only", _TIP, "--", path, cwd=repo, limit_seconds=self._timeout
            )
            text = None
            if listed.stdout.strip():
                shown = await run_git(
                    "show", f"{_TIP}:{path}", cwd=repo, limit_seconds=self._timeout
                )
                text = shown.stdout
        return GitTip(path=path, commit=commit.stdout.strip(), text=text)

    async def _repository(self) -> Path:
        if self._dir is None:
            folder = Path(tempfile.mkdtemp(prefix="rendersync-preview-"))
            weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
            await run_git("init", "--bare", "--quiet", cwd=folder, limit_seconds=self._timeout)
            self._dir = folder
        return self._dir
