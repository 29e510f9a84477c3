"""A revision's provenance names what each target holds by the target's kind: a Kubernetes
target's resourceVersion and object uid, a Git target's commit, whatever the target's name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.web.provenancerendering import provenance_of
from persistence.provenance import APPLIED, ProvenanceRow
from persistence.tables import Revision

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _row(stage: str, detail: str) -> ProvenanceRow:
    return ProvenanceRow(
        namespace="shop",
        name="web",
        seq=7,
        stage=stage,
        outcome=APPLIED,
        detail={"detail": detail},
        object_uid="uid-1" if stage in ("kubernetes", "prod") else "",
        recorded_at=NOW,
    )


def _revision() -> Revision:
    return Revision(
        seq=7,
        namespace="shop",
        name="web",
        op="update",
        actor="alice",
        uid="uid-1",
        generation=2,
        spec={},
        labels={},
        annotations={},
        created_at=NOW,
    )


def _steps(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["stage"]: step for step in found["steps"]}


def test_named_targets_show_what_they_hold_by_kind() -> None:
    rows = [_row("prod", "417"), _row("gitops-prod", "c0ffee")]
    kinds = {"prod": "kubernetes", "gitops-prod": "git"}

    steps = _steps(provenance_of(rows, _revision(), ("prod", "gitops-prod"), kinds))

    assert (steps["prod"]["resourceVersion"], steps["prod"]["uid"]) == ("417", "uid-1")
    assert steps["gitops-prod"]["commit"] == "c0ffee"
    assert "commit" not in steps["prod"]
    assert "resourceVersion" not in steps["gitops-prod"]


def test_the_default_targets_are_their_kinds() -> None:
    rows = [_row("kubernetes", "9"), _row("git", "beef")]

    steps = _steps(provenance_of(rows, _revision(), ("kubernetes", "git"), {}))

    assert steps["kubernetes"]["resourceVersion"] == "9"
    assert steps["git"]["commit"] == "beef"
