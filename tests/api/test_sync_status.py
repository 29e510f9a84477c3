"""The API's ``status.phase`` follows what the sync recorded, including a failed re-drive."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from persistence import syncstatus
from tests.api.conftest import BASE, appconfig

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


def test_a_retried_transient_failure_is_retrying_with_attempts_and_error(
    client: TestClient, engine: Engine
) -> None:
    version = created(client, "web")
    syncstatus.record_failure(
        engine,
        namespace="default",
        name="web",
        target="kubernetes",
        version=version,
        error="kubernetes: 503 Service Unavailable",
        permanent=False,
        attempts=9,
    )
    shown = status(client, "web")
    assert shown["phase"] == "Retrying"
    assert shown["attempts"] == 9
    assert shown["lastError"] == "kubernetes: 503 Service Unavailable"

    applied(engine, "web", version)  # the outage ends
    shown = status(client, "web")
    assert (shown["phase"], shown["attempts"], shown["lastError"]) == ("Synced", 0, "")


def test_a_retrying_redrive_of_the_applied_version_is_retrying(
    client: TestClient, engine: Engine
) -> None:
    version = created(client, "web")
    applied(engine, "web", version)
    # A forced re-drive of the version the targets hold keeps failing transiently: the
    # workflow shows Retrying, so must the API.
    syncstatus.record_failure(
        engine,
        namespace="default",
        name="web",
        target="git",
        version=version,
        error="git: connection refused",
        permanent=False,
        attempts=3,
    )
    assert status(client, "web")["phase"] == "Retrying"


def test_an_error_about_an_older_version_is_not_retrying_the_current_one(
    client: TestClient, engine: Engine
) -> None:
    first = created(client, "web")
    syncstatus.record_failure(
        engine,
        namespace="default",
        name="web",
        target="git",
        version=first,
        error="git: connection refused",
        permanent=False,
        attempts=3,
    )
    response = client.patch(
        f"{BASE}/web",
        json={"spec": {"replicas": 3}},
        headers={"content-type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text
    # The newer version superseded the retrying one; nothing has failed for it yet.
    assert status(client, "web")["phase"] == "Syncing"
