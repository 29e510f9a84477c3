"""The AppConfigSync entity workflow: one long-lived run per AppConfig key.

It orders, dedupes and coalesces the key's change events by ``seq``, applies the newest image
to every target in order, compensates deletes in reverse order, classifies failures (a sync
that stops retrying is ``Failed`` until a ``retry`` signal or a newer change) and continues as
new before its history grows large.

Decisions: a delete is never coalesced away, so a recreate waits until the compensation of the
delete before it has finished (a failed delete therefore holds a recreate back until retried).
An apply is a first apply when no target holds a version of the current incarnation; when
one of its steps stops retrying (permanent error or attempts exhausted), the targets already
reached are compensated. ``retry`` only acts on a ``Failed`` sync, and re-drives the event
that failed, a forced one too. A forced event (resync) at the handled version re-applies it,
or re-runs a delete's compensation, once; it never lifts ``Failed``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.contracts import (
        ACTIVITY_FINISH_DELETE,
        ACTIVITY_RECORD_FAILURE,
        ACTIVITY_SYNC_OPTIONS,
        OP_DELETE,
        OP_UPSERT,
        PHASE_DELETED,
        PHASE_DELETING,
        PHASE_FAILED,
        PHASE_SYNCED,
        PHASE_SYNCING,
        QUERY_STATE,
        SEARCH_ATTRIBUTE_KEY,
        SEARCH_ATTRIBUTE_STATE,
        SIGNAL_CHANGE,
        SIGNAL_RETRY,
        WORKFLOW_TYPE,
        ApplyRequest,
        ChangeEvent,
        DeleteRequest,
        FailureReport,
        RetryRequest,
        SyncInput,
        SyncOptions,
        SyncState,
        TargetResult,
        TargetState,
    )
    from workflows.inbox import Inbox
    from workflows.policies import (
        APPLY_ACTIVITIES,
        REMOVE_ACTIVITIES,
        retry_policy,
        start_to_close,
        unknown_targets,
    )

APP_CONFIG_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_KEY)
SYNC_STATE = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_STATE)
#: ``FailureReport.target`` when the final status clean-up of a delete fails.
STATUS_TARGET = "status"
#: Patch ids: histories of runs started before a behaviour existed replay without it.
PATCH_REDRIVE_FAILED = "redrive-failed-forced"
PATCH_WORKER_OPTIONS = "options-from-worker"
OPTIONS_TIMEOUT = timedelta(seconds=5)
OPTIONS_RETRY = RetryPolicy(maximum_attempts=3)


class _StepError(Exception):
    """One step of a sync stopped retrying; ``target`` names where."""

    def __init__(self, target: str, error: str) -> None:
        super().__init__(target, error)
        self.target = target
        self.error = error

    def __str__(self) -> str:
        return f"{self.target}: {self.error}"


@workflow.defn(name=WORKFLOW_TYPE)
class AppConfigSync:
    """Renders the AppConfig key ``input.key`` into its targets, newest version wins."""

    @workflow.init
    def __init__(self, input: SyncInput) -> None:
        carry = input.carry or SyncState(key=input.key)
        self._key = input.key
        self._options = input.options
        self._phase = carry.phase
        self._published = False
        self._handled = carry.handled_version
        self._targets = dict(carry.targets)
        self._last_error = carry.last_error
        self._failed_version = carry.failed_version
        self._events_seen = carry.events_seen
        self._events_this_run = 0
        self._retry = False
        pending = input.pending
        if pending is not None and pending.force and pending.seq <= self._handled:
            self._inbox = Inbox(carry.desired_version)
            self._inbox.rearm(pending)  # a forced re-drive still to finish, carried over
        else:
            self._inbox = Inbox(carry.desired_version, pending)

    @workflow.run
    async def run(self, input: SyncInput) -> SyncState:
        bad = unknown_targets(self._options)
        if bad:
            raise ApplicationError(f"unknown sync targets: {bad}", non_retryable=True)
        if self._next() is None:
            self._set_phase(self._phase)
        while True:
            await workflow.wait_condition(lambda: self._next() is not None or self._can_continue())
            if self._can_continue():
                await self._continue_as_new()
            event = self._next()
            if event is None:
                continue
            await self._handle(event)
            if self._phase == PHASE_DELETED and self._next() is None:
                # Signals accepted while the last task ran must not be lost with the run.
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self._next() is None:
                    workflow.logger.info("%s deleted at v%d, completing", self._key, self._handled)
                    return self.state()

    @workflow.signal(name=SIGNAL_CHANGE)
    def change(self, event: ChangeEvent) -> None:
        """One committed change; duplicates and older events are dropped."""
        self._events_seen += 1
        self._events_this_run += 1
        if event.key != self._key or event.op not in (OP_UPSERT, OP_DELETE):
            workflow.logger.warning(
                "%s: ignoring event for %s with op %r", self._key, event.key, event.op
            )
        elif event.op == OP_UPSERT and event.image is None:
            workflow.logger.warning("%s: ignoring upsert v%d without image", self._key, event.seq)
        elif not self._inbox.offer(event):
            workflow.logger.info("%s: ignoring stale event v%d", self._key, event.seq)
        elif event.force and self._inbox.forced is event:
            workflow.logger.info("%s: forced re-drive of v%d requested", self._key, event.seq)

    @workflow.signal(name=SIGNAL_RETRY)
    def retry(self, request: RetryRequest) -> None:
        """Re-drive a failed sync with the newest event; ignored unless ``Failed``."""
        workflow.logger.info("%s: retry requested (%s)", self._key, request.reason)
        if self._phase == PHASE_FAILED:
            self._retry = True

    @workflow.query(name=QUERY_STATE)
    def state(self) -> SyncState:
        return SyncState(
            key=self._key,
            phase=self._phase,
            desired_version=self._inbox.desired_version,
            handled_version=self._handled,
            targets=dict(self._targets),
            last_error=self._last_error,
            failed_version=self._failed_version,
            events_seen=self._events_seen,
        )

    def _next(self) -> ChangeEvent | None:
        """The event to handle now; a failed one waits for ``retry`` or a newer event."""
        event = self._inbox.next_after(self._handled)
        if event is None or self._phase != PHASE_FAILED or self._retry:
            return event
        return event if event.seq > self._failed_version else None

    def _can_continue(self) -> bool:
        """Continue-as-new is due and nothing would be lost by it."""
        limit = self._options.continue_as_new_after
        due = (limit > 0 and self._events_this_run >= limit) or (
            workflow.info().is_continue_as_new_suggested()
        )
        carriable = self._inbox.carriable(self._handled, forced=self._phase == PHASE_FAILED)
        return due and not self._retry and carriable

    async def _continue_as_new(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        if not self._can_continue():
            return
        pending = self._inbox.next_after(self._handled)
        workflow.logger.info("%s: continuing as new at v%d", self._key, self._inbox.desired_version)
        workflow.continue_as_new(
            SyncInput(key=self._key, options=self._options, carry=self.state(), pending=pending)
        )

    async def _handle(self, event: ChangeEvent) -> None:
        self._retry = False
        self._inbox.begin(event)
        await self._refresh_options()
        try:
            if event.op == OP_DELETE:
                await self._delete(event)
            else:
                await self._upsert(event)
        except _StepError as failed:
            await self._fail(event, failed)

    async def _refresh_options(self) -> None:
        """Take the worker's current options (targets, timeouts, retries) for this event;
        keep the last ones when the worker cannot tell (an older worker, say)."""
        if not workflow.patched(PATCH_WORKER_OPTIONS):
            return  # a run recorded before: its options are its input's
        try:
            options = await workflow.execute_local_activity(
                ACTIVITY_SYNC_OPTIONS,
                result_type=SyncOptions,
                start_to_close_timeout=OPTIONS_TIMEOUT,
                retry_policy=OPTIONS_RETRY,
            )
        except ActivityError as err:
            workflow.logger.warning("%s: keeping the last sync options (%s)", self._key, err)
            return
        bad = unknown_targets(options)
        if bad:
            workflow.logger.error("%s: ignoring options with unknown targets %s", self._key, bad)
            return
        self._options = options

    async def _upsert(self, event: ChangeEvent) -> None:
        assert event.image is not None
        self._set_phase(PHASE_SYNCING)
        first = not any(t.applied_version for t in self._targets.values())
        request = ApplyRequest(image=event.image, committed_at_ms=event.committed_at_ms)
        for target in self._options.targets:
            if self._inbox.newer_than(event.seq):
                return  # superseded: the newer event is handled next
            try:
                result = await self._run(
                    APPLY_ACTIVITIES[target],
                    request,
                    target=target,
                    seq=event.seq,
                    result_type=TargetResult,
                )
            except _StepError as failed:
                if first:
                    await self._compensate(event, failed)
                raise
            assert isinstance(result, TargetResult)
            if result.skipped_newer:
                continue  # nothing written: the target holds nothing of ours to undo
            previous = self._targets.get(target, TargetState()).applied_version
            self._targets[target] = TargetState(max(previous, result.version), result.detail)
        self._succeed(event, PHASE_SYNCED)

    async def _delete(self, event: ChangeEvent) -> None:
        self._set_phase(PHASE_DELETING)
        request = self._delete_request(event.seq)
        await self._remove_targets(request)
        await self._run(ACTIVITY_FINISH_DELETE, request, target=STATUS_TARGET, seq=event.seq)
        self._succeed(event, PHASE_DELETED)

    async def _compensate(self, event: ChangeEvent, failed: _StepError) -> None:
        """Undo a failed first apply on the targets it already reached."""
        reached = [t for t in self._options.targets if t in self._targets]
        workflow.logger.warning("%s: first apply failed, compensating %s", self._key, reached)
        try:
            await self._remove_targets(self._delete_request(event.seq), only=reached)
        except _StepError as undo:
            failed.error += f"; compensation failed on {undo.target}: {undo.error}"

    async def _remove_targets(self, request: DeleteRequest, only: list[str] | None = None) -> None:
        """Remove from the targets in reverse order of apply; each removal is idempotent."""
        for target in reversed(self._options.targets):
            if only is None or target in only:
                await self._run(REMOVE_ACTIVITIES[target], request, target=target, seq=request.seq)
                self._targets.pop(target, None)

    def _succeed(self, event: ChangeEvent, phase: str) -> None:
        self._handled = event.seq
        self._last_error = ""
        self._failed_version = 0
        self._set_phase(phase)

    async def _fail(self, event: ChangeEvent, failed: _StepError) -> None:
        workflow.logger.warning("%s: sync of v%d failed: %s", self._key, event.seq, failed)
        self._failed_version = event.seq
        self._last_error = str(failed)
        self._set_phase(PHASE_FAILED)
        if event.force and workflow.patched(PATCH_REDRIVE_FAILED):
            # A forced re-drive at the handled version lives only in the inbox's forced slot,
            # which handling it emptied: put it back, so that ``retry`` re-drives it.
            self._inbox.rearm(event)
        namespace, name = self._names()
        report = FailureReport(
            namespace=namespace,
            name=name,
            seq=event.seq,
            target=failed.target,
            error=failed.error,
            workflow_id=workflow.info().workflow_id,
        )
        try:
            await self._run(ACTIVITY_RECORD_FAILURE, report, target=failed.target, seq=event.seq)
        except _StepError as unrecorded:
            # The query and the SyncState search attribute still show the failure.
            workflow.logger.error("%s: could not record failure: %s", self._key, unrecorded)

    def _set_phase(self, phase: str) -> None:
        """Set the phase and, on a change, the SyncState/AppConfigKey search attributes."""
        if phase == self._phase and self._published:
            return
        self._phase = phase
        self._published = True
        if self._options.search_attributes:
            workflow.upsert_search_attributes(
                [APP_CONFIG_KEY.value_set(self._key), SYNC_STATE.value_set(phase)]
            )

    def _names(self) -> tuple[str, str]:
        namespace, _, name = self._key.partition("/")
        return namespace, name

    def _delete_request(self, seq: int) -> DeleteRequest:
        namespace, name = self._names()
        return DeleteRequest(namespace=namespace, name=name, seq=seq)

    async def _run(
        self, activity: str, arg: Any, *, target: str, seq: int, result_type: type | None = None
    ) -> Any:
        """Execute ``activity`` under the sync's retry policy; _StepError once it gives up."""
        try:
            return await workflow.execute_activity(
                activity,
                arg,
                result_type=result_type,
                start_to_close_timeout=start_to_close(self._options),
                retry_policy=retry_policy(self._options),
                summary=f"{activity} {self._key} v{seq}",
            )
        except ActivityError as err:
            raise _StepError(target, str(err.cause or err)) from err
