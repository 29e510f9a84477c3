"""The CRD's openAPIV3Schema agrees with the shared spec cases, enforced by the API server."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from k8s.manifests import load_crd
from rendersync.devstack.k8semulator.schema import apply_defaults, validate
from tests.k8s.conftest import Cluster
from tests.k8s.helpers import create, status_body
from tests.support.builders import API_ONLY_CASES, SPEC_CASES
from vocabulary import API_VERSION, KIND


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = load_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _object(namespace: str, case_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": case_id.lower(), "namespace": namespace},
        "spec": spec,
    }


@pytest.mark.parametrize(
    ("case_id", "spec", "valid", "field"), SPEC_CASES, ids=[c[0] for c in SPEC_CASES]
)
def test_schema_validator_agrees(
    case_id: str, spec: dict[str, Any], valid: bool, field: str | None
) -> None:
    obj = _object("default", case_id, dict(spec))
    apply_defaults(_schema(), obj)
    fields = [c.field for c in validate(_schema(), obj)]
    assert (not fields) is valid, fields
    if field:
        assert any(f == field or f.startswith((field + ".", field + "[")) for f in fields), fields


@pytest.mark.realcluster
@pytest.mark.parametrize(
    ("case_id", "spec", "valid", "field"), SPEC_CASES, ids=[c[0] for c in SPEC_CASES]
)
async def test_api_server_agrees(
    cluster: Cluster, case_id: str, spec: dict[str, Any], valid: bool, field: str | None
) -> None:
    obj = _object(cluster.namespace, case_id, spec)
    if valid:
        created = await create(cluster.api, obj)
        assert created["spec"]["app"] == spec["app"]
        return
    with pytest.raises(ApiException) as caught:
        await create(cluster.api, obj)
    body = status_body(caught.value)
    assert caught.value.status == 422, body
    assert body["reason"] == "Invalid"
    assert body["message"].startswith(f'AppConfig.rendersync.dev "{case_id}" is invalid: ')
    fields = [c.get("field", "") for c in body["details"]["causes"]]
    assert any(f == field or f.startswith((f"{field}.", f"{field}[")) for f in fields), fields


@pytest.mark.realcluster
@pytest.mark.parametrize(
    ("case_id", "spec", "field"), API_ONLY_CASES, ids=[c[0] for c in API_ONLY_CASES]
)
async def test_api_only_cases_pass_the_crd(
    cluster: Cluster, case_id: str, spec: dict[str, Any], field: str
) -> None:
    created = await create(cluster.api, _object(cluster.namespace, case_id, spec))
    assert "colour" not in created["spec"]  # unknown fields are pruned, not stored


def test_defaults_fill_replicas() -> None:
    obj = _object("default", "d", {"app": "web", "environment": "dev"})
    apply_defaults(_schema(), obj)
    assert obj["spec"]["replicas"] == 1
