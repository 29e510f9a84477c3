"""Failure classification: permanent errors fail fast, transient ones are left to retry."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gitops.command import git_error_class, redact
from gitops.repository import GitPermanentError, GitRepository, GitTransientError
from tests.gitops.conftest import (
    PATH,
    OtherWriter,
    Remote,
    RepoFactory,
    install_hook,
    render,
)


async def apply(repo: GitRepository) -> None:
    await repo.apply_file(path=PATH, content=render("web", 1), version=1, message="@ 1")


async def test_missing_remote_is_permanent(make_repo: RepoFactory, tmp_path: Path) -> None:
    repo = make_repo(remote=str(tmp_path / "nowhere.git"))

    with pytest.raises(GitPermanentError, match="does not appear to be a git repository"):
        await repo.ensure_clone()
    with pytest.raises(GitPermanentError):
        await apply(repo)


async def test_remote_that_is_not_a_repository_is_permanent(
    make_repo: RepoFactory, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()

    with pytest.raises(GitPermanentError):
        await make_repo(remote=str(plain)).ensure_clone()


async def test_push_declined_by_the_server_is_permanent(
    repo: GitRepository, remote: Remote, other: OtherWriter
) -> None:
    other.push("README.md", "# GitOps\n", "docs: readme")
    install_hook(remote.path, "pre-receive", "echo 'branch is frozen' >&2; exit 1")

    with pytest.raises(GitPermanentError, match="branch is frozen"):
        await apply(repo)


async def test_push_rejected_on_every_attempt_is_transient(
    make_repo: RepoFactory, remote: Remote, other: OtherWriter
) -> None:
    repo = make_repo(push_attempts=3)
    await repo.ensure_clone()
    attempts = repo.workdir.parent / "attempts"
    body = other.script("busy.txt", "busy\n", "other: busy") + f'\necho x >> "{attempts}"'
    install_hook(repo.workdir, "pre-push", body)

    with pytest.raises(GitTransientError, match="rejected after 3 attempts"):
        await apply(repo)

    assert attempts.read_text().splitlines() == ["x", "x", "x"]
    assert PATH not in remote.files()


async def test_a_hung_command_times_out_as_transient(
    make_repo: RepoFactory, remote: Remote
) -> None:
    repo = make_repo(command_timeout=2)
    await repo.ensure_clone()
    install_hook(repo.workdir, "pre-push", "sleep 60")

    started = time.monotonic()
    with pytest.raises(GitTransientError, match="timed out"):
        await apply(repo)

    assert time.monotonic() - started < 30
    assert PATH not in remote.files()


@pytest.mark.parametrize(
    "path", ["", "/etc/passwd", "../outside.yaml", "appconfigs/../../x", ".git/config"]
)
async def test_invalid_paths_are_permanent_and_touch_nothing(
    repo: GitRepository, path: str
) -> None:
    with pytest.raises(GitPermanentError, match="invalid repository path"):
        await repo.apply_file(path=path, content="x", version=1, message="bad")
    with pytest.raises(GitPermanentError, match="invalid repository path"):
        await repo.remove_file(path=path, version=1, message="bad")

    assert not repo.workdir.exists()


@pytest.mark.parametrize(
    ("stderr", "error"),
    [
        ("fatal: Authentication failed for 'https://example.com/r.git/'", GitPermanentError),
        (
            "fatal: could not read Username for 'https://example.com': terminal prompts disabled",
            GitPermanentError,
        ),
        ("remote: Repository not found.", GitPermanentError),
        ("fatal: unable to access '...': The requested URL returned error: 403", GitPermanentError),
        ("fatal: unable to access '...': The requested URL returned error: 502", GitTransientError),
        ("fatal: unable to access '...': Could not resolve host: example.com", GitTransientError),
        ("fatal: Unable to create '/w/.git/index.lock': File exists.", GitTransientError),
        ("ssh: connect to host example.com port 22: Connection timed out", GitTransientError),
    ],
)
def test_stderr_is_classified(stderr: str, error: type[Exception]) -> None:
    assert git_error_class(stderr) is error


def test_credentials_in_urls_are_redacted() -> None:
    message = "fatal: unable to access 'https://bot:s3cret@git.example.com/gitops.git/'"

    assert redact(message) == "fatal: unable to access 'https://***@git.example.com/gitops.git/'"
