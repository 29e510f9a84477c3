"""Git remote: a bare repository that clones to a ``main`` branch and accepts pushes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from rendersync.devstack.environments import first_commit_files
from rendersync.devstack.services.gitremote import init_bare_repo
from tests.support.kustomizing import kustomize


def git(*args: str, cwd: Path) -> str:
    identity = ["-c", "user.name=test", "-c", "user.email=test@localhost"]
    result = subprocess.run(
        ["git", *identity, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_clone_commit_and_push(git_remote: Path, tmp_path: Path) -> None:
    assert git("rev-parse", "--is-bare-repository", cwd=git_remote) == "true"
    git("clone", "--quiet", str(git_remote), "work", cwd=tmp_path)
    work = tmp_path / "work"
    assert git("branch", "--show-current", cwd=work) == "main"
    (work / "appconfigs").mkdir()
    (work / "appconfigs" / "a.yaml").write_text("kind: AppConfig\n")
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", "apply a", cwd=work)
    git("push", "--quiet", "origin", "main", cwd=work)
    assert git("rev-list", "--count", "main", cwd=git_remote) == "2"
    assert git("show", "main:appconfigs/a.yaml", cwd=git_remote) == "kind: AppConfig"


def test_other_branch_name(tmp_path: Path) -> None:
    remote = init_bare_repo(tmp_path / "r.git", branch="trunk")
    assert git("symbolic-ref", "HEAD", cwd=remote) == "refs/heads/trunk"
    assert git("ls-tree", "-r", "trunk", cwd=remote) == ""  # the initial commit is empty


def test_refuses_to_reinitialise_a_branch(git_remote: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError):
        init_bare_repo(git_remote, branch="main")


def test_the_first_commit_holds_the_given_files(tmp_path: Path) -> None:
    remote = init_bare_repo(tmp_path / "r.git", files={"a/b.yaml": "x: 1\n", "c.txt": "c\n"})

    assert git("ls-tree", "-r", "--name-only", "main", cwd=remote).split() == ["a/b.yaml", "c.txt"]
    assert git("show", "main:a/b.yaml", cwd=remote) == "x: 1"
    assert git("rev-list", "--count", "main", cwd=remote) == "1"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_the_dev_stacks_empty_overlays_build(tmp_path: Path) -> None:
    remote = init_bare_repo(tmp_path / "gitops.git", files=first_commit_files())
    git("clone", "--quiet", str(remote), "work", cwd=tmp_path)

    for env in ("dev", "staging", "prod"):
        assert kustomize(tmp_path / "work", f"clusters/{env}") == []
