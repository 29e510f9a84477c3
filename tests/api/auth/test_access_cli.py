"""``rendersync tokens`` and ``rendersync rbac`` against a database: a token is printed once,
listed without its secret, revoked; bindings are made, listed and removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from persistence import apitokens
from persistence.db import make_engine
from persistence.migrating import upgrade
from rendersync.cli import main


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(make_engine(url))
    monkeypatch.setenv("RENDERSYNC_DB__URL", url)
    return url


def test_tokens_create_list_revoke(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tokens", "create", "--user", "bob", "--group", "ops", "--expires-in", "1d"]) == 0
    token = capsys.readouterr().out.strip()
    engine = make_engine(db)
    row = apitokens.verify(engine, token)
    assert row is not None
    assert row.principal == "bob"
    assert row.groups == ["ops"]
    assert main(["tokens", "list", "-o", "json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["id"] == row.id
    assert listed["expires"]
    assert token not in json.dumps(listed)
    assert main(["tokens", "revoke", row.id]) == 0
    assert apitokens.verify(engine, token) is None
    assert main(["tokens", "revoke", "nosuchid0000"]) == 1


def test_rbac_bind_list_unbind(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rbac", "bind", "--role", "editor", "--namespace", "shop", "--user", "al"]) == 0
    capsys.readouterr()
    assert main(["rbac", "list", "-o", "json"]) == 0
    [binding] = json.loads(capsys.readouterr().out)
    assert binding == {
        "id": 1,
        "role": "editor",
        "namespace": "shop",
        "kind": "User",
        "subject": "al",
    }
    assert main(["rbac", "unbind", "1"]) == 0
    assert main(["rbac", "unbind", "1"]) == 1
    with pytest.raises(SystemExit):
        main(["rbac", "bind", "--role", "owner", "--user", "al"])
