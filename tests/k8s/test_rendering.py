"""Rendering is pure and deterministic: same input, same object, same bytes."""

from __future__ import annotations

from typing import Any

import yaml

from k8s.manifests import MANAGED_BY_LABEL, load_crd, render_appconfig, render_yaml, version_of
from vocabulary import API_VERSION, CRD_NAME, KIND, VERSION_ANNOTATION


def _render(spec: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    return render_appconfig(
        namespace="team-a",
        name="web",
        spec=spec,
        labels=labels,
        annotations={"owner": "alice", VERSION_ANNOTATION: "0"},
        seq=42,
    )


def test_marks_are_set_and_win_over_user_metadata() -> None:
    cr = _render({"app": "web", "environment": "dev"}, {MANAGED_BY_LABEL: "someone", "tier": "x"})
    assert (cr["apiVersion"], cr["kind"]) == (API_VERSION, KIND)
    assert cr["metadata"]["labels"] == {MANAGED_BY_LABEL: "rendersync", "tier": "x"}
    assert cr["metadata"]["annotations"] == {"owner": "alice", VERSION_ANNOTATION: "42"}
    assert version_of(cr) == 42


def test_same_input_same_bytes_regardless_of_key_order() -> None:
    spec_a = {"app": "web", "environment": "dev", "data": {"b": "2", "a": "1"}, "replicas": 2}
    spec_b = {"replicas": 2, "data": {"a": "1", "b": "2"}, "environment": "dev", "app": "web"}
    first = render_yaml(_render(spec_a, {"z": "1", "a": "2"}))
    second = render_yaml(_render(spec_b, {"a": "2", "z": "1"}))
    assert first == second
    assert first.endswith("\n")
    assert not first.startswith("---")
    assert yaml.safe_load(first) == _render(spec_a, {"z": "1", "a": "2"})


def test_rendering_does_not_alias_the_input() -> None:
    spec: dict[str, Any] = {"app": "web", "environment": "dev", "data": {"a": "1"}}
    cr = _render(spec, {})
    cr["spec"]["data"]["a"] = "changed"
    assert spec["data"]["a"] == "1"


def test_version_of_tolerates_garbage() -> None:
    assert version_of(None) == 0
    assert version_of({}) == 0
    assert version_of({"metadata": {"annotations": {VERSION_ANNOTATION: "x1"}}}) == 0
    assert version_of({"metadata": {"annotations": {VERSION_ANNOTATION: "-3"}}}) == 0
    assert version_of({"metadata": {"annotations": None}}) == 0


def test_crd_is_packaged() -> None:
    crd = load_crd()
    assert crd["metadata"]["name"] == CRD_NAME
    assert crd["spec"]["names"]["shortNames"] == ["ac"]
