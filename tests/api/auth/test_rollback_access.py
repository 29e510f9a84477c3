"""A rollback is an update of its namespace: an editor there may, a viewer may not (403)."""

from __future__ import annotations

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


def test_rollback_needs_the_editor_role(engine: Engine) -> None:
    bindings = (user("admin", "root"), user("editor", "ed", "shop"), user("viewer", "vi", "shop"))
    client = client_of(auth_app(engine, bindings=bindings))
    root, ed, vi = (bearer(token_for(engine, who)) for who in ("root", "ed", "vi"))
    made = client.post(items("shop"), json=appconfig("web", replicas=2), headers=root).json()
    v1 = int(made["metadata"]["resourceVersion"])
    client.put(f"{items('shop')}/web", json=appconfig("web", replicas=3), headers=root)
    url = f"{items('shop')}/web/rollback"
    denied = client.post(url, json={"toVersion": v1}, headers=vi)
    assert denied.status_code == 403, denied.text
    assert 'cannot update resource "appconfigs"' in denied.json()["message"]
    assert client.post(url, json={"toVersion": v1}, headers={}).status_code == 401
    done = client.post(url, json={"toVersion": v1}, headers=ed)
    assert done.status_code == 200, done.text
    history = client.get(f"{items('shop')}/web/history", headers=vi).json()["items"]
    assert (history[0]["op"], history[0]["actor"]) == ("rollback", "ed")
    other = client.post(f"{items('other')}/web/rollback", json={"toVersion": v1}, headers=ed)
    assert other.status_code == 403
