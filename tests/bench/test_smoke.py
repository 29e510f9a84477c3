"""The benchmark harness end to end at smoke sizes: it runs, converges and reports."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(240)
def test_smoke_run_converges_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "results"
    docs = tmp_path / "docs" / "benchmarks.md"
    argv = [sys.executable, "-m", "bench", "--smoke", "--docs", str(docs), "--out", str(out)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=230)
    assert done.returncode == 0, done.stderr[-4000:]
    [result_file] = out.glob("*.json")
    result = json.loads(result_file.read_text())

    assert {"meta", "both_targets", "direct", "bare_temporal", "ratios"} <= result.keys()
    assert result["meta"]["machine"]["cores"] >= 1
    both = result["both_targets"]
    for rate in both["latency"]["rates"].values():
        assert rate["converged"]
        assert rate["failed_writes"] == 0
        assert set(rate["latency"]) == {"kubernetes", "git"}
        assert rate["latency"]["kubernetes"]["count"] == rate["writes"]
    for burst in [*both["throughput"].values(), *result["direct"]["throughput"].values()]:
        assert burst["converged"]
        assert burst["convergence_s"] is not None
    coalescing = both["coalescing"]
    assert coalescing["converged"]
    assert 1 <= coalescing["applied"]["git_commits"] <= coalescing["updates"]
    assert both["profile"]["stages"]["relay: commit -> published"]["count"] > 0
    assert result["bare_temporal"]["lifecycles_per_s"] > 0
    for cost in both["coalescing"]["cost"].values():
        assert {"cpu_s", "peak_rss_mib"} <= cost.keys()
    ratios = result["ratios"]
    assert set(ratios["throughput_vs_direct"]["both_targets"]) == set(both["throughput"])
    assert set(ratios["latency_vs_direct"]["both_targets"]) == set(both["latency"]["rates"])
    assert ratios["throughput_vs_bare_temporal_lifecycles"]["both_targets"]
    section = docs.read_text()
    assert f"## Run {result['meta']['timestamp']}" in section
    if importlib.util.find_spec("matplotlib") is not None:
        assert (out / result_file.name.replace(".json", ".png")).is_file()
        assert (out / result_file.name.replace(".json", "-throughput.png")).is_file()
        shown = re.findall(r"!\[[^]]*\]\((images/[^)]+\.png)\)", section)
        assert len(shown) == 2, section
        for picture in shown:
            assert (docs.parent / picture).stat().st_size > 0


@pytest.mark.timeout(180)
def test_a_terminated_run_stops_the_stack_it_started(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "bench", "--smoke", "--no-docs", "--out", str(tmp_path)]
    run = subprocess.Popen(argv, cwd=REPO, stderr=subprocess.PIPE, text=True)
    assert run.stderr is not None
    started: dict[str, int] = {}
    for line in run.stderr:
        found = re.search(r"stack up in \S+: (\{.*\})", line)
        if found:
            started = {k: int(v) for k, v in re.findall(r"'([\w-]+)': (\d+)", found.group(1))}
            break
    assert started, "the stack never came up"
    run.terminate()
    run.communicate(timeout=120)

    def alive(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    left = {name: pid for name, pid in started.items() if alive(pid)}
    for pid in left.values():  # stop what the run left behind, then fail
        psutil.Process(pid).kill()
    assert list(left) == []
