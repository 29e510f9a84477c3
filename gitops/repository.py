"""Writing rendered AppConfigs into a GitOps repository: fenced commits (one per change, or one
per batch of writers that waited for the repository), pushed with fetch-and-rebase retries."""

from __future__ import annotations

import asyncio
import logging
import shutil
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from gitops.command import (
    GitError,
    GitOutput,
    GitPermanentError,
    GitTransientError,
    failure,
    run_git,
)
from gitops.files import (
    Change,
    Staged,
    batch_message,
    check_path,
    file_version,
    write_change,
)
from gitops.layout import KUSTOMIZATION_FILE, GitLayout
from vocabulary import RowCheck, holds_newer

__all__ = ["GitError", "GitPermanentError", "GitRepository", "GitResult", "GitTransientError"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GitResult:
    """Outcome of one write: the branch tip after it, whether a commit was pushed, and
    whether the file already held a newer version (so nothing was written). ``superseded``:
    the row check refused the write (nothing written; ``skipped_newer`` is then true too)."""

    commit: str
    changed: bool
    skipped_newer: bool
    superseded: bool = False


class GitRepository:
    """A working clone of one branch of a GitOps repository, owned by this process.

    Nothing happens at construction. Every operation first syncs the clone to the remote
    branch tip (fetch, then a hard reset: local state is disposable), so the workdir must
    not be shared with other processes or people. Writes are serialised by an
    ``asyncio.Lock`` held across the whole read-modify-commit-push sequence; the lock lives
    in a class-level registry keyed by event loop and resolved workdir, so several instances
    for the same workdir in one process still take turns.

    Errors: `GitPermanentError` (remote missing, credentials refused, invalid path, push
    declined by a hook) should fail fast; `GitTransientError` (network, timeouts, lock files,
    a push still rejected after ``push_attempts``) should be retried by the caller.
    """

    _locks: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, asyncio.Lock]]]
    _locks = weakref.WeakKeyDictionary()
    _queues: ClassVar[
        weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[Path, list[tuple[Change, asyncio.Future[GitResult]]]]
        ]
    ]
    _queues = weakref.WeakKeyDictionary()

    def __init__(
        self,
        *,
        remote: str,
        branch: str = "main",
        workdir: Path,
        author_name: str,
        author_email: str,
        push_attempts: int = 5,
        command_timeout: float = 120.0,
    ) -> None:
        if push_attempts < 1:
            raise ValueError("push_attempts must be at least 1")
        self.remote = remote
        self.branch = branch
        self.workdir = Path(workdir)
        self.push_attempts = push_attempts
        # Every command gets the identity, so commits and rebases never read (or need) the
        # machine's git config; signing configured there must not block an unattended commit.
        self._config = (
            *("-c", f"user.name={author_name}", "-c", f"user.email={author_email}"),
            *("-c", "commit.gpgsign=false"),
        )
        self._timeout = command_timeout
        self._origin = f"refs/remotes/origin/{branch}"
        self._configured = False
        #: The clone is at the tip this process last pushed or fetched. A push validates it
        #: (a stale clone is rejected, then fetched and rebased), so a write that will push
        #: can skip the fetch; a result that pushes nothing is always re-checked fresh.
        self._fresh = False

    # -- public API ------------------------------------------------------------------------

    async def ensure_clone(self) -> str:
        """Make or refresh the working clone and return the branch tip.

        Idempotent. Initialises ``workdir`` if it is not a clone yet, fetches the branch and
        hard-resets to it. If the remote is empty or lacks the branch, creates it with an
        empty root commit and pushes, so GitOps tools have a branch to watch before the
        first change; if another writer creates it first, that branch is adopted instead.
        """
        async with self._lock():
            return await self._sync()

    async def apply_file(
        self,
        *,
        path: str,
        content: str,
        version: int,
        message: str,
        row_check: RowCheck | None = None,
        layout: GitLayout | None = None,
    ) -> GitResult:
        """Write ``content`` (a rendered resource carrying the ``rendersync.dev/version``
        annotation) to ``path`` and push one commit with ``message``.

        ``row_check`` is evaluated when the write is staged, under the repository lock, so it
        is serialised with every other write of this clone (a delete's removal included): a
        refusal writes nothing (``superseded``). A cancelled caller that still waits for the
        lock is withdrawn, so no later lock holder writes its change.

        Idempotent: identical content makes no commit (``changed=False``). Fenced: if the
        file already holds a greater version it is left alone (``skipped_newer=True``), also
        when a concurrent writer pushed it between our fetch and our push; unless it is above
        the version ``row_check`` gives (hand-edited drift, see ``holds_newer``): overwritten.
        A rejected push is retried after fetch-and-rebase up to ``push_attempts`` times, then
        `GitTransientError`; `remove_file` retries the same way. With a ``layout`` that has a
        kustomization folder, its ``kustomization.yaml`` is rewritten in the same commit.
        """
        return await self._write(Change(path, content, version, message, row_check, layout))

    async def remove_file(
        self,
        *,
        path: str,
        version: int,
        message: str,
        row_check: RowCheck | None = None,
        layout: GitLayout | None = None,
    ) -> GitResult:
        """Remove ``path`` if the file's version is at most ``version`` and push one commit.

        Idempotent: a missing file is success with ``changed=False``. A file holding a
        greater version (a newer incarnation of the key) is kept (``skipped_newer=True``),
        unless it is above the version ``row_check`` gives (drift: removed).
        """
        return await self._write(Change(path, None, version, message, row_check, layout))

    # -- sequence ---------------------------------------------------------------------------

    async def _write(self, change: Change) -> GitResult:
        """Queue the change; whoever holds the lock writes every queued change as one batch
        (one commit naming each key and version, one push), so writers waiting for the lock
        cost one push between them instead of one each."""
        check_path(change.path)
        done: asyncio.Future[GitResult] = asyncio.get_running_loop().create_future()
        queue = self._queue()
        queue.append((change, done))
        try:
            async with self._lock():
                if not done.done():
                    batch = list(queue)
                    queue.clear()
                    try:
                        await self._settle(batch)
                    except BaseException:
                        done.exception()  # the cancellation below is what this caller sees
                        raise
        except asyncio.CancelledError:
            # A cancelled attempt (timed out, superseded) must not be written by the next
            # holder of the lock: withdraw it if it is still waiting.
            queue[:] = [entry for entry in queue if entry[1] is not done]
            raise
        return await done

    async def _settle(self, batch: list[tuple[Change, asyncio.Future[GitResult]]]) -> None:
        try:
            results = await self._write_batch([change for change, _ in batch])
        except BaseException as err:
            # Every writer of the batch sees the failure (a cancelled leader's as transient).
            shared = err if isinstance(err, Exception) else GitTransientError("batch interrupted")
            for _, done in batch:
                if not done.done():
                    done.set_exception(shared)
            if not isinstance(err, Exception):
                raise
            return
        for (_, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)

    async def _write_batch(self, changes: list[Change]) -> list[GitResult]:
        # The clone is fresh (its tip and files are what the last push left) only again once
        # this batch succeeds: a batch that fails part-way leaves staged files behind, and the
        # next batch resets them away instead of committing them under its own message.
        fresh, self._fresh = self._fresh, False
        staged: list[Staged] = []
        if fresh:
            staged = await self._stage_all(changes)
        if not staged or any(s is not Staged.STAGED for s in staged):
            # No push would validate the local state for these: decide on the remote's tip.
            await self._sync()
            staged = await self._stage_all(changes)
        if Staged.STAGED in staged:
            await self._commit(batch_message(changes, staged))
            staged = await self._publish(changes, staged)
        self._fresh = True
        head = (await self._git("rev-parse", "HEAD")).stdout.strip()
        return [
            GitResult(
                head,
                changed=s is Staged.STAGED,
                skipped_newer=s in (Staged.SKIPPED_NEWER, Staged.SUPERSEDED),
                superseded=s is Staged.SUPERSEDED,
            )
            for s in staged
        ]

    async def _publish(self, changes: list[Change], staged: list[Staged]) -> list[Staged]:
        """Push; on rejection fetch, rebase (or re-apply the fenced writes) and push again."""
        paths = _staged_paths(changes, staged)
        for attempt in range(1, self.push_attempts + 1):
            if await self._push():
                logger.info("pushed %d change(s): %s", len(paths), ", ".join(paths))
                return staged
            logger.info("push rejected (attempt %d/%d)", attempt, self.push_attempts)
            if attempt == self.push_attempts:
                break
            staged = await self._replay(changes, staged, paths)
            paths = _staged_paths(changes, staged)
            if not paths:
                return staged
        raise GitTransientError(
            f"push to {self.branch} still rejected after {self.push_attempts} attempts"
        )

    async def _replay(
        self, changes: list[Change], staged: list[Staged], paths: list[str]
    ) -> list[Staged]:
        """Put our commit on top of the new remote tip. A plain rebase is only trusted when
        the remote did not touch our files: otherwise a textual merge could mix two versions
        of a resource, so we rewrite the files from scratch with the fence re-checked."""
        await self._fetch()
        theirs = await self._git(
            "diff", "--quiet", "HEAD~1", self._origin, "--", *paths, check=False
        )
        if theirs.returncode == 0:  # the remote did not change our files
            rebased = await self._git("rebase", "--quiet", self._origin, check=False)
            if rebased.ok:
                logger.info("rebased onto the new remote tip")
                return staged
            await self._git("rebase", "--abort", check=False)
        logger.info("our files changed on the remote; rewriting them with the fence re-checked")
        await self._sync()
        staged = await self._stage_all(changes)
        if Staged.STAGED in staged:
            await self._commit(batch_message(changes, staged))
        return staged

    async def _stage(self, change: Change) -> Staged:
        """Stage one change on the clone as it is now (fenced; under the lock)."""
        target = self.workdir / change.path
        current = await asyncio.to_thread(file_version, target)
        ceiling = None if change.row_check is None else await change.row_check()
        if change.row_check is not None and ceiling is None:
            logger.info(
                "%s v%d is no longer the row's version; skipped", change.path, change.version
            )
            return Staged.SUPERSEDED
        if holds_newer(current, version=change.version, ceiling=ceiling):
            logger.info("%s holds version %d > %d; kept", change.path, current, change.version)
            return Staged.SKIPPED_NEWER
        if not await asyncio.to_thread(write_change, self.workdir, change):
            return Staged.UNCHANGED
        await self._git("add", "--all", "--", change.path)
        return Staged.STAGED

    async def _stage_all(self, changes: list[Change]) -> list[Staged]:
        """Stage each change, then rewrite each kustomization file the batch's writes belong
        to once (its listing of the whole folder costs as much for one change as for all). A
        change that wrote nothing counts as staged when its kustomization file changed and no
        other write of the batch explains it: it repaired that file (edited by hand, say)."""
        staged = [await self._stage(c) for c in changes]
        pairs = list(zip(changes, staged, strict=True))
        layouts = {
            c.layout for c, s in pairs if c.layout and s in (Staged.STAGED, Staged.UNCHANGED)
        }
        written = {c.layout for c, s in pairs if s is Staged.STAGED}
        repaired: set[GitLayout] = set()
        for layout in sorted(layouts, key=lambda lay: (lay.kustomization, lay.path)):
            index = await asyncio.to_thread(layout.index, self.workdir)
            if index is not None:
                await self._git("add", "--", index)
                if layout not in written:
                    repaired.add(layout)
        return [
            Staged.STAGED if s is Staged.UNCHANGED and c.layout in repaired else s for c, s in pairs
        ]

    # -- clone and branch -------------------------------------------------------------------

    async def _sync(self) -> str:
        await self._init()
        for _ in range(self.push_attempts):
            if await self._fetch():
                await self._git(
                    "checkout", "--quiet", "--force", "--no-track", "-B", self.branch, self._origin
                )
                await self._git("clean", "-ffdxq")
                return (await self._git("rev-parse", "HEAD")).stdout.strip()
            if await self._create_branch():
                return (await self._git("rev-parse", "HEAD")).stdout.strip()
        raise GitTransientError(f"could not create branch {self.branch} on the remote")

    async def _init(self) -> None:
        """Initialise the clone if needed and point ``origin`` at the configured remote.
        Leftovers of an interrupted run (a rebase in progress, an index.lock of a killed
        command) are cleared: only this process uses the workdir, so they are stale."""
        if not (self.workdir / ".git").is_dir():
            await asyncio.to_thread(self.workdir.mkdir, parents=True, exist_ok=True)
            await self._git("init", "--quiet", f"--initial-branch={self.branch}")
            self._configured = False
        for leftover in ("rebase-merge", "rebase-apply"):
            if (self.workdir / ".git" / leftover).exists():
                await self._git("rebase", "--abort", check=False)
                await asyncio.to_thread(shutil.rmtree, self.workdir / ".git" / leftover, True)
        (self.workdir / ".git" / "index.lock").unlink(missing_ok=True)
        if self._configured:
            return
        settings = {
            "remote.origin.url": self.remote,
            "remote.origin.fetch": f"+refs/heads/{self.branch}:{self._origin}",
            "remote.origin.tagOpt": "--no-tags",
        }
        for key, value in settings.items():
            await self._git("config", key, value)
        self._configured = True

    async def _fetch(self) -> bool:
        """Fetch the branch; False if the remote does not have it (yet)."""
        fetched = await self._git("fetch", "--quiet", "--prune", "origin", check=False)
        if fetched.ok:
            return True
        if "couldn't find remote ref" in fetched.stderr:
            await self._git("update-ref", "-d", self._origin)
            return False
        raise failure("git fetch origin", fetched)

    async def _create_branch(self) -> bool:
        """Start the branch with an empty root commit; False if someone else pushed first."""
        await self._git("symbolic-ref", "HEAD", f"refs/heads/{self.branch}")
        await self._git("update-ref", "-d", f"refs/heads/{self.branch}")
        await self._git("read-tree", "--empty")
        await self._git("clean", "-ffdxq")
        await self._commit(f"rendersync: initialize branch {self.branch}", "--allow-empty")
        pushed = await self._push()
        if pushed:
            logger.info("created branch %s on the remote", self.branch)
        return pushed

    async def _commit(self, message: str, *flags: str) -> None:
        # --no-verify: commit hooks configured on the machine must not block an unattended commit.
        await self._git("commit", "--quiet", "--no-verify", *flags, "-m", message)

    async def _push(self) -> bool:
        """Push HEAD to the branch. False on a rejection that a fetch can fix (someone else
        pushed first); other failures raise their classified error."""
        pushed = await self._git(
            "push", "--porcelain", "origin", f"HEAD:refs/heads/{self.branch}", check=False
        )
        if pushed.ok:
            return True
        output = pushed.stdout + pushed.stderr
        declined = "hook declined" in output or "protected branch" in output
        if ("[rejected]" in output or "[remote rejected]" in output) and not declined:
            return False
        raise failure(f"git push origin HEAD:{self.branch}", pushed)

    # -- helpers ---------------------------------------------------------------------------

    async def _git(self, *args: str, check: bool = True) -> GitOutput:
        return await run_git(
            *self._config,
            *args,
            cwd=self.workdir,
            limit_seconds=self._timeout,
            check=check,
        )

    def _lock(self) -> asyncio.Lock:
        per_loop = self._locks.setdefault(asyncio.get_running_loop(), {})
        return per_loop.setdefault(self.workdir.resolve(), asyncio.Lock())

    def _queue(self) -> list[tuple[Change, asyncio.Future[GitResult]]]:
        per_loop = self._queues.setdefault(asyncio.get_running_loop(), {})
        return per_loop.setdefault(self.workdir.resolve(), [])


def _staged_paths(changes: list[Change], staged: list[Staged]) -> list[str]:
    """The files the staged changes wrote: theirs, and their kustomization files."""
    paths = [c.path for c, s in zip(changes, staged, strict=True) if s is Staged.STAGED]
    indexes = {
        f"{c.layout.kustomization}/{KUSTOMIZATION_FILE}"
        for c, s in zip(changes, staged, strict=True)
        if s is Staged.STAGED and c.layout is not None and c.layout.kustomization
    }
    return paths + sorted(indexes)
