"""Scripted stand-ins for the sync activities, registered under the real activity names."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from vocabulary import TARGET_GIT, TARGET_KUBERNETES
from workflows.contracts import (
    ACTIVITY_APPLY_GIT,
    ACTIVITY_APPLY_KUBERNETES,
    ACTIVITY_DELETE_KUBERNETES,
    ACTIVITY_FINISH_DELETE,
    ACTIVITY_RECORD_FAILURE,
    ACTIVITY_REMOVE_GIT,
    ACTIVITY_SYNC_OPTIONS,
    ApplyRequest,
    DeleteRequest,
    FailureReport,
    SyncOptions,
    TargetResult,
)

WAIT_S = 15.0


@dataclass(frozen=True)
class Call:
    """One activity attempt: its name and the version it was given."""

    activity: str
    seq: int


@dataclass
class Gate:
    """Holds the next attempt of an activity until released."""

    entered: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_entered(self) -> None:
        await asyncio.wait_for(self.entered.wait(), WAIT_S)

    def release(self) -> None:
        self.released.set()


class FakeActivities:
    """Records every attempt in order; can fail attempts or hold them at a gate."""

    def __init__(self) -> None:
        #: What the worker's ``sync_options`` answers: the current settings.
        self.current_options: Callable[[], SyncOptions] = SyncOptions
        self.calls: list[Call] = []
        self.reports: list[FailureReport] = []
        self._failures: dict[str, list[bool]] = {}
        self._skips: dict[str, int] = {}
        self._gates: dict[str, Gate] = {}

    def fail(self, activity_name: str, *, times: int = 1, permanent: bool = False) -> None:
        """Fail the next ``times`` attempts of ``activity_name``, transiently or for good."""
        self._failures.setdefault(activity_name, []).extend([permanent] * times)

    def skip(self, activity_name: str, *, times: int = 1) -> None:
        """Answer the next ``times`` applies of ``activity_name`` as superseded (nothing
        written: the row already holds a newer version)."""
        self._skips[activity_name] = self._skips.get(activity_name, 0) + times

    def block(self, activity_name: str) -> Gate:
        """Hold the next attempt of ``activity_name`` until the returned gate is released."""
        gate = Gate()
        self._gates[activity_name] = gate
        return gate

    def release_all(self) -> None:
        for gate in self._gates.values():
            gate.release()

    def names(self) -> list[str]:
        return [c.activity for c in self.calls]

    def versions(self, activity_name: str) -> list[int]:
        """Versions given to ``activity_name``, in call order."""
        return [c.seq for c in self.calls if c.activity == activity_name]

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.apply_kubernetes,
            self.apply_git,
            self.delete_kubernetes,
            self.remove_git,
            self.finish_delete,
            self.record_failure,
            self.sync_options,
        ]

    async def _step(self, activity_name: str, seq: int) -> None:
        self.calls.append(Call(activity_name, seq))
        gate = self._gates.pop(activity_name, None)
        if gate is not None:
            gate.entered.set()
            await gate.released.wait()
        script = self._failures.get(activity_name)
        if script:
            permanent = script.pop(0)
            raise ApplicationError(
                f"{activity_name} v{seq} failed", type="Scripted", non_retryable=permanent
            )

    async def _apply(self, activity_name: str, target: str, request: ApplyRequest) -> TargetResult:
        await self._step(activity_name, request.image.seq)
        if self._skips.get(activity_name, 0) > 0:
            self._skips[activity_name] -= 1
            return TargetResult(target, request.image.seq, "superseded", skipped_newer=True)
        return TargetResult(target, request.image.seq, detail=f"{target}@{request.image.seq}")

    async def _remove(
        self, activity_name: str, target: str, request: DeleteRequest
    ) -> TargetResult:
        await self._step(activity_name, request.seq)
        return TargetResult(target, request.seq)

    @activity.defn(name=ACTIVITY_APPLY_KUBERNETES)
    async def apply_kubernetes(self, request: ApplyRequest) -> TargetResult:
        return await self._apply(ACTIVITY_APPLY_KUBERNETES, TARGET_KUBERNETES, request)

    @activity.defn(name=ACTIVITY_APPLY_GIT)
    async def apply_git(self, request: ApplyRequest) -> TargetResult:
        return await self._apply(ACTIVITY_APPLY_GIT, TARGET_GIT, request)

    @activity.defn(name=ACTIVITY_DELETE_KUBERNETES)
    async def delete_kubernetes(self, request: DeleteRequest) -> TargetResult:
        return await self._remove(ACTIVITY_DELETE_KUBERNETES, TARGET_KUBERNETES, request)

    @activity.defn(name=ACTIVITY_REMOVE_GIT)
    async def remove_git(self, request: DeleteRequest) -> TargetResult:
        return await self._remove(ACTIVITY_REMOVE_GIT, TARGET_GIT, request)

    @activity.defn(name=ACTIVITY_FINISH_DELETE)
    async def finish_delete(self, request: DeleteRequest) -> None:
        await self._step(ACTIVITY_FINISH_DELETE, request.seq)

    @activity.defn(name=ACTIVITY_RECORD_FAILURE)
    async def record_failure(self, report: FailureReport) -> None:
        await self._step(ACTIVITY_RECORD_FAILURE, report.seq)
        self.reports.append(report)

    @activity.defn(name=ACTIVITY_SYNC_OPTIONS)
    async def sync_options(self) -> SyncOptions:
        return self.current_options()
