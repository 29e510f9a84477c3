"""Fixtures for the GitOps writer: real bare remotes, working clones and a second writer."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops.repository import GitRepository

AUTHOR = ("rendersync-bot", "bot@rendersync.example")
PATH = "appconfigs/default/web.yaml"
RepoFactory = Callable[..., GitRepository]


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout


def render(name: str, version: int, *, namespace: str = "default", replicas: int = 1) -> str:
    """A rendered AppConfig custom resource as the caller commits it."""
    return yaml.safe_dump(
        {
            "apiVersion": "rendersync.dev/v1alpha1",
            "kind": "AppConfig",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "annotations": {"rendersync.dev/version": str(version)},
            },
            "spec": {"app": name, "environment": "dev", "replicas": replicas},
        },
        sort_keys=False,
    )


def version_of(content: str) -> int:
    document: Any = yaml.safe_load(content)
    return int(document["metadata"]["annotations"]["rendersync.dev/version"])


class Remote:
    """A bare repository, inspected with plumbing only (what Argo CD or Flux would see)."""

    def __init__(self, path: Path, branch: str = "main") -> None:
        self.path = path
        self.branch = branch

    def tip(self) -> str:
        return git("rev-parse", self.branch, cwd=self.path).strip()

    def has_branch(self) -> bool:
        found = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", f"refs/heads/{self.branch}"],
            cwd=self.path,
            capture_output=True,
        )
        return found.returncode == 0

    def files(self) -> list[str]:
        return git("ls-tree", "-r", "--name-only", self.branch, cwd=self.path).split()

    def show(self, path: str) -> str:
        return git("show", f"{self.branch}:{path}", cwd=self.path)

    def subjects(self) -> list[str]:
        """Commit subjects, oldest first, following first parents."""
        log = git("log", "--first-parent", "--reverse", "--format=%s", self.branch, cwd=self.path)
        return log.splitlines()

    def messages(self) -> str:
        """Every commit message on the branch, in full."""
        return git("log", "--format=%B", self.branch, cwd=self.path)

    def versions(self, path: str) -> list[int]:
        """Every version the file held on the branch, oldest first (deletions skipped)."""
        shas = git("log", "--reverse", "--format=%H", self.branch, "--", path, cwd=self.path)
        held = []
        for sha in shas.split():
            shown = subprocess.run(
                ["git", "show", f"{sha}:{path}"], cwd=self.path, capture_output=True, text=True
            )
            if shown.returncode == 0:
                held.append(version_of(shown.stdout))
        return held


class OtherWriter:
    """A second clone pushing on its own, standing in for another writer or a person."""

    def __init__(self, remote: Remote, workdir: Path) -> None:
        self.remote = remote
        self.workdir = workdir

    def push(self, path: str, content: str, message: str) -> None:
        self.prepare()
        target = self.workdir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        git("add", "--", path, cwd=self.workdir)
        git("-c", "user.name=other", "-c", "user.email=other@example.com",
            "commit", "-q", "-m", message, cwd=self.workdir)  # fmt: skip
        git("push", "-q", "origin", f"HEAD:refs/heads/{self.remote.branch}", cwd=self.workdir)

    def script(self, path: str, content: str, message: str) -> str:
        """Shell lines doing what `push` does, for a hook that races our writer."""
        self.prepare()
        source = self.workdir.parent / f"{self.workdir.name}-{abs(hash(message))}.src"
        source.write_text(content, encoding="utf-8")
        branch = self.remote.branch
        return "\n".join([
            f'cd "{self.workdir}"',
            f"git fetch -q origin {branch} && git reset -q --hard FETCH_HEAD",
            f'mkdir -p "$(dirname "{path}")" && cp "{source}" "{path}" && git add -- "{path}"',
            "git -c user.name=other -c user.email=other@example.com "
            f'commit -q --allow-empty -m "{message}"',
            f"git push -q origin HEAD:refs/heads/{branch}",
        ])  # fmt: skip

    def prepare(self) -> None:
        if not (self.workdir / ".git").exists():
            git("init", "-q", f"--initial-branch={self.remote.branch}", str(self.workdir),
                cwd=self.workdir.parent)  # fmt: skip
            git("remote", "add", "origin", str(self.remote.path), cwd=self.workdir)
        if self.remote.has_branch():
            git("fetch", "-q", "origin", self.remote.branch, cwd=self.workdir)
            git("reset", "-q", "--hard", "FETCH_HEAD", cwd=self.workdir)


def install_hook(repo_dir: Path, name: str, body: str, *, once: Path | None = None) -> None:
    """Install a hook script; with ``once`` it acts only the first time (marker file)."""
    lines = ["#!/bin/sh", "set -e"]
    # The hook runs inside our git process: drop what would point its commands at our clone.
    lines.append("unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_CONFIG_PARAMETERS GIT_PREFIX")
    if once is not None:
        lines.append(f'[ -e "{once}" ] && exit 0')
    lines.append(body)
    if once is not None:
        lines.append(f'touch "{once}"')
    hooks = repo_dir / "hooks" if (repo_dir / "HEAD").exists() else repo_dir / ".git" / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    hook = hooks / name
    hook.write_text("\n".join(lines) + "\n", encoding="utf-8")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)


@pytest.fixture(autouse=True)
def isolated_git_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The machine's git configuration must neither help nor hurt; it must stay untouched."""
    global_config = tmp_path / "global.gitconfig"
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(global_config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return global_config


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    path = tmp_path / "gitops.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(path), cwd=tmp_path)
    return Remote(path)


@pytest.fixture
def other(remote: Remote, tmp_path: Path) -> OtherWriter:
    return OtherWriter(remote, tmp_path / "other")


@pytest.fixture
def make_repo(remote: Remote, tmp_path: Path) -> RepoFactory:
    def make(**overrides: Any) -> GitRepository:
        options: dict[str, Any] = {
            "remote": str(remote.path),
            "workdir": tmp_path / "work",
            "author_name": AUTHOR[0],
            "author_email": AUTHOR[1],
        }
        options.update(overrides)
        return GitRepository(**options)

    return make


@pytest.fixture
def repo(make_repo: RepoFactory) -> GitRepository:
    return make_repo()
