"""The target steps of AppConfigSync: apply to the routed targets in order, remove in reverse.

An upsert applies to the targets the key's routing names (``SyncOptions.route``), then
removes it from the targets it held that the routing no longer names (a move between
environments, a target taken out of the routes), last first: make before break. A delete
removes the key from the targets it was applied to and those its tombstone routes to.

With ``SyncOptions.apply_concurrently`` an upsert applies to its routed targets at once
(each fenced on the version, as ever) instead of one after the other, and waits for all of
them before it removes anything; the options a version was handled with are in its history
(the ``sync_options`` local activity's result), so a replay takes the same path.

A mixin of the workflow class, so that the workflow module keeps to the event loop, failure
handling and state; deterministic like it (workflow APIs only, through ``steps.run_step``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from vocabulary import PHASE_DELETED, PHASE_DELETING, PHASE_SYNCED, PHASE_SYNCING
    from vocabulary.routing import environment_of, unrouted_reason
    from workflows import patches
    from workflows.contracts import (
        ApplyRequest,
        ChangeEvent,
        DeleteRequest,
        SyncOptions,
        TargetState,
    )
    from workflows.declarations import FINISH_DELETE, Activity, target_of
    from workflows.inbox import Inbox
    from workflows.policies import bounded_policy
    from workflows.steps import StepError, SupersededError, never, run_step

A = TypeVar("A")
R = TypeVar("R")

#: ``FailureReport.target`` when the final status clean-up of a delete fails.
STATUS_TARGET = "status"
#: ``FailureReport.target`` when no routing rule routes the key (the rules changed).
ROUTING_TARGET = "routing"


class TargetSteps:
    """Upserts, deletes and the compensation of a failed first apply, step by step."""

    _key: str
    _options: SyncOptions
    _inbox: Inbox
    _targets: dict[str, TargetState]
    _handled: int
    _provenance: bool = False
    _routed_delete: bool = False

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
        self._provenance = patches.patched(patches.PROVENANCE)
        self._routed_delete = patches.patched(patches.ROUTED_DELETE)

    def _first_apply(self) -> bool:
        """No target holds a version the key was synced at (in this incarnation)."""
        return not any(0 < t.applied_version <= self._handled for t in self._targets.values())

    async def _upsert(self, event: ChangeEvent) -> None:
        image = event.image
        assert image is not None
        self._start(PHASE_SYNCING)
        routed = self._options.route(image)
        if routed is None:
            raise StepError(ROUTING_TARGET, unrouted_reason(image), permanent=True)
        self._forget_unconfigured()
        first = self._first_apply()
        request = ApplyRequest(
            image=image,
            committed_at_ms=event.committed_at_ms,
            coalesced_after=self._coalesced_after(),
        )
        try:
            if self._options.apply_concurrently:
                if self._inbox.newer_than(event.seq):
                    return  # superseded: the newer event is handled next
                await self._apply_at_once(routed, request, event)
            else:
                for target in routed:
                    if self._inbox.newer_than(event.seq):
                        return
                    await self._apply_to(target, request, event)
        except StepError as failed:
            if first and failed.permanent:
                await self._compensate(event, failed)
            raise
        for target in reversed(self._options.targets):
            if target in self._targets and target not in routed:
                if self._inbox.newer_than(event.seq):
                    return
                await self._leave(target, self._targets[target], event.seq, leave=True)
                self._targets.pop(target, None)
        self._succeed(event, PHASE_SYNCED)

    async def _apply_to(self, target: str, request: ApplyRequest, event: ChangeEvent) -> None:
        """Apply ``event``'s version to ``target``; then, when the key's place in the target
        moved with its environment, remove the old place. Records what the target holds."""
        result = await self._step(
            target_of(self._options, target).apply,
            replace(request, target=target),
            target=target,
            seq=event.seq,
            superseded=lambda: self._inbox.newer_than(event.seq),
        )
        if result.skipped_newer:
            return  # nothing written: the target holds nothing of ours to undo
        assert event.image is not None
        environment = environment_of(event.image)
        held = self._targets.get(target, TargetState())
        if self._moves(target, held, environment):
            await self._leave(target, held, event.seq, leave=False)  # its old place
        version = max(held.applied_version, result.version)
        placed = environment if target in self._options.placed_by_environment else ""
        self._targets[target] = TargetState(version, result.detail, placed)

    async def _apply_at_once(
        self, routed: tuple[str, ...], request: ApplyRequest, event: ChangeEvent
    ) -> None:
        """:meth:`_apply_to` every target of ``routed`` at once. Every apply runs to its end
        (what the ones that succeeded hold is recorded, so a compensation undoes them); then
        a superseded one ends the event, else the first failure in apply order is raised, a
        permanent one before a transient one (it decides the compensation)."""
        outcomes = await asyncio.gather(
            *(self._apply_to(target, request, event) for target in routed),
            return_exceptions=True,
        )
        failures: list[StepError] = []
        for outcome in outcomes:
            if isinstance(outcome, SupersededError):
                raise outcome
            if isinstance(outcome, StepError):
                failures.append(outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
        if failures:
            raise next((f for f in failures if f.permanent), failures[0])

    def _moves(self, target: str, held: TargetState, environment: str) -> bool:
        """Whether applying ``environment`` to ``target`` leaves the key's old place there."""
        return (
            target in self._options.placed_by_environment
            and held.applied_version > 0
            and held.environment not in ("", environment)
        )

    async def _leave(self, target: str, held: TargetState, seq: int, *, leave: bool) -> None:
        """Remove the key from ``target`` (``leave``: the routing no longer sends it there)
        or from its old place in it (a move within the target), fenced at ``seq``."""
        workflow.logger.info("%s: v%d leaves %s", self._key, seq, target)
        request = replace(
            self._delete_request(seq),
            target=target,
            environment=held.environment,
            leave=leave,
        )
        await self._step(
            target_of(self._options, target).remove,
            request,
            target=target,
            seq=seq,
            superseded=lambda: self._inbox.newer_than(seq),
        )

    async def _delete(self, event: ChangeEvent) -> None:
        self._start(PHASE_DELETING)
        request = replace(self._delete_request(event.seq), coalesced_after=self._coalesced_after())

        def superseded() -> bool:  # only a newer delete covers this one's compensation
            newest = self._inbox.newest_delete
            return newest is not None and newest.seq > event.seq

        await self._remove_targets(request, only=self._held(event), superseded=superseded)
        await self._step(
            FINISH_DELETE,
            request,
            target=STATUS_TARGET,
            seq=event.seq,
            superseded=superseded,
        )
        self._succeed(event, PHASE_DELETED)

    def _held(self, event: ChangeEvent) -> list[str] | None:
        """The targets a delete compensates: those the key was applied to, and those its
        tombstone routes to; every target when neither is known (or in runs recorded before
        routing)."""
        if not self._routed_delete:
            return None
        routed = () if event.image is None else self._options.route(event.image) or ()
        held = [t for t in self._options.targets if t in self._targets or t in routed]
        return held or None

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
        self._forget_unconfigured()
        for target in reversed(self._options.targets):
            if only is None or target in only:
                held = self._targets.get(target, TargetState())
                await self._step(
                    target_of(self._options, target).remove,
                    replace(request, target=target, environment=held.environment),
                    target=target,
                    seq=request.seq,
                    policy=policy,
                    superseded=superseded,
                )
                self._targets.pop(target, None)

    def _forget_unconfigured(self) -> None:
        """A target the key was applied to that is no longer configured cannot be reached:
        it is forgotten (``rendersync targets list`` and orphan collection, once it is
        configured again, show what it holds)."""
        for target in [t for t in self._targets if t not in self._options.targets]:
            workflow.logger.warning("%s: target %s is no longer configured", self._key, target)
            self._targets.pop(target)

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
