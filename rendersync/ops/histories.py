"""``history replay``: check that stored workflow histories replay against the current code.

A history that does not replay (a ``NondeterminismError``, say) means the deployed workflow
code would fail the running workflows it belongs to: deploy it behind ``workflow.patched``
or not at all. Histories come from the server (a visibility query) or from a JSON file
(``temporal workflow show --output json`` writes one).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from worker.temporalworker import WORKFLOW_RUNNER
from workflows import AppConfigSync
from workflows.contracts import WORKFLOW_TYPE

DEFAULT_QUERY = f'WorkflowType="{WORKFLOW_TYPE}"'


@dataclass
class ReplayReport:
    """How many histories were replayed, and the failures by workflow id and run id."""

    replayed: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


async def replay(
    histories: AsyncIterator[WorkflowHistory], *, workflows: Sequence[type] = (AppConfigSync,)
) -> ReplayReport:
    """Replay every history against ``workflows``; a failure never stops the others."""
    report = ReplayReport()
    workflow_ids: dict[str, str] = {}

    async def counted() -> AsyncIterator[WorkflowHistory]:
        async for history in histories:
            report.replayed += 1
            workflow_ids[history.run_id] = history.workflow_id
            yield history

    results = await Replayer(
        workflows=list(workflows), workflow_runner=WORKFLOW_RUNNER
    ).replay_workflows(counted(), raise_on_replay_failure=False)
    for run_id, error in sorted(results.replay_failures.items()):
        report.failures.append(
            {
                "workflowId": workflow_ids.get(run_id, ""),
                "runId": run_id,
                "error": f"{type(error).__name__}: {error}",
            }
        )
    return report


async def from_server(client: Client, query: str, *, limit: int | None = None) -> ReplayReport:
    """Replay the histories of every workflow run ``query`` lists."""
    executions = client.list_workflows(query, limit=limit)
    return await replay(executions.map_histories())


async def from_file(path: Path, *, workflow_id: str | None = None) -> ReplayReport:
    """Replay one history stored as JSON (the workflow id defaults to the file's stem)."""
    text = await asyncio.to_thread(path.read_text)
    history = WorkflowHistory.from_json(workflow_id or path.stem, text)

    async def one() -> AsyncIterator[WorkflowHistory]:
        yield history

    return await replay(one())
