"""Activities that commit AppConfigs to the GitOps repository and remove them."""

from __future__ import annotations

from sqlalchemy import Engine

from activities.failures import PERMANENT, TRANSIENT
from activities.frames import run_apply, run_removal, superseded
from activities.kubernetes import render
from activities.provenancing import origin
from gitops.repository import GitPermanentError, GitRepository
from k8s.manifests import render_yaml
from vocabulary import TARGET_GIT, RowCheck, git_path
from workflows.contracts import ApplyRequest, DeleteRequest, TargetResult
from workflows.declarations import GIT, implements


def commit_message(verb: str, key: str, version: int) -> str:
    """The commit's message: a summary line, then trailers that link the commit back to the
    revision (``Rendersync-Version``, the key's history) and to the workflow run that wrote
    it (``Rendersync-Workflow``, ``Rendersync-Run``)."""
    source = origin()
    trailers = [f"Rendersync-Key: {key}", f"Rendersync-Version: {version}"]
    if source.workflow_id:
        trailers += [
            f"Rendersync-Workflow: {source.workflow_id}",
            f"Rendersync-Run: {source.run_id}",
        ]
    return f"rendersync: {verb} {key} @ {version}\n\n" + "\n".join(trailers)


def git_failure_kind(err: BaseException) -> str:
    """The failure kind of a Git activity's error: permanent or transient."""
    return PERMANENT if isinstance(err, GitPermanentError) else TRANSIENT


class GitActivities:
    """Built once per worker around the repository (one writer per repository)."""

    def __init__(self, repo: GitRepository, engine: Engine) -> None:
        self.repo = repo
        self.engine = engine

    @implements(GIT.apply)
    async def apply(self, request: ApplyRequest) -> TargetResult:
        """Commit the rendered CR (the same YAML direct apply sends) and push; fenced on the
        version in the file and on the row (checked under the repository lock when the write
        is staged); no commit when nothing changed. Heartbeats while it waits and works."""
        image = request.image

        async def operation(row_check: RowCheck) -> TargetResult:
            result = await self.repo.apply_file(
                path=git_path(image.namespace, image.name),
                content=render_yaml(render(image)),
                version=image.seq,
                message=commit_message("apply", image.key, image.seq),
                row_check=row_check,
            )
            if result.superseded:
                return superseded(TARGET_GIT, image.seq)
            return TargetResult(
                target=TARGET_GIT,
                version=image.seq,
                detail=result.commit,
                skipped_newer=result.skipped_newer,
            )

        return await run_apply(
            operation,
            engine=self.engine,
            request=request,
            target=TARGET_GIT,
            classify=git_failure_kind,
        )

    @implements(GIT.remove)
    async def remove(self, request: DeleteRequest) -> TargetResult:
        """Remove the file unless it holds a newer version; a missing file is done."""
        key = f"{request.namespace}/{request.name}"

        async def operation(row_check: RowCheck) -> TargetResult:
            result = await self.repo.remove_file(
                path=git_path(request.namespace, request.name),
                version=request.seq,
                message=commit_message("remove", key, request.seq),
                row_check=row_check,
            )
            return TargetResult(target=TARGET_GIT, version=request.seq, detail=result.commit)

        return await run_removal(
            operation,
            engine=self.engine,
            request=request,
            target=TARGET_GIT,
            classify=git_failure_kind,
        )
