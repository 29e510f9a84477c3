"""Which helper loops the worker supervises, by settings and configured targets."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from sqlalchemy import create_engine

from activities.git import GitPlace
from activities.kubernetes import Cluster
from gitops.repository import GitRepository
from rendersync.processes import WorkerParts, helper_loops
from rendersync.settings import Settings, SyncSettings
from worker.signalling import Signaller


def loops(sync: SyncSettings, *, kube: bool = True, git: bool = True) -> list[str]:
    repo = GitRepository(remote="r.git", workdir=Path("w"), author_name="a", author_email="a@b")
    parts = WorkerParts(
        engine=create_engine("sqlite://"),
        activities=[],
        clusters={"kubernetes": Cluster(object())} if kube else {},
        places={"git": GitPlace(repo)} if git else {},
    )
    settings = Settings(sync=sync)
    return sorted(helper_loops(settings, parts, cast(Signaller, object())))


def test_every_helper_loop_runs_by_default() -> None:
    assert loops(SyncSettings()) == ["anti-entropy", "drift", "orphans"]


def test_a_zero_interval_turns_a_periodic_loop_off() -> None:
    assert loops(SyncSettings(resync_interval_s=0, orphan_interval_s=0)) == ["drift"]


def test_orphans_are_collected_from_git_alone_without_kubernetes() -> None:
    assert loops(SyncSettings(), kube=False) == ["anti-entropy", "orphans"]
    assert loops(SyncSettings(resync_interval_s=0), kube=False, git=False) == []
