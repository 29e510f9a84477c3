"""What drift repair calls drift: a live CR whose version annotation is above the row's, or
whose content differs from what the revision at its version renders; an older CR that
matches its own revision is a sync under way and is left alone."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from k8s.manifests import render_appconfig
from k8s.watching import WatchEvent
from persistence.tables import AppConfigRow
from persistence.writing import Content, create_appconfig, delete_appconfig, update_appconfig
from vocabulary import VERSION_ANNOTATION
from vocabulary.routing import Route
from worker.driftrepair import drifted_row
from workflows.contracts import SyncOptions

NS = "ns"


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    return sqlite_engine


def content(replicas: int) -> Content:
    spec = {"app": "web", "environment": "dev", "replicas": replicas}
    return Content(spec=spec, labels={"team": "a"}, annotations={"note": "x"})


def two_versions(engine: Engine) -> tuple[AppConfigRow, AppConfigRow]:
    """``web`` at v1 (1 replica), then at v2 (2 replicas)."""
    first = create_appconfig(engine, namespace=NS, name="web", content=content(1), actor="t")
    second = update_appconfig(
        engine, namespace=NS, name="web", content=content(2), expected_version=None, actor="t"
    )
    return first, second


def live(row: AppConfigRow, *, version: int | None = None, **spec: Any) -> dict[str, Any]:
    """The CR rendered from ``row``, with ``version`` and ``spec`` fields overridden."""
    cr = render_appconfig(
        namespace=row.namespace,
        name=row.name,
        spec={**row.spec, **spec},
        labels=row.labels,
        annotations=row.annotations,
        seq=row.seq if version is None else version,
    )
    cr["metadata"]["resourceVersion"] = "17"
    return cr


def drift(engine: Engine, obj: dict[str, Any], kind: str = "MODIFIED") -> int | None:
    row = drifted_row(engine, WatchEvent(kind, obj), target="kubernetes", options=SyncOptions())
    return None if row is None else row.seq


def test_the_rows_rendering_is_no_drift(engine: Engine) -> None:
    _, current = two_versions(engine)
    assert drift(engine, live(current)) is None


def test_a_hand_edit_at_the_rows_version_is_drift(engine: Engine) -> None:
    _, current = two_versions(engine)
    assert drift(engine, live(current, replicas=9)) == current.seq


def test_a_version_above_the_rows_is_drift(engine: Engine) -> None:
    _, current = two_versions(engine)
    assert drift(engine, live(current, version=999)) == current.seq


def test_an_older_version_matching_its_revision_is_a_sync_under_way(engine: Engine) -> None:
    first, _ = two_versions(engine)
    assert drift(engine, live(first)) is None


def test_an_older_version_with_another_spec_is_drift(engine: Engine) -> None:
    first, current = two_versions(engine)
    assert drift(engine, live(first, replicas=9)) == current.seq


def test_an_older_version_with_changed_metadata_is_drift(engine: Engine) -> None:
    first, current = two_versions(engine)
    cr = live(first)
    cr["metadata"]["labels"]["team"] = "b"
    assert drift(engine, cr) == current.seq


def test_a_version_the_key_never_had_is_drift(engine: Engine) -> None:
    create_appconfig(engine, namespace=NS, name="web", content=content(1), actor="t")
    other = create_appconfig(engine, namespace=NS, name="api", content=content(1), actor="t")
    current = update_appconfig(
        engine, namespace=NS, name="web", content=content(2), expected_version=None, actor="t"
    )
    # Below web's version, and the revision at that version belongs to another key.
    assert drift(engine, live(current, version=other.seq, replicas=1)) == current.seq


def test_a_removed_version_annotation_is_drift(engine: Engine) -> None:
    _, current = two_versions(engine)
    cr = live(current)
    del cr["metadata"]["annotations"][VERSION_ANNOTATION]
    assert drift(engine, cr) == current.seq


def test_a_hand_delete_of_a_live_key_is_drift(engine: Engine) -> None:
    _, current = two_versions(engine)
    assert drift(engine, live(current), kind="DELETED") == current.seq


def test_keys_without_a_live_row_are_left_alone(engine: Engine) -> None:
    _, current = two_versions(engine)
    delete_appconfig(engine, namespace=NS, name="web", expected_version=None, actor="t")
    assert drift(engine, live(current, version=999)) is None  # a delete is under way
    orphan = live(current)
    orphan["metadata"]["name"] = "ghost"
    assert drift(engine, orphan) is None  # an orphan: collected, not repaired


def test_the_version_of_a_delete_is_drift(engine: Engine) -> None:
    first = create_appconfig(engine, namespace=NS, name="web", content=content(1), actor="t")
    tombstone = delete_appconfig(engine, namespace=NS, name="web", expected_version=None, actor="t")
    current = create_appconfig(engine, namespace=NS, name="web", content=content(1), actor="t")
    assert drift(engine, live(first)) is None  # the old incarnation: compensation under way
    assert drift(engine, live(current, version=tombstone.seq)) == current.seq


def test_a_deletion_known_by_its_key_alone_is_drift(engine: Engine) -> None:
    """A CR that vanished while the watch was away shows up, after the re-list, as a DELETED
    event with its metadata alone (``k8s.watching``); that is enough to repair it."""
    _, current = two_versions(engine)
    gone = {"metadata": {"namespace": NS, "name": "web", "resourceVersion": "17"}}
    assert drift(engine, gone, kind="DELETED") == current.seq


ROUTED = SyncOptions(
    targets=("dev", "prod"),
    target_kinds={"dev": "kubernetes", "prod": "kubernetes"},
    routes=(Route(("dev",), environment="dev"), Route(("prod",), environment="prod")),
)


@pytest.mark.parametrize(("cluster", "repaired"), [("dev", True), ("prod", False)])
def test_only_a_cluster_the_row_routes_to_repairs_its_drift(
    engine: Engine, cluster: str, repaired: bool
) -> None:
    _, current = two_versions(engine)  # environment dev
    edited = live(current, replicas=7)

    row = drifted_row(engine, WatchEvent("MODIFIED", edited), target=cluster, options=ROUTED)
    gone = drifted_row(engine, WatchEvent("DELETED", edited), target=cluster, options=ROUTED)

    assert (row is not None, gone is not None) == (repaired, repaired)
