"""Bad auth configuration stops ``rendersync api`` at start with one line naming the
setting; every write and every denied request is one structured audit line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import Engine

from rendersync.cli import main
from rendersync.logs import JsonFormatter
from tests.api.auth.conftest import (
    appconfig,
    auth_app,
    bearer,
    client_of,
    items,
    token_for,
    user,
)

BAD = [
    ({"RENDERSYNC_AUTH__POLICY_FILE": "/no/such/policy.yaml"}, "RENDERSYNC_AUTH__POLICY_FILE"),
    (
        {
            "RENDERSYNC_AUTH__AUTHENTICATORS": '["oidc"]',
            "RENDERSYNC_AUTH__OIDC_ISSUER": "https://i",
        },
        "RENDERSYNC_AUTH__OIDC_AUDIENCE",
    ),
    (
        {
            "RENDERSYNC_AUTH__AUTHENTICATORS": '["oidc"]',
            "RENDERSYNC_AUTH__OIDC_ISSUER": "https://i",
            "RENDERSYNC_AUTH__OIDC_AUDIENCE": "a",
            "RENDERSYNC_AUTH__OIDC_JWKS_URL": "https://i/keys",
            "RENDERSYNC_AUTH__OIDC_ALGORITHMS": '["HS256"]',
        },
        "RENDERSYNC_AUTH__OIDC_ALGORITHMS",
    ),
    ({"RENDERSYNC_AUTH__AUTHENTICATORS": '["proxy"]'}, "RENDERSYNC_AUTH__PROXY_CIDRS"),
    ({"RENDERSYNC_AUTH__AUTHENTICATORS": '["kerberos"]'}, "RENDERSYNC_AUTH__AUTHENTICATORS"),
    ({"RENDERSYNC_AUTH__FAILURE_LIMIT": "lots"}, "RENDERSYNC_AUTH__FAILURE_LIMIT"),
]


@pytest.mark.parametrize(("env", "setting"), BAD)
def test_bad_configuration_stops_the_api_at_start(
    env: dict[str, str],
    setting: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RENDERSYNC_DB__URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["api", "--port", "1"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert setting in lines[0]


def test_unknown_role_in_the_policy_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("bindings:\n  - {role: superuser, users: [a]}\n")
    monkeypatch.setenv("RENDERSYNC_DB__URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.setenv("RENDERSYNC_AUTH__POLICY_FILE", str(policy))
    assert main(["api", "--port", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rendersync api: RENDERSYNC_AUTH__POLICY_FILE:")
    assert "unknown role 'superuser'" in err


def test_audit_lines_for_writes_and_denials(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_of(auth_app(engine, bindings=(user("editor", "alice", "shop"),)))
    alice = bearer(token_for(engine, "alice"))
    with caplog.at_level(logging.INFO, logger="rendersync.audit"):
        client.post(items("shop"), json=appconfig("web"), headers={**alice, "x-request-id": "r1"})
        client.get(f"{items('shop')}/web", headers=alice)  # a read: not audited
        client.delete(f"{items('other')}/web", headers={**alice, "x-request-id": "r2"})
        client.get(items("shop"), headers={**bearer("rst_000000000000_x"), "x-request-id": "r3"})
    entries = [r.__dict__["audit"] for r in caplog.records if r.name == "rendersync.audit"]
    assert [
        (e["principal"], e["verb"], e["key"], e["result"], e["request_id"]) for e in entries
    ] == [
        ("alice", "create", "shop/", 201, "r1"),
        ("alice", "delete", "other/web", 403, "r2"),
        ("-", "list", "shop/", 401, "r3"),
    ]
    audited = [r for r in caplog.records if r.name == "rendersync.audit"][-1]
    as_json = json.loads(JsonFormatter().format(audited))
    assert as_json["audit"]["result"] == 401
