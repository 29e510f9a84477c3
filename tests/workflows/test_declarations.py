"""The declared activities: their names stay those recorded in histories, the worker's activity
classes serve every one, and the test fakes stand in for every one the sync workflow calls."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine
from temporalio import activity

from activities.git import GitActivities, GitPlace
from activities.kubernetes import Cluster, KubernetesActivities
from activities.options import OptionsActivities
from activities.reporting import StatusActivities
from activities.webhooks import NotifyActivities, NotifyConfig
from gitops.repository import GitRepository
from tests.workflows.fakes import FakeActivities
from worker.temporalworker import missing, served
from workflows.contracts import SyncOptions
from workflows.declarations import COMMON, DELIVER_NOTIFICATION, NOTIFY_RECEIVERS, TARGETS


def test_activity_names_are_those_recorded_in_histories() -> None:
    assert {t: (d.apply.name, d.remove.name) for t, d in TARGETS.items()} == {
        "kubernetes": ("apply_kubernetes", "delete_kubernetes"),
        "git": ("apply_git", "remove_git"),
    }
    assert [d.name for d in COMMON] == [
        "record_failure",
        "finish_delete",
        "sync_options",
        "notify_receivers",
        "deliver_notification",
    ]


def test_the_worker_serves_every_declared_activity() -> None:
    engine = create_engine("sqlite://")
    repo = GitRepository(remote="r.git", workdir=Path("w"), author_name="a", author_email="a@b")
    activities = served(
        KubernetesActivities({"kubernetes": Cluster(object())}, engine),
        GitActivities({"git": GitPlace(repo)}, engine),
        StatusActivities(engine),
        OptionsActivities(SyncOptions),
        NotifyActivities(NotifyConfig),
    )

    assert missing(activities, kinds=TARGETS) == []
    assert len(activities) == len(COMMON) + 2 * len(TARGETS)


def test_a_worker_without_a_targets_activities_lacks_them() -> None:
    engine = create_engine("sqlite://")
    activities = served(
        StatusActivities(engine), OptionsActivities(SyncOptions), NotifyActivities(NotifyConfig)
    )

    assert missing(activities, kinds=()) == []
    assert missing(activities, kinds=["git"]) == ["apply_git", "remove_git"]


def test_the_fakes_stand_in_for_every_activity_the_sync_calls() -> None:
    names = {activity._Definition.must_from_callable(f).name for f in FakeActivities().activities()}
    notifying = {NOTIFY_RECEIVERS.name, DELIVER_NOTIFICATION.name}

    assert names == {d.name for d in COMMON} - notifying | {
        a.name for t in TARGETS.values() for a in (t.apply, t.remove)
    }
