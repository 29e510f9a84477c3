"""Activities that commit AppConfigs to the GitOps repository and remove them."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity

from activities.applying import run_apply
from activities.failures import PERMANENT, TRANSIENT, guarded
from activities.gitrepo import GitPermanentError, GitRepository
from activities.kubernetes import render
from k8s.manifests import render_yaml
from workflows.contracts import (
    ACTIVITY_APPLY_GIT,
    ACTIVITY_REMOVE_GIT,
    TARGET_GIT,
    ApplyRequest,
    DeleteRequest,
    TargetResult,
)


def path_of(namespace: str, name: str) -> str:
    return f"appconfigs/{namespace}/{name}.yaml"


def classify(err: BaseException) -> str:
    return PERMANENT if isinstance(err, GitPermanentError) else TRANSIENT


class GitActivities:
    """Built once per worker around the repository (one writer per repository)."""

    def __init__(self, repo: GitRepository, engine: Engine) -> None:
        self.repo = repo
        self.engine = engine

    @activity.defn(name=ACTIVITY_APPLY_GIT)
    async def apply(self, request: ApplyRequest) -> TargetResult:
        """Commit the rendered CR (the same YAML direct apply sends) and push; fenced on the
        version in the file; no commit when nothing changed."""
        image = request.image

        async def operation() -> TargetResult:
            result = await self.repo.apply_file(
                path=path_of(image.namespace, image.name),
                content=render_yaml(render(image)),
                version=image.seq,
                message=f"rendersync: apply {image.key} @ {image.seq}",
            )
            return TargetResult(
                target=TARGET_GIT,
                version=image.seq,
                detail=result.commit,
                skipped_newer=result.skipped_newer,
            )

        return await run_apply(
            operation, engine=self.engine, request=request, target=TARGET_GIT, classify=classify
        )

    @activity.defn(name=ACTIVITY_REMOVE_GIT)
    async def remove(self, request: DeleteRequest) -> TargetResult:
        """Remove the file unless it holds a newer version; a missing file is done."""
        key = f"{request.namespace}/{request.name}"

        async def operation() -> TargetResult:
            result = await self.repo.remove_file(
                path=path_of(request.namespace, request.name),
                version=request.seq,
                message=f"rendersync: remove {key} @ {request.seq}",
            )
            return TargetResult(target=TARGET_GIT, version=request.seq, detail=result.commit)

        return await guarded(
            operation,
            engine=self.engine,
            namespace=request.namespace,
            name=request.name,
            target=TARGET_GIT,
            version=request.seq,
            classify=classify,
        )
