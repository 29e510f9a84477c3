"""``rendersync diff -f FILE`` and ``rendersync rollback NS/NAME --to N`` against a served API:
exit statuses as ``kubectl diff`` (0 same, 1 changes, 2 refused), nothing written by a diff."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from persistence.reading import current_seq
from rendersync.cli import main
from tests.api.conftest import BASE, appconfig


def test_diff_and_rollback_from_the_cli(
    live_url: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = httpx.post(f"{live_url}{BASE}", json=appconfig("web", replicas=2)).json()
    v1 = int(made["metadata"]["resourceVersion"])
    httpx.put(f"{live_url}{BASE}/web", json=appconfig("web", replicas=5)).raise_for_status()
    before = current_seq(engine)
    file = tmp_path / "web.yaml"
    file.write_text(json.dumps(appconfig("web", replicas=5)))
    assert main(["diff", "-f", str(file), "--api", live_url]) == 0
    file.write_text(json.dumps(appconfig("web", replicas=3)))
    assert main(["diff", "-f", str(file), "--api", live_url]) == 1
    shown = capsys.readouterr().out
    assert f"database update (version {before} -> {before + 1})" in shown
    assert "kubernetes: Unavailable" in shown
    file.write_text(json.dumps(appconfig("web", replicas=1, environment="prod")))
    assert main(["diff", "-f", str(file), "--api", live_url]) == 2
    assert "spec.replicas" in capsys.readouterr().err
    assert current_seq(engine) == before

    assert main(["rollback", "default/web", "--to", str(v1), "--api", live_url]) == 0
    assert f"default/web rolled back to {v1}: written as version {before + 1}" in (
        capsys.readouterr().out
    )
    assert httpx.get(f"{live_url}{BASE}/web").json()["spec"]["replicas"] == 2
    assert main(["rollback", "default/web", "--to", "99999", "--api", live_url]) == 2
