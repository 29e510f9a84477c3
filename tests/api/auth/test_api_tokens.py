"""API tokens: valid, expired, revoked, wrong secret and unknown all answer the same 401;
tokens are stored hashed with their last use; failures are rate-limited; what stays open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from persistence import apitokens
from tests.api.auth.conftest import (
    appconfig,
    auth_app,
    bearer,
    client_of,
    items,
    token_for,
    user,
)

NS = items("default")


def test_valid_token_is_the_principal_and_the_actor(engine: Engine) -> None:
    token = token_for(engine, "alice", "devs")
    client = client_of(auth_app(engine, bindings=(user("editor", "alice", "default"),)))
    created = client.post(NS, json=appconfig("web"), headers=bearer(token))
    assert created.status_code == 201, created.text
    who = client.get("/api/v1/whoami", headers=bearer(token)).json()["status"]
    assert who["userInfo"] == {"username": "alice", "groups": ["devs"]}
    history = client.get(f"{NS}/web/history", headers=bearer(token)).json()["items"]
    assert history[0]["actor"] == "alice"


def test_x_remote_user_is_ignored_without_a_trusted_proxy(engine: Engine) -> None:
    token = token_for(engine, "alice")
    client = client_of(auth_app(engine, bindings=(user("editor", "alice"),)))
    spoofed = {**bearer(token), "x-remote-user": "mallory"}
    assert client.post(NS, json=appconfig("web"), headers=spoofed).status_code == 201
    assert (
        client.get(f"{NS}/web/history", headers=bearer(token)).json()["items"][0]["actor"]
        == "alice"
    )
    only_header = client.get(NS, headers={"x-remote-user": "admin"})
    assert only_header.status_code == 401


def refusals(engine: Engine) -> dict[str, str]:
    good = token_for(engine, "alice")
    expired = apitokens.issue(
        engine,
        principal="alice",
        groups=[],
        expires_in=timedelta(seconds=1),
        now=datetime.now(UTC) - timedelta(hours=1),
    ).token
    revoked = token_for(engine, "alice")
    assert apitokens.revoke(engine, revoked[4:16])
    return {
        "expired": expired,
        "revoked": revoked,
        "wrong secret": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
        "unknown id": "rst_000000000000_" + good.split("_", 2)[2],
        "not ours": "some-opaque-token",
    }


def test_every_refusal_is_the_same_401_with_a_challenge(engine: Engine) -> None:
    client = client_of(auth_app(engine, bindings=(user("admin", "alice"),)))
    answers = {}
    for what, token in refusals(engine).items():
        reply = client.get(NS, headers=bearer(token))
        assert reply.status_code == 401, what
        assert reply.headers["www-authenticate"] == 'Bearer realm="rendersync"', what
        body = reply.json()
        answers[what] = (body["message"], body["reason"], body["kind"])
    assert set(answers.values()) == {("Unauthorized", "Unauthorized", "Status")}
    assert client.get(NS).status_code == 401


def test_tokens_are_stored_hashed_with_last_use(engine: Engine) -> None:
    token = token_for(engine, "alice")
    with engine.connect() as conn:
        stored = " ".join(str(v) for v in conn.execute(text("SELECT * FROM api_tokens")).one())
    secret = token.split("_", 2)[2]
    assert secret not in stored
    assert token not in stored
    client = client_of(auth_app(engine, bindings=(user("viewer", "alice"),)))
    assert client.get(NS, headers=bearer(token)).status_code == 200
    [row] = apitokens.list_tokens(engine)
    assert row.last_used_at is not None


def test_repeated_failures_are_rate_limited_per_client(engine: Engine) -> None:
    app = auth_app(engine, bindings=(user("viewer", "alice"),), failure_limit="3/minute")
    good = token_for(engine, "alice")
    attacker, other = client_of(app, "10.0.0.9"), client_of(app, "10.0.0.10")
    codes = [
        attacker.get(NS, headers=bearer("rst_000000000000_guess")).status_code for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    slowed = attacker.get(NS, headers=bearer(good))
    assert slowed.status_code == 429
    assert int(slowed.headers["retry-after"]) >= 1
    assert other.get(NS, headers=bearer(good)).status_code == 200


def test_health_is_open_and_metrics_configurable(engine: Engine) -> None:
    closed = client_of(auth_app(engine))
    assert closed.get("/healthz").status_code == 200
    assert closed.get("/readyz").status_code == 200
    assert closed.get("/openapi.json").status_code == 200
    assert closed.get("/metrics").status_code == 401
    assert client_of(auth_app(engine, metrics_public=True)).get("/metrics").status_code == 200
    token = token_for(engine, "prometheus")
    assert closed.get("/metrics", headers=bearer(token)).status_code == 200


def test_openapi_declares_bearer_security(engine: Engine) -> None:
    spec = client_of(auth_app(engine)).get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/appconfigs"]["get"]["security"] == [{"HTTPBearer": []}]
