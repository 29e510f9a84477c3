"""The harness's stage runner and readiness deadlines: a failing stage costs no results."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bench import machine
from bench.stages import Save, run_stages


def test_a_failing_stage_is_recorded_and_every_result_is_kept(tmp_path: Path) -> None:
    result: dict[str, Any] = {"meta": {}}
    path = tmp_path / "partial.json"
    snapshots: list[dict[str, Any]] = []

    def save() -> None:
        path.write_text(json.dumps(result))
        snapshots.append(json.loads(path.read_text()))

    async def first(part: dict[str, Any], save: Save) -> None:
        part["burst"] = {"changes_per_s": 12.5}
        save()

    async def crashing(part: dict[str, Any], save: Save) -> None:
        part["coalescing"] = {"applied": 3}
        save()
        raise TimeoutError("the Kubernetes watch did not connect")

    async def last(part: dict[str, Any], save: Save) -> None:
        part["lifecycles_per_s"] = 40.0

    plan = [("first", first), ("crashing", crashing), ("last", last)]
    failed = asyncio.run(run_stages(plan, result, save))

    assert failed == ["crashing"]
    on_disk = json.loads(path.read_text())
    assert on_disk["first"]["burst"] == {"changes_per_s": 12.5}
    assert on_disk["crashing"]["coalescing"] == {"applied": 3}
    assert on_disk["crashing"]["error"] == "TimeoutError: the Kubernetes watch did not connect"
    assert "error" not in on_disk["first"]
    assert "error" not in on_disk["last"]
    assert on_disk["last"]["lifecycles_per_s"] == 40.0
    assert all("wall_s" in on_disk[name] for name in ("first", "crashing", "last"))
    # The crashing stage's scenario was on disk before it raised, and the first stage's
    # result before the crashing stage began.
    assert snapshots[1]["first"]["wall_s"] >= 0
    assert snapshots[2]["crashing"] == {"coalescing": {"applied": 3}}


def test_an_interrupt_is_not_swallowed() -> None:
    async def interrupted(part: dict[str, Any], save: Save) -> None:
        raise KeyboardInterrupt

    saved: list[bool] = []
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(run_stages([("x", interrupted)], {}, lambda: saved.append(True)))
    assert saved == [True]


@pytest.mark.parametrize(
    ("load", "cores", "expected"),
    [(0.3, 2, 30.0), (2.0, 2, 30.0), (6.0, 2, 90.0), (16.0, 4, 120.0)],
)
def test_readiness_deadlines_grow_with_load_per_core(
    monkeypatch: pytest.MonkeyPatch, load: float, cores: int, expected: float
) -> None:
    monkeypatch.setattr("os.getloadavg", lambda: (load, 0.0, 0.0))
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    assert machine.patient(30.0) == pytest.approx(expected)
