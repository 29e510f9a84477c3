"""The API's ``status.phase`` follows what the sync recorded, including a failed re-drive."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.persistence import syncstatus
from tests.integration.api.conftest import BASE, appconfig

TARGETS = ("kubernetes", "git")


def created(client: TestClient, name: str) -> int:
    response = client.post(BASE, json=appconfig(name))
    assert response.status_code == 201, response.text
    return int(response.json()["metadata"]["resourceVersion"])


def status(client: TestClient, name: str) -> dict[str, object]:
    body: dict[str, object] = client.get(f"{BASE}/{name}").json()["status"]
    return body


def applied(engine: Engine, name: str, version: int) -> None:
    for target in TARGETS:
        syncstatus.record_applied(
            engine, namespace="default", name=name, target=target, version=version, detail="x"
        )


def test_failed_redrive_of_the_applied_version_is_failed(
    client: TestClient, engine: Engine
) -> None:
    version = created(client, "web")
    applied(engine, "web", version)
    assert status(client, "web")["phase"] == "Synced"

    # A forced re-drive (drift repair, resync) of the version the targets hold fails for good.
    syncstatus.record_failure(
        engine,
        namespace="default",
        name="web",
        target="git",
        version=version,
        error="git: push rejected",
    )
    shown = status(client, "web")
    assert shown["phase"] == "Failed"
    assert shown["lastError"] == "git: push rejected"

    applied(engine, "web", version)  # the replayed re-drive succeeds
    assert status(client, "web")["phase"] == "Synced"
