"""Malformed bodies and parameters get a 4xx Status naming the part, never a 500, and the
Status stays well-typed (``details.name`` is a string or absent); nothing is written."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.integration.api.conftest import BASE, appconfig

MERGE = {"content-type": "application/merge-patch+json"}


@pytest.mark.parametrize("timeout", ["", "soon", "10 s", "\u0661\u0660s"])
def test_a_malformed_timeout_is_400_even_without_wait(client: TestClient, timeout: str) -> None:
    assert client.post(BASE, json=appconfig("web")).status_code == 201
    response = client.get(f"{BASE}/web", params={"timeout": timeout})
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("timeout:")


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
