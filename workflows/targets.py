"""The target steps of AppConfigSync: apply to every target in order, remove in reverse.

A mixin of the workflow class, so that the workflow module keeps to the event loop, failure
handling and state; deterministic like it (workflow APIs only, through ``steps.run_step``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from vocabulary import PHASE_DELETED, PHASE_DELETING, PHASE_SYNCED, PHASE_SYNCING
    from workflows.contracts import (
        ApplyRequest,
        ChangeEvent,
        DeleteRequest,
        SyncOptions,
        TargetState,
    )
    from workflows.declarations import FINISH_DELETE, TARGETS, Activity
    from workflows.inbox import Inbox
    from workflows.policies import bounded_policy
    from workflows.steps import StepError, never, run_step

A = TypeVar("A")
R = TypeVar("R")

#: ``FailureReport.target`` when the final status clean-up of a delete fails.
STATUS_TARGET = "status"
#: Patch id: requests tell the activities the version handled before (provenance of the
#: versions coalesced into this one); runs recorded before replay without it.
PATCH_PROVENANCE = "provenance-coalesced"


class TargetSteps:
    """Upserts, deletes and the compensation of a failed first apply, step by step."""

    _key: str
    _options: SyncOptions
    _inbox: Inbox
    _targets: dict[str, TargetState]
    _handled: int
    _provenance: bool = False

    def _start(self, phase: str) -> None:
        raise NotImplementedError

    def _succeed(self, event: ChangeEvent, phase: str) -> None:
        raise NotImplementedError

    def _coalesced_after(self) -> int:
        """The version handled before the one being handled (-1 in runs recorded before)."""
        return self._handled if self._provenance else -1

    def _check_patches(self) -> None:
        """Decide the patches of this module before the handled event's first command: a
        patch marker is recorded where ``patched`` is first called, and one called after the
        local activity ``sync_options`` in the same workflow task does not replay."""
        self._provenance = workflow.patched(PATCH_PROVENANCE)

    def _first_apply(self) -> bool:
        """No target holds a version the key was synced at (in this incarnation)."""
        return not any(0 < t.applied_version <= self._handled for t in self._targets.values())

    async def _upsert(self, event: ChangeEvent) -> None:
        assert event.image is not None
        self._start(PHASE_SYNCING)
        first = self._first_apply()
        request = ApplyRequest(
            image=event.image,
            committed_at_ms=event.committed_at_ms,
            coalesced_after=self._coalesced_after(),
        )
        for target in self._options.targets:
            if self._inbox.newer_than(event.seq):
                return  # superseded: the newer event is handled next
            try:
                result = await self._step(
                    TARGETS[target].apply,
                    request,
                    target=target,
                    seq=event.seq,
                    superseded=lambda: self._inbox.newer_than(event.seq),
                )
            except StepError as failed:
                if first and failed.permanent:
                    await self._compensate(event, failed)
                raise
            if result.skipped_newer:
                continue  # nothing written: the target holds nothing of ours to undo
            previous = self._targets.get(target, TargetState()).applied_version
            self._targets[target] = TargetState(max(previous, result.version), result.detail)
        self._succeed(event, PHASE_SYNCED)

    async def _delete(self, event: ChangeEvent) -> None:
        self._start(PHASE_DELETING)
        request = replace(self._delete_request(event.seq), coalesced_after=self._coalesced_after())

        def superseded() -> bool:  # only a newer delete covers this one's compensation
            newest = self._inbox.newest_delete
            return newest is not None and newest.seq > event.seq

        await self._remove_targets(request, superseded=superseded)
        await self._step(
            FINISH_DELETE,
            request,
            target=STATUS_TARGET,
            seq=event.seq,
            superseded=superseded,
        )
        self._succeed(event, PHASE_DELETED)

    async def _compensate(self, event: ChangeEvent, failed: StepError) -> None:
        """Undo a failed first apply on the targets it already reached."""
        reached = [t for t in self._options.targets if t in self._targets]
        workflow.logger.warning("%s: first apply failed, compensating %s", self._key, reached)
        request = self._delete_request(event.seq)
        try:
            await self._remove_targets(request, only=reached, policy=bounded_policy(self._options))
        except StepError as undo:
            failed.error += f"; compensation failed on {undo.target}: {undo.error}"

    async def _remove_targets(
        self,
        request: DeleteRequest,
        *,
        only: list[str] | None = None,
        policy: RetryPolicy | None = None,
        superseded: Callable[[], bool] = never,
    ) -> None:
        """Remove from the targets in reverse order of apply; each removal is idempotent."""
        for target in reversed(self._options.targets):
            if only is None or target in only:
                await self._step(
                    TARGETS[target].remove,
                    request,
                    target=target,
                    seq=request.seq,
                    policy=policy,
                    superseded=superseded,
                )
                self._targets.pop(target, None)

    def _names(self) -> tuple[str, str]:
        namespace, _, name = self._key.partition("/")
        return namespace, name

    def _delete_request(self, seq: int) -> DeleteRequest:
        namespace, name = self._names()
        return DeleteRequest(namespace=namespace, name=name, seq=seq)

    async def _step(
        self,
        declared: Activity[A, R],
        arg: A,
        *,
        target: str,
        seq: int,
        policy: RetryPolicy | None = None,
        superseded: Callable[[], bool] = never,
    ) -> R:
        """Run the step ``declared`` for version ``seq``; ``policy`` replaces its declared
        attempts (a compensation retries a few times)."""
        return await run_step(
            declared,
            arg,
            options=self._options,
            target=target,
            summary=f"{declared.name} {self._key} v{seq}",
            retry_policy=policy,
            superseded=superseded,
        )
