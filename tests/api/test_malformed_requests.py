"""Malformed bodies and parameters get a 4xx Status naming the part, never a 500, and the
Status stays well-typed (``details.name`` is a string or absent); nothing is written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from persistence.reading import count_rows, current_seq
from tests.api.conftest import BASE, appconfig

MERGE = {"content-type": "application/merge-patch+json"}


@pytest.mark.parametrize("metadata", [[None, None], "web", 7])
def test_create_with_metadata_not_an_object_is_422(
    client: TestClient, engine: Engine, metadata: Any
) -> None:
    response = client.post(BASE, json={**appconfig("web"), "metadata": metadata})
    assert response.status_code == 422, response.text
    assert "metadata" in {c["field"] for c in response.json()["details"]["causes"]}
    assert count_rows(engine)["appconfigs"] == 0


@pytest.mark.parametrize("name", [[None, None], 7, {"a": 1}])
def test_a_name_that_is_not_a_string_is_not_echoed(client: TestClient, name: Any) -> None:
    response = client.post(BASE, json={**appconfig("web"), "metadata": {"name": name}})
    assert response.status_code == 422, response.text
    details = response.json()["details"]
    assert "name" not in details, details
    assert "metadata.name" in {c["field"] for c in details["causes"]}


@pytest.mark.parametrize("metadata", [5, True, [1]])
def test_patch_with_metadata_not_an_object_is_422(
    client: TestClient, engine: Engine, metadata: Any
) -> None:
    assert client.post(BASE, json=appconfig("web")).status_code == 201
    before = current_seq(engine)
    response = client.patch(f"{BASE}/web", json={"metadata": metadata}, headers=MERGE)
    assert response.status_code == 422, response.text
    assert current_seq(engine) == before


@pytest.mark.parametrize("timeout", ["", "soon", "10 s", "\u0661\u0660s"])
def test_a_malformed_timeout_is_400_even_without_wait(client: TestClient, timeout: str) -> None:
    assert client.post(BASE, json=appconfig("web")).status_code == 201
    response = client.get(f"{BASE}/web", params={"timeout": timeout})
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("timeout:")


@pytest.mark.parametrize(
    ("where", "value"),
    [("if-match", '"²"'), ("if-match", "²"), ("body", "²"), ("delete", "²")],
)
def test_a_resource_version_of_non_ascii_digits_is_a_4xx(
    client: TestClient, engine: Engine, where: str, value: str
) -> None:
    """``str.isdigit`` admits "²", which ``int`` refuses: that must not be a 500."""
    assert client.post(BASE, json=appconfig("web")).status_code == 201
    before = current_seq(engine)
    body = appconfig("web", replicas=3)
    if where == "if-match":
        header = value.encode("latin-1")
        response = client.put(f"{BASE}/web", json=body, headers={"if-match": header})
    elif where == "body":
        body["metadata"]["resourceVersion"] = value
        response = client.put(f"{BASE}/web", json=body)
    else:
        options = {"preconditions": {"resourceVersion": value}}
        response = client.request("DELETE", f"{BASE}/web", json=options)
    assert 400 <= response.status_code < 500, response.text
    assert current_seq(engine) == before


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", f"{BASE}/web", {"GET", "PUT", "PATCH", "DELETE"}),
        ("DELETE", BASE, {"GET", "POST"}),
        ("TRACE", "/healthz", {"GET"}),
    ],
)
def test_405_names_every_allowed_method(
    client: TestClient, method: str, path: str, allowed: set[str]
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == allowed
    assert response.json()["reason"] == "MethodNotAllowed"


@pytest.mark.parametrize("patch", [[None, None], "AAA", None, True, 5])
def test_a_merge_patch_that_is_not_an_object_is_422(
    client: TestClient, engine: Engine, patch: Any
) -> None:
    assert client.post(BASE, json=appconfig("web")).status_code == 201
    before = current_seq(engine)
    response = client.patch(f"{BASE}/web", content=json.dumps(patch), headers=MERGE)
    assert response.status_code == 422, response.text
    assert response.json()["details"]["causes"][0]["field"] == "body"
    assert current_seq(engine) == before


def test_replicas_as_a_whole_json_number_is_stored_as_an_integer(client: TestClient) -> None:
    response = client.post(BASE, json=appconfig("web", environment="prod", replicas=4.0))
    assert response.status_code == 201, response.text
    assert response.json()["spec"]["replicas"] == 4
    assert client.get(f"{BASE}/web").text.count('"replicas":4,') == 1


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_if_match_and_a_body_resource_version_that_disagree_are_412(
    client: TestClient, engine: Engine, method: str
) -> None:
    """Both preconditions cannot hold, whatever the stored version: the write fails as a
    failed precondition, like any If-Match that does not hold."""
    created = client.post(BASE, json=appconfig("web")).json()
    version = created["metadata"]["resourceVersion"]
    before = current_seq(engine)
    other = str(int(version) + 1)
    headers = {"if-match": f'"{version}"'}
    if method == "PUT":
        body = appconfig("web", replicas=3)
        body["metadata"]["resourceVersion"] = other
        response = client.put(f"{BASE}/web", json=body, headers=headers)
    else:
        options = {"preconditions": {"resourceVersion": other}}
        response = client.request("DELETE", f"{BASE}/web", json=options, headers=headers)
    assert response.status_code == 412, response.text
    assert current_seq(engine) == before
