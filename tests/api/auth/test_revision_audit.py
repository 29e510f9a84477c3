"""``GET /api/v1/revisions``: writes across keys by actor and time, paged, and only in the
namespaces the caller may list (deleted keys' included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from tests.api.auth.conftest import (
    appconfig,
    auth_app,
    bearer,
    client_of,
    items,
    token_for,
    user,
)


def test_revisions_by_actor_time_and_rights(engine: Engine) -> None:
    bindings = (
        user("admin", "alice"),
        user("editor", "bob", "team-a"),
        user("editor", "bob", "team-b"),
        user("viewer", "carol", "team-a"),
    )
    api = client_of(auth_app(engine, bindings=bindings))
    alice = bearer(token_for(engine, "alice"))
    bob = bearer(token_for(engine, "bob"))
    carol = bearer(token_for(engine, "carol"))
    start = datetime.now(UTC) - timedelta(seconds=1)
    for namespace in ("team-a", "team-b"):
        for n in range(3):
            answer = api.post(items(namespace), json=appconfig(f"app{n}"), headers=bob)
            assert answer.status_code == 201, answer.text
    assert api.post(items("team-a"), json=appconfig("other"), headers=alice).status_code == 201
    assert api.delete(f"{items('team-b')}/app0", headers=bob).status_code == 200

    # Paged by bob's writes, oldest first, across both namespaces.
    seen: list[tuple[str, str, str]] = []
    token: str | None = None
    pages = 0
    while True:
        params = {"actor": "bob", "limit": "3", **({"continue": token} if token else {})}
        answer = api.get("/api/v1/revisions", params=params, headers=alice)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        pages += 1
        seen += [(r["namespace"], r["name"], r["op"]) for r in page["items"]]
        assert all(r["actor"] == "bob" for r in page["items"])
        token = page["metadata"].get("continue")
        if token is None:
            break
    assert pages == 3
    assert len(seen) == 7
    assert seen[-1] == ("team-b", "app0", "delete")
    versions = [
        int(r["resourceVersion"])
        for r in api.get("/api/v1/revisions", headers=alice).json()["items"]
    ]
    assert versions == sorted(versions)

    # A viewer of team-a sees team-a only; nothing before "since" or at/after "until".
    visible = api.get("/api/v1/revisions", headers=carol).json()["items"]
    assert {r["namespace"] for r in visible} == {"team-a"}
    assert len(visible) == 4
    assert (
        api.get("/api/v1/revisions", params={"namespace": "team-b"}, headers=carol).json()["items"]
        == []
    )
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (
        api.get("/api/v1/revisions", params={"since": later}, headers=alice).json()["items"] == []
    )
    early = api.get("/api/v1/revisions", params={"until": start.isoformat()}, headers=alice)
    assert early.json()["items"] == []
    bad = api.get("/api/v1/revisions", params={"continue": "not-a-token"}, headers=alice)
    assert bad.status_code == 400
    assert api.get("/api/v1/revisions").status_code == 401


def test_since_and_until_must_be_rfc3339_date_times(engine: Engine) -> None:
    api = client_of(auth_app(engine, bindings=(user("admin", "alice"),)))
    alice = bearer(token_for(engine, "alice"))
    for field, value in (("until", "0.0"), ("since", "2026-12-02"), ("until", "2026-12-02T00:00")):
        refused = api.get("/api/v1/revisions", params={field: value}, headers=alice)
        assert refused.status_code == 422, (field, value, refused.text)
        assert field in refused.text
    fine = api.get("/api/v1/revisions", params={"since": "2026-12-02T00:00:00Z"}, headers=alice)
    assert fine.status_code == 200, fine.text
