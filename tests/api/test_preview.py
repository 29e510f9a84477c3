"""Previews (``?dryRun=All`` on POST, PUT and PATCH): the write's own rules, limits and
preconditions, the rendered objects and the next version, and nothing written — no seq, row,
revision or outbox event. (Diffs against real targets: tests/pipeline.)"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from persistence.reading import count_rows, current_seq
from tests.api.conftest import BASE, appconfig

DRY = {"dryRun": "All"}
MERGE = {"content-type": "application/merge-patch+json"}


def written(engine: Engine) -> tuple[int, dict[str, int], int]:
    with engine.connect() as conn:
        outbox = int(conn.execute(text("SELECT count(*) FROM outbox")).scalar_one())
    return current_seq(engine), count_rows(engine), outbox


def test_an_invalid_preview_gets_the_writes_causes_and_writes_nothing(
    client: TestClient, engine: Engine
) -> None:
    client.post(BASE, json=appconfig("web", replicas=2)).raise_for_status()
    before = written(engine)
    bad = appconfig("web", environment="prod", replicas=1, data={"DB_PASSWORD": "x"})
    previewed = client.put(f"{BASE}/web", json=bad, params=DRY)
    real = client.put(f"{BASE}/web", json=bad)
    assert previewed.status_code == real.status_code == 422
    fields = {c["field"] for c in previewed.json()["details"]["causes"]}
    assert fields == {c["field"] for c in real.json()["details"]["causes"]}
    assert {"spec.replicas", "spec.data.DB_PASSWORD"} <= fields
    assert written(engine) == before


def test_previews_answer_the_next_version_and_write_nothing(
    client: TestClient, engine: Engine
) -> None:
    v1 = int(client.post(BASE, json=appconfig("web")).json()["metadata"]["resourceVersion"])
    before = written(engine)
    created = client.post(BASE, json=appconfig("api", replicas=3), params=DRY)
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    assert body["kind"] == "AppConfigPreview"
    assert body["database"] == {"op": "create", "current": None, "next": v1 + 1, "generation": 1}
    cr = body["rendered"]["customResource"]
    assert cr["metadata"]["annotations"]["rendersync.dev/version"] == str(v1 + 1)
    assert "replicas: 3" in body["rendered"]["gitFile"]
    # No target client in this app: said so, not failed.
    assert {t["state"] for t in body["targets"].values()} == {"Unavailable"}

    patched = client.patch(f"{BASE}/web", json={"spec": {"replicas": 4}}, headers=MERGE, params=DRY)
    assert patched.status_code == 200, patched.text
    assert patched.json()["database"] == {
        "op": "update",
        "current": v1,
        "next": v1 + 1,
        "generation": 2,
    }
    same = client.put(f"{BASE}/web", json=appconfig("web"), params=DRY)
    assert same.json()["database"]["op"] == "none"
    assert same.json()["database"]["next"] == v1
    assert client.get(f"{BASE}/api").status_code == 404
    assert client.get(f"{BASE}/web").json()["spec"].get("replicas", 1) == 1
    assert written(engine) == before


def test_a_preview_checks_the_writes_preconditions(client: TestClient, engine: Engine) -> None:
    client.post(BASE, json=appconfig("web")).raise_for_status()
    before = written(engine)
    assert client.post(BASE, json=appconfig("web"), params=DRY).status_code == 409
    stale = appconfig("web", replicas=2)
    stale["metadata"]["resourceVersion"] = "999"
    assert client.put(f"{BASE}/web", json=stale, params=DRY).status_code == 409
    headers = {**MERGE, "if-match": '"999"'}
    patched = client.patch(f"{BASE}/web", json={"spec": {}}, headers=headers, params=DRY)
    assert patched.status_code == 412
    assert client.put(f"{BASE}/nope", json=appconfig("nope"), params=DRY).status_code == 404
    assert client.post(BASE, json=appconfig("x"), params={"dryRun": "Some"}).status_code == 422
    assert written(engine) == before
