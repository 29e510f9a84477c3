"""DELETE with a DeleteOptions body: uid and resourceVersion preconditions as Kubernetes
honours them (409 with a Status on mismatch), anything else refused with 400 naming it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import BASE, appconfig


def create(client: TestClient) -> dict[str, Any]:
    response = client.post(BASE, json=appconfig("web"))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def delete(client: TestClient, options: Any) -> Any:
    return client.request("DELETE", f"{BASE}/web", json=options)


def test_matching_preconditions_delete(client: TestClient) -> None:
    meta = create(client)["metadata"]
    options = {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "propagationPolicy": "Background",
        "preconditions": {"uid": meta["uid"], "resourceVersion": meta["resourceVersion"]},
    }
    response = delete(client, options)
    assert response.status_code == 200, response.text
    assert response.json()["status"]["phase"] == "Deleting"


@pytest.mark.parametrize(
    "preconditions",
    [{"uid": "00000000-0000-0000-0000-000000000000"}, {"resourceVersion": "999"}],
)
def test_a_mismatched_precondition_is_a_conflict_and_deletes_nothing(
    client: TestClient, preconditions: dict[str, Any]
) -> None:
    create(client)
    response = delete(client, {"preconditions": preconditions})
    assert response.status_code == 409, response.text
    status = response.json()
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Conflict", 409)
    assert next(iter(preconditions)).lower() in status["message"].lower()
    assert client.get(f"{BASE}/web").status_code == 200


def test_the_uid_precondition_protects_a_recreated_object(client: TestClient) -> None:
    first = create(client)["metadata"]
    assert client.delete(f"{BASE}/web").status_code == 200
    create(client)
    response = delete(client, {"preconditions": {"uid": first["uid"]}})
    assert response.status_code == 409, response.text
    assert client.get(f"{BASE}/web").status_code == 200


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"preconditions": {"resourceVersion": 1}}, "preconditions.resourceVersion"),
        ({"preconditions": {"resourceVersion": "v1"}}, "preconditions.resourceVersion"),
        ({"preconditions": {"uid": 7}}, "preconditions.uid"),
        ({"preconditions": {"generation": "1"}}, "preconditions.generation"),
        ({"preconditions": ["1"]}, "preconditions"),
        ({"dryRun": ["All"]}, "dryRun"),
        ({"gracePeriodSeconds": "0"}, "gracePeriodSeconds"),
        ({"propagationPolicy": "Sometimes"}, "propagationPolicy"),
        ({"kind": "Pod"}, "kind"),
        ({"force": True}, "force"),
        (["preconditions"], "body"),
    ],
)
def test_malformed_delete_options_are_refused(client: TestClient, options: Any, field: str) -> None:
    create(client)
    response = delete(client, options)
    assert response.status_code == 400, response.text
    status = response.json()
    assert status["reason"] == "BadRequest"
    assert field in status["message"]
    assert [c["field"] for c in status["details"]["causes"]] == [field]
    assert client.get(f"{BASE}/web").status_code == 200


@pytest.mark.parametrize("grace", [0, 15, 15.0])
def test_a_whole_grace_period_is_accepted_as_json_schema_reads_it(
    client: TestClient, grace: Any
) -> None:
    create(client)
    response = delete(client, {"apiVersion": "v1", "gracePeriodSeconds": grace})
    assert response.status_code == 200, response.text
