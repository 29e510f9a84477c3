"""Determinism across releases: histories recorded from real pipeline runs (kept in
``tests/workflows/histories``, re-recorded with ``python -m
tests.pipeline.record_histories``) replay against the current workflow code."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from worker.temporalworker import WORKFLOW_RUNNER
from workflows import AppConfigSync

#: The worker's runner, and the sandbox, whose run-time checks refuse a non-deterministic call.
RUNNERS: dict[str, WorkflowRunner] = {
    "worker": WORKFLOW_RUNNER,
    "sandbox": SandboxedWorkflowRunner(),
}
HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
TEXTS = {path.stem: path.read_text() for path in HISTORIES}


def test_histories_are_present() -> None:
    names = {path.stem for path in HISTORIES}
    assert {"life-1", "life-2", "burst-1"} <= names


@pytest.mark.parametrize("runner", sorted(RUNNERS))
@pytest.mark.parametrize("name", sorted(TEXTS))
async def test_recorded_history_replays(name: str, runner: str) -> None:
    history = WorkflowHistory.from_json(f"appconfig:{name}", TEXTS[name])
    replayer = Replayer(workflows=[AppConfigSync], workflow_runner=RUNNERS[runner])
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{name}: {result.replay_failure}"
