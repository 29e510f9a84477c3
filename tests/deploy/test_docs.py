"""docs/deploy.md stays true: its PrometheusRule is valid YAML naming only metrics the code
exports, and the Secrets it tells operators to create are the ones the manifests read."""

from __future__ import annotations

import re
from typing import Any

import yaml
from prometheus_client import REGISTRY

import activities.syncmetrics
import api.web.requestmetrics
import worker.pipelinemetrics
from tests.deploy.conftest import ROOT
from tests.deploy.objects import Obj, pod_specs

DOC = ROOT / "docs" / "deploy.md"
#: The modules whose import registers every rendersync metric.
METRIC_MODULES = (activities.syncmetrics, api.web.requestmetrics, worker.pipelinemetrics)


#: The series each metric type exposes (a labelled metric has no samples before its first use).
SUFFIXES = {"counter": ("_total",), "histogram": ("", "_bucket", "_sum", "_count")}


def _exported() -> set[str]:
    return {
        family.name + suffix
        for family in REGISTRY.collect()
        for suffix in SUFFIXES.get(family.type, ("",))
    }


def _prometheus_rule() -> dict[str, Any]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    rules = [yaml.safe_load(b) for b in blocks if "kind: PrometheusRule" in b]
    assert len(rules) == 1, "docs/deploy.md has one PrometheusRule example"
    rule: dict[str, Any] = rules[0]
    return rule


def test_the_prometheus_rule_names_only_exported_metrics() -> None:
    assert METRIC_MODULES
    rule = _prometheus_rule()
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    assert exprs, "the example has rules"
    named = {n for e in exprs for n in re.findall(r"\brendersync_[a-z_]+", e)}
    exported = _exported()
    assert named, exprs
    assert named - exported == set(), sorted(exported)
    table = set(re.findall(r"`(rendersync_[a-z_]+)", DOC.read_text(encoding="utf-8")))
    assert table - exported == set()


def test_the_documented_secrets_are_the_ones_the_pods_read(built: dict[str, list[Obj]]) -> None:
    read = {
        (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for spec in pod_specs(built["prod"]).values()
        for c in spec["containers"]
        for e in c.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    row = re.compile(r"^\| `(rendersync-[a-z-]+)` \| `([a-z]+)` \|", re.M)
    documented = set(row.findall(DOC.read_text(encoding="utf-8")))
    assert documented == read
