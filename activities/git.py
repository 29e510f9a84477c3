"""Activities that commit AppConfigs to the GitOps repository and remove them."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine

from activities.failures import PERMANENT, TRANSIENT
from activities.frames import configured, run_apply, run_removal, superseded
from activities.kubernetes import render
from activities.provenancing import origin
from gitops.layout import GitLayout
from gitops.repository import GitPermanentError, GitRepository
from k8s.manifests import render_yaml
from persistence.reading import get_row
from vocabulary import TARGET_GIT, RowCheck
from vocabulary.routing import environment_of
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


@dataclass(frozen=True)
class GitPlace:
    """One Git target: the repository it writes (one writer per repository, shared by the
    targets that write to it) and where its files go."""

    repo: GitRepository
    layout: GitLayout = field(default_factory=GitLayout)


class GitActivities:
    """Built once per worker around the places of its Git targets (by target name)."""

    def __init__(self, places: Mapping[str, GitPlace], engine: Engine) -> None:
        self.places = dict(places)
        self.engine = engine

    def place(self, target: str) -> GitPlace:
        """The place of the target named ``target`` ("": the one named ``git``)."""
        return configured(self.places, target or TARGET_GIT)

    @implements(GIT.apply)
    async def apply(self, request: ApplyRequest) -> TargetResult:
        """Commit the rendered CR (the same YAML direct apply sends) and push; fenced on the
        version in the file and on the row (checked under the repository lock when the write
        is staged); no commit when nothing changed. Heartbeats while it waits and works."""
        image = request.image
        target = request.target or TARGET_GIT
        place = self.place(target)
        environment = environment_of(image)

        async def operation(row_check: RowCheck) -> TargetResult:
            result = await place.repo.apply_file(
                path=place.layout.file(image.namespace, image.name, environment),
                content=render_yaml(render(image)),
                version=image.seq,
                message=commit_message("apply", image.key, image.seq),
                row_check=row_check,
                layout=place.layout,
            )
            if result.superseded:
                return superseded(target, image.seq)
            return TargetResult(
                target=target,
                version=image.seq,
                detail=result.commit,
                skipped_newer=result.skipped_newer,
            )

        return await run_apply(
            operation,
            engine=self.engine,
            request=request,
            target=target,
            classify=git_failure_kind,
        )

    @implements(GIT.remove)
    async def remove(self, request: DeleteRequest) -> TargetResult:
        """Remove the file unless it holds a newer version; a missing file is done. In a
        target placing keys by environment, the file of ``request.environment`` (or, when
        not given, of the row's environment)."""
        key = f"{request.namespace}/{request.name}"
        target = request.target or TARGET_GIT
        place = self.place(target)
        environment = request.environment
        if place.layout.by_environment and not environment:
            environment = await asyncio.to_thread(
                row_environment, self.engine, request.namespace, request.name
            )

        async def operation(row_check: RowCheck) -> TargetResult:
            result = await place.repo.remove_file(
                path=place.layout.file(request.namespace, request.name, environment),
                version=request.seq,
                message=commit_message("remove", key, request.seq),
                row_check=row_check,
                layout=place.layout,
            )
            return TargetResult(target=target, version=request.seq, detail=result.commit)

        return await run_removal(
            operation,
            engine=self.engine,
            request=request,
            target=target,
            classify=git_failure_kind,
        )


def row_environment(engine: Engine, namespace: str, name: str) -> str:
    """The environment of the row (a tombstone's too); "" without a row."""
    row = get_row(engine, namespace=namespace, name=name)
    return "" if row is None else environment_of(row)
