"""Malformed bodies and parameters get a 4xx Status naming the part, never a 500, and the
Status stays well-typed (``details.name`` is a string or absent); nothing is written."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.integration.api.conftest import BASE

MERGE = {"content-type": "application/merge-patch+json"}


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
