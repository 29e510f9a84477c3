"""Every role, verb and namespace, deny by default, the 403 Status, cross-namespace listing
narrowed to what the caller may see, and bindings from a policy file and the database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.web.auth.policy import PolicyError, load_policy
from persistence import rolebindings
from tests.api.auth.conftest import (
    appconfig,
    auth_app,
    bearer,
    client_of,
    group,
    items,
    token_for,
    user,
)

MERGE = {"content-type": "application/merge-patch+json"}
Call = Callable[[TestClient, str, dict[str, str]], int]

VERBS: dict[str, Call] = {
    "list": lambda c, ns, h: c.get(items(ns), headers=h).status_code,
    "get": lambda c, ns, h: c.get(f"{items(ns)}/seed", headers=h).status_code,
    "history": lambda c, ns, h: c.get(f"{items(ns)}/seed/history", headers=h).status_code,
    "create": lambda c, ns, h: c.post(items(ns), json=appconfig("new"), headers=h).status_code,
    "update": lambda c, ns, h: (
        c.put(f"{items(ns)}/seed", json=appconfig("seed", replicas=3), headers=h).status_code
    ),
    "patch": lambda c, ns, h: (
        c.patch(
            f"{items(ns)}/seed", json={"spec": {"replicas": 4}}, headers={**h, **MERGE}
        ).status_code
    ),
    "delete": lambda c, ns, h: c.delete(f"{items(ns)}/seed", headers=h).status_code,
}
ALLOWED = {
    "viewer": {"list", "get", "history"},
    "editor": set(VERBS),
    "admin": set(VERBS),
}
OK = {
    "list": 200,
    "get": 200,
    "history": 200,
    "create": 201,
    "update": 200,
    "patch": 200,
    "delete": 200,
}


@pytest.fixture
def seeded(engine: Engine) -> Callable[..., TestClient]:
    admin = token_for(engine, "root")

    def make(*bindings: Any) -> TestClient:
        client = client_of(auth_app(engine, bindings=(user("admin", "root"), *bindings)))
        for ns in ("shop", "other"):
            client.delete(f"{items(ns)}/new", headers=bearer(admin))
            client.delete(f"{items(ns)}/seed", headers=bearer(admin))
            assert (
                client.post(items(ns), json=appconfig("seed"), headers=bearer(admin)).status_code
                == 201
            )
        return client

    return make


@pytest.mark.parametrize("role", sorted(ALLOWED))
@pytest.mark.parametrize("verb", sorted(VERBS))
def test_role_verb_namespace(
    engine: Engine, seeded: Callable[..., TestClient], role: str, verb: str
) -> None:
    token = token_for(engine, "alice", "team")
    client = seeded(group(role, "team", "shop"))
    code = VERBS[verb](client, "shop", bearer(token))
    assert code == (OK[verb] if verb in ALLOWED[role] else 403), (role, verb)
    seeded(group(role, "team", "shop"))
    assert VERBS[verb](client, "other", bearer(token)) == 403, "another namespace"


def test_cluster_wide_binding_applies_everywhere(
    engine: Engine, seeded: Callable[..., TestClient]
) -> None:
    token = token_for(engine, "alice")
    client = seeded(user("editor", "alice"))
    for ns in ("shop", "other", "fresh"):
        assert VERBS["create"](client, ns, bearer(token)) == 201


def test_no_binding_denies_with_a_kubernetes_status(
    engine: Engine, seeded: Callable[..., TestClient]
) -> None:
    token = token_for(engine, "nobody")
    client = seeded()
    reply = client.patch(
        f"{items('shop')}/seed", json={"spec": {"replicas": 2}}, headers={**bearer(token), **MERGE}
    )
    assert reply.status_code == 403
    body = reply.json()
    assert body["kind"] == "Status"
    assert body["reason"] == "Forbidden"
    assert body["code"] == 403
    assert body["message"] == (
        'appconfigs.rendersync.dev "seed" is forbidden: User "nobody" cannot patch resource '
        '"appconfigs" in API group "rendersync.dev" in the namespace "shop"'
    )
    assert body["details"]["name"] == "seed"
    assert body["details"]["group"] == "rendersync.dev"


def test_listing_across_namespaces_shows_only_what_the_caller_may_see(
    engine: Engine, seeded: Callable[..., TestClient]
) -> None:
    client = seeded(
        user("viewer", "alice", "shop"),
        user("viewer", "bob", "shop"),
        user("viewer", "bob", "other"),
    )
    names = {}
    for who in ("alice", "bob", "root", "nobody"):
        reply = client.get("/api/v1/appconfigs", headers=bearer(token_for(engine, who)))
        assert reply.status_code == 200, reply.text
        names[who] = sorted(i["metadata"]["namespace"] for i in reply.json()["items"])
    assert names == {
        "alice": ["shop"],
        "bob": ["other", "shop"],
        "root": ["other", "shop"],
        "nobody": [],
    }
    paged = client.get(
        "/api/v1/appconfigs", params={"limit": 1}, headers=bearer(token_for(engine, "alice"))
    ).json()
    assert [i["metadata"]["namespace"] for i in paged["items"]] == ["shop"]


def test_database_bindings_and_unbinding(engine: Engine, seeded: Callable[..., TestClient]) -> None:
    token = token_for(engine, "erin")
    client = seeded()
    assert VERBS["get"](client, "shop", bearer(token)) == 403
    bound = rolebindings.bind(engine, rolebindings.Binding("viewer", "shop", "User", "erin"))
    assert VERBS["get"](client, "shop", bearer(token)) == 200
    assert rolebindings.unbind(engine, bound)
    assert VERBS["get"](client, "shop", bearer(token)) == 403


def test_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "bindings:\n  - {role: editor, namespace: shop, users: [a], groups: [g]}\n"
        "  - {role: admin, namespace: '*', users: [root]}\n"
    )
    found = load_policy(path)
    assert [(b.role, b.namespace, b.subject) for b in found] == [
        ("editor", "shop", "a"),
        ("editor", "shop", "g"),
        ("admin", "", "root"),
    ]
    path.write_text("bindings:\n  - {role: owner, users: [a]}\n")
    with pytest.raises(PolicyError, match=r"bindings\[0\]\.role: unknown role 'owner'"):
        load_policy(path)
