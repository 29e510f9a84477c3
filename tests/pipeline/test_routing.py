"""Routing on the running pipeline: a target added to and taken out of the routes while the
pipeline runs, and a target that is down holding back only the keys routed to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from persistence import syncstatus
from tests.support.builders import body
from tests.support.pipeline import Pipeline, version_in_yaml
from tests.support.waiting import eventually
from vocabulary import TARGET_GIT, TARGET_KUBERNETES
from vocabulary.routing import Route

KUBERNETES_ONLY = Route((TARGET_KUBERNETES,))
KUBE_LABEL = {"route": "kubernetes-only"}


async def put(pipe: Pipeline, name: str, replicas: int, **labels: str) -> int:
    """Create ``name`` (replicas 1) or replace it; its new version."""
    sent = body(name, replicas=replicas, labels=labels or None)
    if replicas == 1:
        answer = await pipe.api.post(pipe.base, json=sent)
    else:
        answer = await pipe.api.put(f"{pipe.base}/{name}", json=sent)
    assert answer.status_code in (200, 201), answer.text
    return int(answer.json()["metadata"]["resourceVersion"])


async def cr_version(pipe: Pipeline, name: str) -> int:
    cr = await pipe.live_cr(name)
    return 0 if cr is None else int(cr["metadata"]["annotations"]["rendersync.dev/version"])


def git_version(pipe: Pipeline, name: str) -> int:
    text = pipe.git_file(name)
    return 0 if text is None else version_in_yaml(text)


def status_targets(pipe: Pipeline, name: str) -> set[str]:
    return {
        s.target
        for s in syncstatus.list_status(pipe.engine, namespace=pipe.ns)
        if s.name == name and s.applied_version > 0
    }


async def test_a_target_joins_and_leaves_the_routes_of_a_running_pipeline(
    pipe: Pipeline,
) -> None:
    every = pipe.options
    pipe.options = replace(every, routes=(KUBERNETES_ONLY,))
    v1 = await put(pipe, "web", 1)
    await eventually(in_cluster(pipe, "web", v1), timeout_s=30, what="web v1 in the cluster")
    assert git_version(pipe, "web") == 0

    pipe.options = every  # git joins the routes
    v2 = await put(pipe, "web", 2)
    await eventually(
        holds(lambda: git_version(pipe, "web") == v2), timeout_s=30, what="web v2 in Git"
    )
    assert await cr_version(pipe, "web") == v2

    pipe.options = replace(every, routes=(KUBERNETES_ONLY,))  # and leaves them
    v3 = await put(pipe, "web", 3)
    await eventually(holds(lambda: pipe.git_file("web") is None), timeout_s=30, what="web left Git")
    await eventually(in_cluster(pipe, "web", v3), timeout_s=30, what="web v3 in the cluster")
    await eventually(
        holds(lambda: status_targets(pipe, "web") == {TARGET_KUBERNETES}),
        timeout_s=10,
        what="the Git status entry gone with the file",
    )


async def test_a_target_that_is_down_holds_back_only_the_keys_routed_to_it(
    pipe: Pipeline,
) -> None:
    pipe.options = replace(
        pipe.options,
        routes=(
            Route((TARGET_KUBERNETES,), labels=KUBE_LABEL),
            Route((TARGET_KUBERNETES, TARGET_GIT)),
        ),
    )
    lock = pipe.remote / "refs" / "heads" / "main.lock"
    lock.write_text("")  # the remote refuses every push until it is gone: Git is down
    try:
        both = await put(pipe, "both", 1)
        alone = await put(pipe, "alone", 1, **KUBE_LABEL)

        await eventually(in_cluster(pipe, "alone", alone), timeout_s=30, what="alone synced")
        later = await put(pipe, "alone", 2, **KUBE_LABEL)
        await eventually(in_cluster(pipe, "alone", later), timeout_s=30, what="alone v2 synced")

        def retrying() -> bool:
            rows = syncstatus.list_status(pipe.engine, namespace=pipe.ns)
            return any(s.name == "both" and s.target == TARGET_GIT and s.last_error for s in rows)

        await eventually(holds(retrying), timeout_s=30, what="both Retrying on git")
        assert await cr_version(pipe, "both") == both  # the cluster, first in order, has it
    finally:
        lock.unlink()

    await eventually(
        holds(lambda: git_version(pipe, "both") == both), timeout_s=60, what="both in Git"
    )
    assert git_version(pipe, "alone") == 0


def in_cluster(pipe: Pipeline, name: str, version: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await cr_version(pipe, name) == version

    return check


def holds(predicate: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return predicate()

    return check
