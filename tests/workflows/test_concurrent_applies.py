"""Applying a change to its targets at once (``apply_concurrently``): both applies are in
flight together, a failure on one still compensates the other on a first apply, a transient
one is retried while the other target keeps what it got, and a move leaves the old targets
only once every new one holds the version. The default applies one target after the other."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.workflows.fakes import FakeActivities
from tests.workflows.harness import SyncDriver
from tests.workflows.test_failures import wait_failed
from tests.workflows.test_routing import environments, later_steps
from vocabulary import TARGET_GIT, TARGET_KUBERNETES
from workflows.declarations import GIT, KUBERNETES, RECORD_FAILURE

pytestmark = pytest.mark.asyncio(loop_scope="session")

APPLY_K, REMOVE_K = KUBERNETES.apply.name, KUBERNETES.remove.name
APPLY_G, REMOVE_G = GIT.apply.name, GIT.remove.name


def at_once(sync: SyncDriver) -> None:
    sync.options = replace(sync.options, apply_concurrently=True)


async def test_both_targets_are_applied_at_once(sync: SyncDriver, fake: FakeActivities) -> None:
    at_once(sync)
    kubernetes = fake.block(APPLY_K)
    git = fake.block(APPLY_G)

    await sync.upsert(1)
    await kubernetes.wait_entered()
    await git.wait_entered()  # the Git apply started while the Kubernetes one is held
    git.release()
    await sync.wait_state(lambda s: TARGET_GIT in s.targets, "Git applied, Kubernetes held")
    assert TARGET_KUBERNETES not in (await sync.state()).targets
    kubernetes.release()

    state = await sync.wait_synced(1)
    assert set(state.targets) == {TARGET_KUBERNETES, TARGET_GIT}


async def test_by_default_a_target_waits_for_the_one_before(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    kubernetes = fake.block(APPLY_K)

    await sync.upsert(1)
    await kubernetes.wait_entered()
    assert fake.names() == [APPLY_K]  # Git waits for Kubernetes
    kubernetes.release()

    await sync.wait_synced(1)
    assert fake.names() == [APPLY_K, APPLY_G]


async def test_a_first_apply_failing_for_good_on_one_target_undoes_the_other(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    at_once(sync)
    fake.fail(APPLY_G, permanent=True)

    await sync.upsert(1)
    state = await wait_failed(sync, 1)
    await sync.wait_state(lambda s: len(fake.reports) == 1, "failure recorded")

    assert sorted(fake.names()[:2]) == sorted([APPLY_K, APPLY_G])
    assert fake.names()[2:] == [REMOVE_K, RECORD_FAILURE.name]
    assert state.targets == {}
    assert "apply_git" in state.last_error


async def test_a_transient_failure_is_retried_and_the_other_target_keeps_its_version(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    at_once(sync)
    fake.fail(APPLY_K, times=2)

    await sync.upsert(1)
    state = await sync.wait_synced(1)

    assert fake.versions(APPLY_K) == [1, 1, 1]
    assert fake.versions(REMOVE_K) == []
    assert state.targets[TARGET_GIT].applied_version == 1


async def test_a_move_leaves_the_old_targets_once_every_new_one_holds_the_version(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    sync.options = replace(environments(sync.options), apply_concurrently=True)
    await sync.upsert(1, environment="dev")
    await sync.wait_synced(1)
    overlay = fake.block(APPLY_G)

    await sync.upsert(2, environment="prod")
    await overlay.wait_entered()
    await sync.wait_state(lambda s: "prod" in s.targets, "the prod cluster applied")
    assert [s for s in later_steps(fake, 2) if s[0] in (REMOVE_K, REMOVE_G)] == []
    overlay.release()

    state = await sync.wait_synced(2)
    assert later_steps(fake, 2)[2:] == [(REMOVE_G, "gitops-dev", 2), (REMOVE_K, "dev", 2)]
    assert set(state.targets) == {"prod", "gitops-prod"}
