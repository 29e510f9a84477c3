"""The Git writer measured alone: ``git`` processes and CPU per written change.

``python -m bench.gitwrites --changes 400 --batch 20``: a local bare remote and one working
clone; the changes (one file each) are written ``--batch`` at a time, concurrently, so each
group becomes one commit and one push as under load; ``--kustomization appconfigs`` keeps a
kustomization file listing them. Prints per change: ``git`` processes started, and CPU
milliseconds of this process and its children (the ``git`` processes) together.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
from pathlib import Path
from typing import Any
from unittest.mock import patch

from gitops import repository as writer
from gitops.command import run_git
from gitops.layout import GitLayout
from k8s.manifests import render_appconfig, render_yaml
from rendersync.devstack.services.gitremote import init_bare_repo


def cpu_s() -> float:
    """CPU seconds of this process and of its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def rendered(name: str, version: int) -> str:
    """The file the Git activity writes for key ``bench/<name>`` at ``version``."""
    cr = render_appconfig(
        namespace="bench", name=name, spec={"image": "nginx:1.27", "replicas": 1}, labels={},
        annotations={}, seq=version,
    )  # fmt: skip
    return render_yaml(cr)


async def measure(changes: int, batch: int, kustomization: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rendersync-gitwrites-") as tmp:
        remote = init_bare_repo(Path(tmp) / "remote.git")
        repo = writer.GitRepository(
            remote=str(remote), workdir=Path(tmp) / "clone", author_name="bench",
            author_email="bench@localhost",
        )  # fmt: skip
        await repo.ensure_clone()
        layout = GitLayout(kustomization=kustomization)
        started = 0

        async def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal started
            started += 1
            return await run_git(*args, **kwargs)  # the writer's one way to run git

        with patch.object(writer, "run_git", counting):
            before = cpu_s()
            for first in range(0, changes, batch):
                names = [f"app-{i:05d}" for i in range(first, min(first + batch, changes))]
                await asyncio.gather(
                    *(
                        repo.apply_file(
                            path=f"appconfigs/bench/{n}.yaml",
                            content=rendered(n, 1),
                            version=1,
                            message=f"rendersync: apply bench/{n} @ 1",
                            layout=layout,
                        )
                        for n in names
                    )
                )
            spent = cpu_s() - before
    return {
        "changes": changes,
        "batch": batch,
        "kustomization": kustomization,
        "git_processes_per_change": round(started / changes, 2),
        "cpu_ms_per_change": round(spent / changes * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gitwrites", description=__doc__)
    parser.add_argument("--changes", type=int, default=400)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument(
        "--kustomization", default="", help="folder whose kustomization.yaml lists the files"
    )
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.changes, args.batch, args.kustomization))))


if __name__ == "__main__":
    main()
