"""Running the ``git`` command line: one subprocess per command, with a timeout, no prompts,
and failures classified as permanent (fail fast) or transient (retry with backoff)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# Failures that retrying cannot fix: a wrong remote, missing credentials or a refused policy.
# Anything not listed is treated as transient (network, lock files, server errors), so an
# unavailable Git server pauses progress instead of dropping a change.
_PERMANENT_PATTERNS = (
    "does not appear to be a git repository",
    "not a git repository",
    "repository not found",
    "does not exist",
    "authentication failed",
    "permission denied",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "invalid username or password",
    "host key verification failed",
    "unable to find remote helper",
    "hook declined",
    "protected branch",
)
_PERMANENT_HTTP = re.compile(r"returned error: (400|401|403|404)\b")
_URL_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
# Inherited from a surrounding git process (e.g. a hook), these would redirect our commands
# to another repository.
_SCRUBBED_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")


class GitError(Exception):
    """A git command failed. The message carries the command and git's stderr."""


class GitPermanentError(GitError):
    """Retrying will not help: the remote does not exist, credentials are refused, the
    working directory or a path is invalid, or the server's policy declines the push."""


class GitTransientError(GitError):
    """Retrying later may help: network errors, timeouts, lock files, or a push that was
    still rejected after every fetch-and-rebase attempt."""


@dataclass(frozen=True)
class GitOutput:
    """What one git command returned."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def redact(text: str) -> str:
    """Hide credentials embedded in URLs (``https://user:token@host``)."""
    return _URL_USERINFO.sub(r"\1***@", text)


def git_error_class(stderr: str) -> type[GitError]:
    """The error class for a failed command, judged from git's stderr."""
    lowered = stderr.lower()
    if any(pattern in lowered for pattern in _PERMANENT_PATTERNS):
        return GitPermanentError
    if _PERMANENT_HTTP.search(lowered):
        return GitPermanentError
    return GitTransientError


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for git: never prompt (a worker has no terminal), English messages
    (classification reads them), batch-mode ssh unless the operator configured ssh."""
    env = {key: value for key, value in os.environ.items() if key not in _SCRUBBED_ENV}
    env.update({"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never", "LC_ALL": "C"})
    if "GIT_SSH_COMMAND" not in env and "GIT_SSH" not in env:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
    env.update(extra or {})
    return env


async def run_git(
    *args: str,
    cwd: Path,
    limit_seconds: float,
    check: bool = True,
    env: Mapping[str, str] | None = None,
) -> GitOutput:
    """Run ``git <args>`` in ``cwd`` and capture its output.

    With ``check`` a non-zero exit raises the classified `GitError`; a timeout raises
    `GitTransientError`. The process is killed on timeout and on cancellation, so a
    cancelled activity leaves no git process behind.
    """
    command = _display(args)
    proc = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env=dict(env) if env is not None else git_env(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        # Its own process group, so a timeout also ends what git started (ssh, a remote
        # helper, a hook) instead of leaving it holding our pipes.
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limit_seconds)
    except BaseException as exc:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        if isinstance(exc, TimeoutError):
            raise GitTransientError(
                f"{redact(command)}: timed out after {limit_seconds:g}s"
            ) from None
        raise
    assert proc.returncode is not None
    result = GitOutput(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
    if check and not result.ok:
        raise failure(command, result)
    return result


def _display(args: tuple[str, ...]) -> str:
    """The command for messages, without the leading ``-c key=value`` options (noise)."""
    start = 0
    while start < len(args) and args[start] == "-c":
        start += 2
    return " ".join(("git", *args[start:]))


def failure(command: str, result: GitOutput) -> GitError:
    """The classified exception for a failed command, with its stderr (never file contents:
    the commands we run do not echo them)."""
    # Push reports a refusal's reason on stdout (--porcelain), so both streams count.
    parts = (result.stderr.strip(), result.stdout.strip())
    stderr = redact("\n".join(part for part in parts if part))
    error = git_error_class(stderr)
    logger.debug("git failed", extra={"command": redact(command), "rc": result.returncode})
    return error(f"{redact(command)} exited {result.returncode}: {stderr}")
