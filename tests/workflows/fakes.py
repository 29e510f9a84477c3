"""Scripted stand-ins for the sync activities, registered under their declared names."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflows.contracts import (
    ApplyRequest,
    DeleteRequest,
    FailureReport,
    SyncOptions,
    TargetResult,
)
from workflows.declarations import (
    FINISH_DELETE,
    RECORD_FAILURE,
    SYNC_OPTIONS,
    TARGETS,
    Target,
    implements,
)

WAIT_S = 15.0


@dataclass(frozen=True)
class Call:
    """One activity attempt: its name, the version it was given and the target it named
    ("" in a request naming none)."""

    activity: str
    seq: int
    target: str = ""


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
        self.removals: list[DeleteRequest] = []
        self._failures: dict[str, list[bool]] = {}
        self._skips: dict[str, int] = {}
        self._gates: dict[str, Gate] = {}

    def fail(
        self, activity_name: str, *, times: int = 1, permanent: bool = False, target: str = ""
    ) -> None:
        """Fail the next ``times`` attempts of ``activity_name`` (on ``target`` only, when
        given), transiently or for good."""
        key = f"{activity_name}@{target}" if target else activity_name
        self._failures.setdefault(key, []).extend([permanent] * times)

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

    def steps(self) -> list[tuple[str, str, int]]:
        """Every target step in call order: (activity, target name, version)."""
        return [(c.activity, c.target, c.seq) for c in self.calls if c.target]

    def activities(self) -> list[Callable[..., Any]]:
        """A fake of each activity the sync workflow calls: both of every declared target."""
        fakes: list[Callable[..., Any]] = [
            self.finish_delete,
            self.record_failure,
            self.sync_options,
        ]
        for target in TARGETS.values():
            fakes += [self._fake_apply(target), self._fake_remove(target)]
        return fakes

    def _fake_apply(self, target: Target) -> Callable[[ApplyRequest], Awaitable[TargetResult]]:
        @activity.defn(name=target.apply.name)
        async def apply(request: ApplyRequest) -> TargetResult:
            return await self._apply(target.apply.name, target.name, request)

        return apply

    def _fake_remove(self, target: Target) -> Callable[[DeleteRequest], Awaitable[TargetResult]]:
        @activity.defn(name=target.remove.name)
        async def remove(request: DeleteRequest) -> TargetResult:
            return await self._remove(target.remove.name, target.name, request)

        return remove

    async def _step(self, activity_name: str, seq: int, target: str = "") -> None:
        self.calls.append(Call(activity_name, seq, target))
        gate = self._gates.pop(activity_name, None)
        if gate is not None:
            gate.entered.set()
            await gate.released.wait()
        script = self._failures.get(f"{activity_name}@{target}") or self._failures.get(
            activity_name
        )
        if script:
            permanent = script.pop(0)
            raise ApplicationError(
                f"{activity_name} v{seq} failed", type="Scripted", non_retryable=permanent
            )

    async def _apply(self, activity_name: str, kind: str, request: ApplyRequest) -> TargetResult:
        target = request.target or kind
        await self._step(activity_name, request.image.seq, target)
        if self._skips.get(activity_name, 0) > 0:
            self._skips[activity_name] -= 1
            return TargetResult(target, request.image.seq, "superseded", skipped_newer=True)
        return TargetResult(target, request.image.seq, detail=f"{target}@{request.image.seq}")

    async def _remove(self, activity_name: str, kind: str, request: DeleteRequest) -> TargetResult:
        target = request.target or kind
        await self._step(activity_name, request.seq, target)
        self.removals.append(request)
        return TargetResult(target, request.seq)

    @implements(FINISH_DELETE)
    async def finish_delete(self, request: DeleteRequest) -> None:
        await self._step(FINISH_DELETE.name, request.seq)

    @implements(RECORD_FAILURE)
    async def record_failure(self, report: FailureReport) -> None:
        await self._step(RECORD_FAILURE.name, report.seq)
        self.reports.append(report)

    @implements(SYNC_OPTIONS)
    async def sync_options(self) -> SyncOptions:
        return self.current_options()
