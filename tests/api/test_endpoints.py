"""Every REST endpoint: its success answer and each of its error statuses."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from api.web.app import create_app
from persistence.reading import count_rows
from tests.api.conftest import BASE, appconfig

MERGE = {"content-type": "application/merge-patch+json"}


def create(client: TestClient, name: str = "web", **spec: Any) -> dict[str, Any]:
    response = client.post(BASE, json=appconfig(name, **spec))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_returns_the_kubernetes_shaped_resource(client: TestClient) -> None:
    response = client.post(BASE, json=appconfig("web", replicas=2))
    assert response.status_code == 201
    body = response.json()
    assert body["apiVersion"] == "rendersync.dev/v1alpha1"
    assert body["kind"] == "AppConfig"
    meta = body["metadata"]
    assert (meta["namespace"], meta["name"], meta["generation"]) == ("default", "web", 1)
    assert meta["resourceVersion"].isdigit()
    assert response.headers["etag"] == f'"{meta["resourceVersion"]}"'
    assert meta["uid"]
    assert meta["creationTimestamp"].endswith("Z")
    assert body["spec"]["replicas"] == 2
    status = body["status"]
    assert status["phase"] == "Pending"
    assert status["desiredVersion"] == int(meta["resourceVersion"])
    assert status["workflowId"] == "appconfig:default/web"
    assert status["workflowUrl"].startswith("http://ui.test/namespaces/default/workflows/")


def test_duplicate_create_is_409(client: TestClient) -> None:
    create(client)
    response = client.post(BASE, json=appconfig("web"))
    assert response.status_code == 409
    assert response.json()["reason"] == "AlreadyExists"


def test_invalid_create_lists_every_field_and_writes_nothing(
    client: TestClient, engine: Engine
) -> None:
    body = appconfig("Bad_Name", environment="prod", replicas=1, colour="red")
    response = client.post(BASE, json=body)
    assert response.status_code == 422
    status = response.json()
    causes = {c["field"] for c in status["details"]["causes"]}
    assert causes == {"metadata.name", "spec.replicas", "spec.colour"}
    assert status["kind"] == "Status"
    assert status["reason"] == "Invalid"
    assert count_rows(engine) == {"appconfigs": 0, "revisions": 0, "sync_status": 0}


def test_unknown_top_level_and_metadata_fields_are_422(client: TestClient) -> None:
    body = appconfig("web")
    body["extra"] = 1
    body["metadata"] = {"name": "web", "owner": "me", "labels": {"bad key!": "x"}}
    response = client.post(BASE, json=body)
    assert response.status_code == 422
    causes = {c["field"] for c in response.json()["details"]["causes"]}
    assert causes == {"extra", "metadata.owner", "metadata.labels.bad key!"}


def test_secret_looking_data_key_points_to_secret_refs(client: TestClient) -> None:
    response = client.post(BASE, json=appconfig("web", data={"db_password": "hunter2"}))
    assert response.status_code == 422
    cause = response.json()["details"]["causes"][0]
    assert cause["field"] == "spec.data.db_password"
    assert "secretRefs" in cause["message"]
    assert "hunter2" not in response.text


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post(
        BASE, content=b'{"metadata": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]


def test_body_over_one_mebibyte_is_413(client: TestClient, engine: Engine) -> None:
    response = client.post(
        BASE, content=b" " * (1024 * 1024 + 1), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert count_rows(engine)["appconfigs"] == 0


def test_wrong_content_type_is_415(client: TestClient) -> None:
    response = client.post(BASE, content=b"a: b", headers={"content-type": "application/yaml"})
    assert response.status_code == 415


def test_get_and_404(client: TestClient) -> None:
    create(client)
    assert client.get(f"{BASE}/web").json()["metadata"]["name"] == "web"
    missing = client.get(f"{BASE}/nope")
    assert missing.status_code == 404
    assert missing.json()["reason"] == "NotFound"


def test_put_with_matching_resource_version(client: TestClient) -> None:
    created = create(client)
    version = created["metadata"]["resourceVersion"]
    body = appconfig("web", replicas=4)
    body["metadata"]["resourceVersion"] = version
    response = client.put(f"{BASE}/web", json=body)
    assert response.status_code == 200
    updated = response.json()
    assert int(updated["metadata"]["resourceVersion"]) > int(version)
    assert updated["metadata"]["generation"] == 2


def test_put_stale_resource_version_is_409_and_if_match_is_412(client: TestClient) -> None:
    create(client)
    client.patch(f"{BASE}/web", json={"spec": {"replicas": 3}}, headers=MERGE)
    stale = appconfig("web", replicas=9)
    stale["metadata"]["resourceVersion"] = "1"
    assert client.put(f"{BASE}/web", json=stale).status_code == 409
    response = client.put(
        f"{BASE}/web", json=appconfig("web", replicas=9), headers={"if-match": '"1"'}
    )
    assert response.status_code == 412
    assert client.get(f"{BASE}/web").json()["spec"]["replicas"] == 3


def test_put_errors(client: TestClient) -> None:
    assert client.put(f"{BASE}/web", json=appconfig("web")).status_code == 404
    create(client)
    assert client.put(f"{BASE}/web", json=appconfig("other")).status_code == 422
    assert client.put(f"{BASE}/web", json=appconfig("web", replicas=99)).status_code == 422


def test_put_without_change_keeps_the_version(client: TestClient, engine: Engine) -> None:
    created = create(client)
    again = client.put(f"{BASE}/web", json=appconfig("web"))
    assert again.status_code == 200
    assert again.json()["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert count_rows(engine)["revisions"] == 1


def test_merge_patch(client: TestClient) -> None:
    create(client, data={"a": "1", "b": "2"})
    response = client.patch(
        f"{BASE}/web",
        json={"metadata": {"labels": {"team": "x"}}, "spec": {"data": {"a": None, "c": "3"}}},
        headers=MERGE,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["spec"]["data"] == {"b": "2", "c": "3"}
    assert body["metadata"]["labels"] == {"team": "x"}


def test_patch_errors(client: TestClient) -> None:
    assert client.patch(f"{BASE}/web", json={"spec": {}}, headers=MERGE).status_code == 404
    create(client)
    invalid = client.patch(f"{BASE}/web", json={"spec": {"replicas": 51}}, headers=MERGE)
    assert invalid.status_code == 422
    assert invalid.json()["details"]["causes"][0]["field"] == "spec.replicas"
    stale = client.patch(
        f"{BASE}/web", json={"spec": {"replicas": 2}}, headers={**MERGE, "if-match": '"999"'}
    )
    assert stale.status_code == 412
    body_stale = client.patch(
        f"{BASE}/web",
        json={"metadata": {"resourceVersion": "999"}, "spec": {"replicas": 2}},
        headers=MERGE,
    )
    assert body_stale.status_code == 409
    wrong_type = client.patch(f"{BASE}/web", content=b"{}", headers={"content-type": "text/plain"})
    assert wrong_type.status_code == 415


def test_delete_and_its_errors(client: TestClient) -> None:
    assert client.delete(f"{BASE}/web").status_code == 404
    created = create(client)
    assert client.delete(f"{BASE}/web", headers={"if-match": '"999"'}).status_code == 412
    response = client.delete(
        f"{BASE}/web", headers={"if-match": f'"{created["metadata"]["resourceVersion"]}"'}
    )
    assert response.status_code == 200
    assert response.json()["status"]["phase"] == "Deleting"
    assert client.get(f"{BASE}/web").status_code == 404
    assert client.delete(f"{BASE}/web").status_code == 404


def test_delete_with_delete_options_precondition(client: TestClient) -> None:
    create(client)
    stale = client.request(
        "DELETE", f"{BASE}/web", json={"preconditions": {"resourceVersion": "999"}}
    )
    assert stale.status_code == 409


def test_recreate_after_delete_gets_a_new_uid_and_higher_version(client: TestClient) -> None:
    first = create(client)
    client.delete(f"{BASE}/web")
    second = create(client)
    meta1, meta2 = first["metadata"], second["metadata"]
    assert meta1["uid"] != meta2["uid"]
    assert int(meta2["resourceVersion"]) > int(meta1["resourceVersion"]) + 1


def test_list_with_selector_limit_and_continue(client: TestClient) -> None:
    for i in range(5):
        body = appconfig(f"app-{i}")
        body["metadata"]["labels"] = {"team": "a" if i % 2 == 0 else "b"}
        assert client.post(BASE, json=body).status_code == 201
    other = appconfig("elsewhere")
    other["metadata"]["labels"] = {"team": "a"}
    assert client.post("/api/v1/namespaces/other/appconfigs", json=other).status_code == 201

    team_a = client.get(BASE, params={"labelSelector": "team=a"}).json()
    assert [i["metadata"]["name"] for i in team_a["items"]] == ["app-0", "app-2", "app-4"]
    assert team_a["kind"] == "AppConfigList"

    names, token = [], None
    while True:
        params = {"limit": "2", **({"continue": token} if token else {})}
        page = client.get(BASE, params=params).json()
        names += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
    assert names == [f"app-{i}" for i in range(5)]

    everywhere = client.get(
        "/api/v1/appconfigs", params={"labelSelector": "team=a,!missing"}
    ).json()
    assert {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in everywhere["items"]} == {
        ("default", "app-0"),
        ("default", "app-2"),
        ("default", "app-4"),
        ("other", "elsewhere"),
    }


@pytest.mark.parametrize(
    "params",
    [{"labelSelector": "team in a"}, {"continue": "not-a-token"}, {"limit": "0"}, {"limit": "x"}],
)
def test_list_errors(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/api/v1/appconfigs", params=params)
    assert response.status_code in (400, 422)
    assert response.json()["kind"] == "Status"


def test_history_newest_first_and_404(client: TestClient) -> None:
    assert client.get(f"{BASE}/web/history").status_code == 404
    create(client)
    client.patch(
        f"{BASE}/web", json={"spec": {"replicas": 3}}, headers={**MERGE, "x-remote-user": "alice"}
    )
    client.delete(f"{BASE}/web")
    items = client.get(f"{BASE}/web/history").json()["items"]
    assert [i["op"] for i in items] == ["delete", "update", "create"]
    versions = [int(i["resourceVersion"]) for i in items]
    assert versions == sorted(versions, reverse=True)
    # The actor is the authenticated principal (this app authenticates nobody); a client's
    # X-Remote-User is believed only from a trusted proxy (tests/api/auth).
    assert items[1]["actor"] == "system:anonymous"
    assert items[1]["spec"]["replicas"] == 3


def test_health_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["database"] == "reachable"
    assert (
        "/api/v1/namespaces/{namespace}/appconfigs" in client.get("/openapi.json").json()["paths"]
    )
    assert client.get("/docs").status_code == 200


def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    unreachable = create_engine("sqlite:////proc/no-such-dir/rs.db")
    app = create_app(engine=unreachable, targets=("kubernetes",), ui_url="http://ui.test")
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"] == "ServiceUnavailable"


def test_unexpected_error_is_500_with_request_id_and_no_trace(
    client: TestClient, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE revisions"))
    response = client.post(BASE, json=appconfig("web"), headers={"x-request-id": "req-abc"})
    assert response.status_code == 500
    body = response.json()
    assert body["requestId"] == "req-abc"
    assert "Traceback" not in response.text
    assert "revisions" not in response.text
    assert any("req-abc" in r.getMessage() and r.exc_info for r in caplog.records)


@pytest.mark.parametrize(
    ("url", "metadata", "field"),
    [
        (BASE, {"name": "web\n"}, "metadata.name"),
        (BASE, {"name": "web", "labels": {"tier\n": "x"}}, "metadata.labels.tier\n"),
        (BASE, {"name": "web", "labels": {"tier": "x\n"}}, "metadata.labels.tier"),
        (BASE, {"name": "web", "annotations": {"note\n": "x"}}, "metadata.annotations.note\n"),
        ("/api/v1/namespaces/default%0A/appconfigs", {"name": "web"}, "namespace"),
    ],
    ids=["name", "label-key", "label-value", "annotation-key", "namespace"],
)
def test_names_that_end_in_a_newline_are_422(
    client: TestClient, engine: Engine, url: str, metadata: dict[str, Any], field: str
) -> None:
    """A pattern's ``$`` must not admit a trailing newline: Kubernetes refuses such names."""
    body = {**appconfig("web"), "metadata": metadata}
    response = client.post(url, json=body)
    assert response.status_code == 422, response.text
    assert field in {c["field"] for c in response.json()["details"]["causes"]}
    assert count_rows(engine) == {"appconfigs": 0, "revisions": 0, "sync_status": 0}
