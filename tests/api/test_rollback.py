"""``POST .../{name}/rollback``: an older revision's spec and labels written as a new revision
(new seq, actor, op ``rollback``, change-cause), a deleted key recreated, the revision checked
(404 without history, 422 naming ``toVersion``) and the preconditions of any write."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from persistence.reading import current_seq
from tests.api.conftest import BASE, appconfig


def version(answer: dict[str, object]) -> int:
    meta = answer["metadata"]
    assert isinstance(meta, dict)
    return int(meta["resourceVersion"])


def test_rollback_writes_the_revision_as_a_new_one(client: TestClient) -> None:
    first = appconfig("web", replicas=2)
    first["metadata"]["labels"] = {"team": "a"}
    v1 = version(client.post(BASE, json=first).json())
    changed = appconfig("web", replicas=7)
    changed["metadata"]["labels"] = {"team": "b"}
    changed["metadata"]["annotations"] = {"note": "kept"}
    v2 = version(client.put(f"{BASE}/web", json=changed).json())
    rolled = client.post(f"{BASE}/web/rollback", json={"toVersion": v1})
    assert rolled.status_code == 200, rolled.text
    body = rolled.json()
    assert version(body) > v2
    assert body["spec"]["replicas"] == 2
    assert body["metadata"]["labels"] == {"team": "a"}
    assert body["metadata"]["annotations"] == {
        "note": "kept",
        "kubernetes.io/change-cause": f"rollback to {v1}",
    }
    assert body["metadata"]["generation"] == 3
    newest = client.get(f"{BASE}/web/history").json()["items"][0]
    assert (newest["op"], newest["actor"]) == ("rollback", "system:anonymous")
    assert int(newest["resourceVersion"]) == version(body)
    again = client.post(f"{BASE}/web/rollback", json={"toVersion": v1})
    assert version(again.json()) == version(body), "a rollback to what it holds writes nothing"


def test_rollback_of_a_deleted_appconfig_recreates_it(client: TestClient) -> None:
    made = client.post(BASE, json=appconfig("web", replicas=3)).json()
    client.delete(f"{BASE}/web").raise_for_status()
    rolled = client.post(f"{BASE}/web/rollback", json={"toVersion": version(made)})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["spec"]["replicas"] == 3
    assert rolled.json()["metadata"]["uid"] != made["metadata"]["uid"]
    assert client.get(f"{BASE}/web").status_code == 200


def test_rollback_refuses_what_is_not_a_revision_of_the_key(
    client: TestClient, engine: Engine
) -> None:
    web = version(client.post(BASE, json=appconfig("web")).json())
    other = version(client.post(BASE, json=appconfig("other")).json())
    deleted = version(client.delete(f"{BASE}/other").json())
    before = current_seq(engine)
    # 2**70: no version is beyond a 64-bit seq, and the database cannot even compare it.
    for to in (other, 10_000, deleted, 2**70):
        refused = client.post(f"{BASE}/web/rollback", json={"toVersion": to})
        assert refused.status_code == 422, refused.text
        assert [c["field"] for c in refused.json()["details"]["causes"]] == ["toVersion"]
    deleted_key = client.post(f"{BASE}/other/rollback", json={"toVersion": deleted})
    assert deleted_key.status_code == 422
    missing = client.post(f"{BASE}/nothing/rollback", json={"toVersion": web})
    assert missing.status_code == 404
    for bad in ({}, {"toVersion": 0}, {"toVersion": "x"}, {"toVersion": web, "extra": 1}):
        refused = client.post(f"{BASE}/web/rollback", json=bad)
        assert refused.status_code == 422, (bad, refused.text)
    assert current_seq(engine) == before


def test_rollback_keeps_the_preconditions_of_a_write(client: TestClient, engine: Engine) -> None:
    v1 = version(client.post(BASE, json=appconfig("web")).json())
    v2 = version(client.put(f"{BASE}/web", json=appconfig("web", replicas=4)).json())
    stale = {"toVersion": v1, "metadata": {"resourceVersion": str(v1)}}
    assert client.post(f"{BASE}/web/rollback", json=stale).status_code == 409
    ifmatch = client.post(
        f"{BASE}/web/rollback", json={"toVersion": v1}, headers={"if-match": f'"{v1}"'}
    )
    assert ifmatch.status_code == 412
    assert current_seq(engine) == v2
    fresh = {"toVersion": v1, "metadata": {"resourceVersion": str(v2)}}
    assert client.post(f"{BASE}/web/rollback", json=fresh).status_code == 200
