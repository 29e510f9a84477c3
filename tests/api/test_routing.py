"""Routing in the REST API: a write (create, replace, merge patch, their previews) of an
AppConfig no routing rule routes is refused with 422 on ``spec.environment`` and writes
nothing; ``status.targets`` holds the targets a row routes to, keyed by target name, and its
phase is taken over them; a live row the rules no longer route is Failed."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.web.app import create_app
from persistence import syncstatus
from tests.api.conftest import appconfig
from tests.api.test_preview import written
from vocabulary.routing import Route, unrouted_reason

TARGETS = ("prod", "staging", "gitops-prod")
ROUTES = (
    Route(("prod", "gitops-prod"), environment="prod", namespace="team-*"),
    Route(("staging",), environment="staging", labels={"tier": "web"}),
)
MERGE = {"content-type": "application/merge-patch+json"}


def base(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/appconfigs"


@pytest.fixture
def routed_app(engine: Engine) -> FastAPI:
    return create_app(engine=engine, targets=TARGETS, routes=ROUTES, ui_url="http://ui.test")


@pytest.fixture
def routed(routed_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(routed_app, raise_server_exceptions=False) as test_client:
        yield test_client


#: (case, namespace, a routed AppConfig there, the unrouted write's spec and labels).
UNROUTED: list[tuple[str, str, dict[str, Any], dict[str, Any], dict[str, str]]] = [
    (
        "environment",
        "team-a",
        {"spec": {"environment": "prod", "replicas": 2}, "labels": {}},
        {"environment": "dev"},
        {},
    ),
    (
        "namespace-pattern",
        "default",
        {"spec": {"environment": "staging"}, "labels": {"tier": "web"}},
        {"environment": "prod", "replicas": 2},
        {"tier": "web"},
    ),
    (
        "labels",
        "team-a",
        {"spec": {"environment": "prod", "replicas": 2}, "labels": {}},
        {"environment": "staging"},
        {"tier": "db"},
    ),
]
OPS = ["create", "replace", "patch"]


def _write(
    client: TestClient, op: str, namespace: str, spec: dict[str, Any], labels: dict[str, str],
    params: dict[str, str],
) -> Any:  # fmt: skip
    if op == "create":
        return client.post(
            base(namespace), json=appconfig("new", labels=labels, **spec), params=params
        )
    if op == "replace":
        made = appconfig("web", labels=labels, **spec)
        return client.put(f"{base(namespace)}/web", json=made, params=params)
    patch = {"metadata": {"labels": labels}, "spec": spec}
    return client.patch(f"{base(namespace)}/web", json=patch, headers=MERGE, params=params)


@pytest.mark.parametrize("dry_run", [False, True], ids=["write", "dryRun"])
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize(("case", "namespace", "existing", "spec", "labels"), UNROUTED,
                         ids=[c[0] for c in UNROUTED])  # fmt: skip
def test_an_unrouted_appconfig_is_refused_on_its_environment_and_nothing_is_written(
    routed: TestClient,
    engine: Engine,
    case: str,
    namespace: str,
    existing: dict[str, Any],
    spec: dict[str, Any],
    labels: dict[str, str],
    op: str,
    dry_run: bool,
) -> None:
    made = routed.post(
        base(namespace), json=appconfig("web", labels=existing["labels"], **existing["spec"])
    )
    assert made.status_code == 201, made.text
    before = written(engine)
    params = {"dryRun": "All"} if dry_run else {}
    answer = _write(routed, op, namespace, spec, labels, params)
    assert answer.status_code == 422, answer.text
    status = answer.json()
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Invalid", 422)
    item = SimpleNamespace(namespace=namespace, spec={"app": "web", **spec}, labels=labels or {})
    if op == "patch":  # merged: the labels the patch leaves
        item.labels = {**existing["labels"], **labels}
    reason = unrouted_reason(item)
    assert reason.startswith("no routing rule routes")
    assert status["details"]["causes"] == [
        {"field": "spec.environment", "reason": "FieldValueInvalid", "message": reason}
    ]
    assert f"spec.environment: {reason}" in status["message"]
    assert repr(namespace) in reason
    assert repr(spec["environment"]) in reason
    assert written(engine) == before, "no seq, row, revision or outbox event"
    if op != "create":
        live = routed.get(f"{base(namespace)}/web").json()
        assert live["metadata"]["resourceVersion"] == made.json()["metadata"]["resourceVersion"]
    else:
        assert routed.get(f"{base(namespace)}/new").status_code == 404


def test_routed_writes_pass(routed: TestClient) -> None:
    prod = appconfig("web", environment="prod", replicas=2)
    assert routed.post(base("team-a"), json=prod).status_code == 201
    staging = appconfig("web", labels={"tier": "web"}, environment="staging")
    assert routed.post(base("default"), json=staging).status_code == 201
    moved = {"spec": {"environment": "staging"}, "metadata": {"labels": {"tier": "web"}}}
    answer = routed.patch(f"{base('team-a')}/web", json=moved, headers=MERGE)
    assert answer.status_code == 200, answer.text


def test_without_routes_every_appconfig_is_routed(client: TestClient) -> None:
    made = client.post(base("anywhere"), json=appconfig("web", labels={"tier": "db"}))
    assert made.status_code == 201, made.text


def _applied(engine: Engine, namespace: str, target: str, version: int) -> None:
    syncstatus.record_applied(
        engine, namespace=namespace, name="web", target=target, version=version, detail="d"
    )


def test_status_shows_the_routed_targets_by_name_and_its_phase_over_them(
    routed: TestClient, engine: Engine
) -> None:
    made = routed.post(base("team-a"), json=appconfig("web", environment="prod", replicas=2))
    version = int(made.json()["metadata"]["resourceVersion"])
    assert set(made.json()["status"]["targets"]) <= {"prod", "gitops-prod"}
    _applied(engine, "team-a", "staging", version)  # held before a move: not shown
    _applied(engine, "team-a", "prod", version)
    status = routed.get(f"{base('team-a')}/web").json()["status"]
    assert set(status["targets"]) == {"prod", "gitops-prod"}
    assert status["targets"]["gitops-prod"]["appliedVersion"] == 0
    assert status["targets"]["prod"]["appliedVersion"] == version
    assert (status["phase"], status["appliedVersion"]) == ("Syncing", 0)
    _applied(engine, "team-a", "gitops-prod", version)
    status = routed.get(f"{base('team-a')}/web").json()["status"]
    assert set(status["targets"]) == {"prod", "gitops-prod"}
    assert (status["phase"], status["appliedVersion"]) == ("Synced", version)


def test_a_live_row_the_rules_no_longer_route_is_failed(
    client: TestClient, routed: TestClient, engine: Engine
) -> None:
    made = client.post(base("default"), json=appconfig("web", environment="dev"))
    version = int(made.json()["metadata"]["resourceVersion"])
    _applied(engine, "default", "staging", version)
    status = routed.get(f"{base('default')}/web").json()["status"]
    reason = unrouted_reason(SimpleNamespace(namespace="default", spec={"environment": "dev"},
                                             labels={}))  # fmt: skip
    assert (status["phase"], status["lastError"]) == ("Failed", reason)
    assert status["targets"] == {}
    assert status["appliedVersion"] == 0


def test_a_rollback_to_a_revision_no_rule_routes_is_refused(
    client: TestClient, routed: TestClient, engine: Engine
) -> None:
    made = client.post(base("default"), json=appconfig("web", environment="dev"))
    first = int(made.json()["metadata"]["resourceVersion"])
    staging = appconfig("web", labels={"tier": "web"}, environment="staging")
    assert routed.put(f"{base('default')}/web", json=staging).status_code == 200
    before = written(engine)
    answer = routed.post(f"{base('default')}/web/rollback", json={"toVersion": first})
    assert answer.status_code == 422, answer.text
    item = SimpleNamespace(namespace="default", spec={"environment": "dev"}, labels={})
    assert answer.json()["details"]["causes"] == [
        {
            "field": "spec.environment",
            "reason": "FieldValueInvalid",
            "message": unrouted_reason(item),
        }
    ]
    assert written(engine) == before


def test_a_named_targets_status_names_what_it_holds_by_its_kind(engine: Engine) -> None:
    kinds = {"prod": "kubernetes", "staging": "kubernetes", "gitops-prod": "git"}
    app = create_app(
        engine=engine, targets=TARGETS, target_kinds=kinds, routes=ROUTES, ui_url="http://ui.test"
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        made = client.post(base("team-a"), json=appconfig("web", environment="prod", replicas=2))
        version = int(made.json()["metadata"]["resourceVersion"])
        syncstatus.record_applied(
            engine, namespace="team-a", name="web", target="prod", version=version, detail="417"
        )
        syncstatus.record_applied(
            engine,
            namespace="team-a",
            name="web",
            target="gitops-prod",
            version=version,
            detail="c0ffee",
        )
        targets = client.get(f"{base('team-a')}/web").json()["status"]["targets"]

    assert targets["prod"]["resourceVersion"] == "417"
    assert targets["gitops-prod"]["commit"] == "c0ffee"
    assert "detail" not in targets["prod"]
    assert "detail" not in targets["gitops-prod"]
