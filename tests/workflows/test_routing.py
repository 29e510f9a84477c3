"""Routing in the workflow: the targets a key's environment routes to, moves between
environments (make before break), targets added and removed, one target down."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.workflows.fakes import FakeActivities
from tests.workflows.harness import SyncDriver, new_key
from vocabulary import PHASE_FAILED, PHASE_RETRYING, PHASE_SYNCED
from vocabulary.routing import Route
from workflows.contracts import SyncOptions
from workflows.declarations import GIT, KUBERNETES

pytestmark = pytest.mark.asyncio(loop_scope="session")

APPLY_K, REMOVE_K = KUBERNETES.apply.name, KUBERNETES.remove.name
APPLY_G, REMOVE_G = GIT.apply.name, GIT.remove.name


def environments(options: SyncOptions, *routes: Route) -> SyncOptions:
    """Two clusters and two overlays, routed by environment (dev and prod by default)."""
    return replace(
        options,
        targets=("dev", "prod", "gitops-dev", "gitops-prod"),
        target_kinds={"dev": "kubernetes", "prod": "kubernetes"}
        | {"gitops-dev": "git", "gitops-prod": "git"},
        routes=routes
        or (
            Route(("dev", "gitops-dev"), environment="dev"),
            Route(("prod", "gitops-prod"), environment="prod"),
        ),
    )


def later_steps(fake: FakeActivities, seq: int) -> list[tuple[str, str, int]]:
    return [step for step in fake.steps() if step[2] == seq]


async def test_a_key_syncs_to_the_targets_its_environment_routes_to(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    sync.options = environments(sync.options)
    await sync.upsert(1, environment="prod")

    state = await sync.wait_synced(1)

    assert fake.steps() == [(APPLY_K, "prod", 1), (APPLY_G, "gitops-prod", 1)]
    assert set(state.targets) == {"prod", "gitops-prod"}


async def test_a_move_applies_to_the_new_targets_then_leaves_the_old_ones(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    sync.options = environments(sync.options)
    await sync.upsert(1, environment="dev")
    await sync.wait_synced(1)

    await sync.upsert(2, environment="prod")
    state = await sync.wait_synced(2)

    assert later_steps(fake, 2) == [
        (APPLY_K, "prod", 2),
        (APPLY_G, "gitops-prod", 2),
        (REMOVE_G, "gitops-dev", 2),
        (REMOVE_K, "dev", 2),
    ]
    assert all(r.leave for r in fake.removals)
    assert set(state.targets) == {"prod", "gitops-prod"}


async def test_a_new_target_that_fails_keeps_the_old_copy(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    sync.options = environments(sync.options)
    await sync.upsert(1, environment="dev")
    await sync.wait_synced(1)
    fake.fail(APPLY_K, target="prod", permanent=True)

    await sync.upsert(2, environment="prod")
    state = await sync.wait_state(lambda s: s.phase == PHASE_FAILED, "Failed at v2")

    assert fake.removals == []
    assert set(state.targets) == {"dev", "gitops-dev"}
    assert "prod" in state.last_error


async def test_a_move_waits_for_a_target_that_is_down(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    sync.options = environments(sync.options)
    await sync.upsert(1, environment="dev")
    await sync.wait_synced(1)
    fake.fail(APPLY_K, target="prod", times=3)

    await sync.upsert(2, environment="prod")
    await sync.wait_state(lambda s: s.phase == PHASE_RETRYING, "Retrying at v2")
    assert fake.removals == []
    state = await sync.wait_synced(2)

    assert [(r.target, r.seq) for r in fake.removals] == [("gitops-dev", 2), ("dev", 2)]
    assert set(state.targets) == {"prod", "gitops-prod"}


async def test_a_target_that_is_down_holds_back_only_its_keys(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    sync.options = environments(sync.options)
    fake.fail(APPLY_K, target="prod", times=1000)
    other = SyncDriver(sync.client, sync.task_queue, new_key(), sync.options)

    await sync.upsert(1, environment="prod")
    await other.upsert(1, environment="dev")

    assert (await other.wait_synced(1)).targets.keys() == {"dev", "gitops-dev"}
    held = await sync.wait_state(lambda s: s.phase == PHASE_RETRYING, "Retrying on prod")
    assert held.last_error.startswith("prod: ")
    await other.handle.terminate("test finished")


async def test_a_target_added_to_the_routes_is_applied_at_the_next_change(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    base = sync.options
    sync.options = environments(base, Route(("dev",), environment="dev"))
    await sync.upsert(1)
    await sync.wait_synced(1)

    sync.options = environments(base, Route(("dev", "gitops-dev"), environment="dev"))
    await sync.upsert(2)
    state = await sync.wait_synced(2)

    assert later_steps(fake, 2) == [(APPLY_K, "dev", 2), (APPLY_G, "gitops-dev", 2)]
    assert set(state.targets) == {"dev", "gitops-dev"}


async def test_a_target_taken_out_of_the_routes_is_left(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    base = sync.options
    sync.options = environments(base)
    await sync.upsert(1)
    await sync.wait_synced(1)

    sync.options = environments(base, Route(("dev",), environment="dev"))
    await sync.upsert(2)
    state = await sync.wait_synced(2)

    assert later_steps(fake, 2) == [(APPLY_K, "dev", 2), (REMOVE_G, "gitops-dev", 2)]
    assert set(state.targets) == {"dev"}


async def test_a_target_no_longer_configured_is_forgotten(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    base = sync.options
    sync.options = environments(base)
    await sync.upsert(1)
    await sync.wait_synced(1)

    sync.options = replace(base, targets=("dev",), target_kinds={"dev": "kubernetes"})
    await sync.upsert(2)
    state = await sync.wait_synced(2)

    assert later_steps(fake, 2) == [(APPLY_K, "dev", 2)]
    assert set(state.targets) == {"dev"}


async def test_a_key_no_rule_routes_fails_and_keeps_what_it_wrote(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    sync.options = environments(sync.options)
    await sync.upsert(1)
    await sync.wait_synced(1)

    await sync.upsert(2, environment="staging")
    state = await sync.wait_state(lambda s: s.phase == PHASE_FAILED, "Failed at v2")

    assert "no routing rule routes environment='staging'" in state.last_error
    assert later_steps(fake, 2) == []
    assert set(state.targets) == {"dev", "gitops-dev"}
    assert [r.target for r in fake.reports] == ["routing"]


async def test_a_delete_removes_the_key_from_its_targets_only(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    sync.options = environments(sync.options)
    await sync.upsert(1)
    await sync.wait_synced(1)

    await sync.delete(2)
    await sync.wait_state(lambda s: s.handled_version == 2, "the delete handled")

    assert later_steps(fake, 2) == [(REMOVE_G, "gitops-dev", 2), (REMOVE_K, "dev", 2)]
    assert not any(r.leave for r in fake.removals)


async def test_a_move_within_a_target_placing_keys_by_environment_removes_the_old_place(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    sync.options = replace(
        sync.options,
        targets=("gitops",),
        target_kinds={"gitops": "git"},
        placed_by_environment=("gitops",),
    )
    await sync.upsert(1, environment="dev")
    await sync.wait_synced(1)

    await sync.upsert(2, environment="prod")
    state = await sync.wait_synced(2)

    assert later_steps(fake, 2) == [(APPLY_G, "gitops", 2), (REMOVE_G, "gitops", 2)]
    assert [(r.environment, r.leave) for r in fake.removals] == [("dev", False)]
    assert state.targets["gitops"].environment == "prod"
    assert state.phase == PHASE_SYNCED
