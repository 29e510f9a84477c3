"""The AppConfig custom resource as data: rendering, the version annotation, the CRD (the
names it carries are in ``vocabulary``).

Pure functions only. The same renderer feeds direct apply and the GitOps file, so both targets
receive exactly the same object (and, through :func:`render_yaml`, the same bytes).
"""

from __future__ import annotations

import copy
import importlib.resources
from collections.abc import Mapping
from typing import Any

import yaml

from vocabulary import API_VERSION, KIND, VERSION_ANNOTATION

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "rendersync"
MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"

#: Wide enough that long data values stay on one line in Git diffs.
_YAML_WIDTH = 4096


def render_appconfig(
    *,
    namespace: str,
    name: str,
    spec: Mapping[str, Any],
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    seq: int,
) -> dict[str, Any]:
    """Build the AppConfig object for one committed change.

    The managed-by label and the version annotation are set last, so user metadata cannot
    remove the marks that selection and fencing rely on.
    """
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**labels, MANAGED_BY_LABEL: MANAGED_BY_VALUE},
            "annotations": {**annotations, VERSION_ANNOTATION: str(seq)},
        },
        "spec": _plain(spec),
    }


def render_yaml(cr: Mapping[str, Any]) -> str:
    """Serialize a CR as one YAML document: sorted keys, no ``---``, trailing newline."""
    text: str = yaml.safe_dump(
        _plain(cr),
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
        width=_YAML_WIDTH,
        explicit_start=False,
    )
    return text if text.endswith("\n") else text + "\n"


def _normalized(value: Any) -> Any:
    """Drop empty maps and lists: a server may omit them without any real difference."""
    if isinstance(value, dict):
        items = {k: _normalized(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v not in ({}, [], None)}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def holds_rendered(rendered: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    """Whether ``live`` holds what ``rendered`` (a :func:`render_appconfig` result) says: the
    same spec, and its labels and annotations (a live object may carry more of those)."""
    meta = live.get("metadata", {})
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    want = rendered["metadata"]
    return (
        _normalized(rendered["spec"]) == _normalized(live.get("spec") or {})
        and all(labels.get(k) == v for k, v in (want.get("labels") or {}).items())
        and all(annotations.get(k) == v for k, v in (want.get("annotations") or {}).items())
    )


def version_of(obj: Mapping[str, Any] | None) -> int:
    """The ``rendersync.dev/version`` of an object; 0 when absent or not a non-negative int."""
    if not obj:
        return 0
    metadata = obj.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    raw = annotations.get(VERSION_ANNOTATION) if isinstance(annotations, Mapping) else None
    if not isinstance(raw, str) or not raw.isdigit():
        return 0
    return int(raw)


def load_crd() -> dict[str, Any]:
    """The AppConfig CustomResourceDefinition shipped as package data."""
    resource = importlib.resources.files("k8s").joinpath("manifests/crd.yaml")
    loaded = yaml.safe_load(resource.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError("k8s/manifests/crd.yaml does not hold a mapping")
    return loaded


def _plain(value: Any) -> Any:
    """Deep copy into plain dicts/lists so callers' objects are never aliased or mutated."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return copy.deepcopy(value)
