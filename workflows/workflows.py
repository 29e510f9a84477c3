"""The AppConfigSync entity workflow: one long-lived run per AppConfig key.

It orders, dedupes and coalesces the key's change events by ``seq``, applies the newest image
to every target in order, compensates deletes in reverse order, classifies failures and
continues as new before its history grows large.

Decisions: a transient failure is retried without end: the sync is ``Retrying`` and waits
the backoff on a timer, which a newer event interrupts; a newer event also cancels an attempt
still running for an older upsert (steps.py). Only a permanent failure makes the sync
``Failed``, until a ``retry`` signal or a newer change. A delete is never coalesced away, so a
recreate waits until the compensation of the delete before it has finished (a failing delete
therefore holds a recreate back). An apply is a first apply when no target holds a version
the key was synced at; when one of its steps fails permanently, the targets already reached
are compensated. ``retry`` re-drives a ``Failed`` sync (the event that failed, a forced one
too) and cuts a ``Retrying`` sync's backoff short. A forced event (resync) at the handled
version re-applies it, or re-runs a delete's compensation, once; it never lifts ``Failed``.
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from vocabulary import (
        OP_DELETE,
        OP_UPSERT,
        PHASE_DELETED,
        PHASE_DELETING,
        PHASE_FAILED,
        PHASE_RETRYING,
        PHASE_SYNCING,
    )
    from workflows import patches
    from workflows.contracts import (
        QUERY_STATE,
        SIGNAL_CHANGE,
        SIGNAL_RETRY,
        WORKFLOW_TYPE,
        ChangeEvent,
        FailureReport,
        RetryRequest,
        SyncInput,
        SyncState,
    )
    from workflows.declarations import RECORD_FAILURE, unknown_targets
    from workflows.inbox import Inbox
    from workflows.notifying import Notifying
    from workflows.policies import retry_delay
    from workflows.steps import StepError, SupersededError, current_options, never
    from workflows.targets import TargetSteps
    from workflows.visibility import SyncStateAttributes


@workflow.defn(name=WORKFLOW_TYPE)
class AppConfigSync(TargetSteps, Notifying, SyncStateAttributes):
    """Renders the AppConfig key ``input.key`` into its targets, newest version wins."""

    @workflow.init
    def __init__(self, input: SyncInput) -> None:
        patches.start_run()
        carry = input.carry or SyncState(key=input.key)
        self._key = input.key
        self._options = input.options
        self._phase = carry.phase
        self._handled = carry.handled_version
        self._targets = dict(carry.targets)
        self._last_error = carry.last_error
        self._failed_version = carry.failed_version
        self._events_seen = carry.events_seen
        self._events_this_run = 0
        self._retry = False
        self._attempts = carry.attempts
        self._notices = carry.notices
        #: The event waiting for its next attempt (phase Retrying), and whether it is due.
        self._retrying: ChangeEvent | None = None
        self._retry_due = False
        pending = input.pending
        if pending is not None and pending.force and pending.seq <= self._handled:
            self._inbox = Inbox(carry.desired_version)
            self._inbox.rearm(pending)  # a forced re-drive still to finish, carried over
        else:
            self._inbox = Inbox(carry.desired_version, pending)
        if carry.phase == PHASE_RETRYING and pending is not None:
            self._retrying = pending if pending.seq == carry.retrying_version else None

    @workflow.run
    async def run(self, input: SyncInput) -> SyncState:
        bad = unknown_targets(self._options)
        if bad:
            raise ApplicationError(f"unknown sync targets: {bad}", non_retryable=True)
        self._check_state_patch(self._phase)
        if self._next() is None:
            self._set_phase(self._phase)
        while True:
            await self._wait_for_work()
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
        elif not self._inbox.offer(event, handled_version=self._handled):
            workflow.logger.info("%s: ignoring stale event v%d", self._key, event.seq)
        elif event.force and self._inbox.forced is event:
            workflow.logger.info("%s: forced re-drive of v%d requested", self._key, event.seq)

    @workflow.signal(name=SIGNAL_RETRY)
    def retry(self, request: RetryRequest) -> None:
        """Re-drive a ``Failed`` sync, or retry a ``Retrying`` one now; ignored otherwise."""
        workflow.logger.info("%s: retry requested (%s)", self._key, request.reason)
        if self._phase == PHASE_FAILED:
            self._retry = True
        elif self._phase == PHASE_RETRYING:
            self._retry_due = True

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
            attempts=self._attempts,
            retrying_version=self._retrying.seq if self._retrying is not None else 0,
            notices=self._notices,
        )

    def _next(self) -> ChangeEvent | None:
        """The event to handle now: a failed one waits for ``retry`` or a newer event, a
        retrying one for its backoff (or a newer event)."""
        event = self._inbox.next_after(self._handled)
        if event is None:
            return None
        if self._phase == PHASE_FAILED and not self._retry:
            return event if event.seq > self._failed_version else None
        retrying = self._retrying
        if retrying is not None and not self._retry_due and event.seq <= retrying.seq:
            return None
        return event

    async def _wait_for_work(self) -> None:
        """Until there is an event to handle or continue-as-new is due; while Retrying, the
        backoff timer makes the retried event due."""
        ready: Callable[[], bool] = lambda: self._next() is not None or self._can_continue()  # noqa: E731
        if self._retrying is None or self._retry_due:
            await workflow.wait_condition(ready)
            return
        delay = retry_delay(self._options, self._attempts)
        try:
            await workflow.wait_condition(ready, timeout=delay, timeout_summary="retry backoff")
        except TimeoutError:
            self._retry_due = True

    def _can_continue(self) -> bool:
        """Continue-as-new is due and nothing would be lost by it."""
        limit = self._options.continue_as_new_after
        due = (limit > 0 and self._events_this_run >= limit) or (
            workflow.info().is_continue_as_new_suggested()
        )
        waiting = self._phase in (PHASE_FAILED, PHASE_RETRYING)
        carriable = self._inbox.carriable(self._handled, forced=waiting)
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
        troubled = self._troubled()
        if event != self._retrying:
            self._retrying, self._attempts = None, 0
        self._retry = self._retry_due = False
        self._inbox.begin(event)
        self._check_patches()
        self._check_notify_patch()
        self._check_state_patch(PHASE_DELETING if event.op == OP_DELETE else PHASE_SYNCING)
        self._options = await current_options(self._options, key=self._key)
        try:
            if event.op == OP_DELETE:
                await self._delete(event)
            else:
                await self._upsert(event)
        except SupersededError:
            workflow.logger.info("%s: v%d superseded, attempt cancelled", self._key, event.seq)
        except StepError as failed:
            if not failed.permanent:
                await self._retry_later(event, failed)
                return
            await self._fail(event, failed)
        self._retrying = None
        await self._notify_outcome(event.seq, troubled=troubled)

    def _start(self, phase: str) -> None:
        """Enter ``phase`` for a new event; a retried one stays Retrying until it is done."""
        if self._retrying is None:
            self._set_phase(phase)

    def _succeed(self, event: ChangeEvent, phase: str) -> None:
        self._handled = event.seq
        self._last_error = ""
        self._failed_version = 0
        self._attempts = 0
        self._set_phase(phase)

    async def _retry_later(self, event: ChangeEvent, failed: StepError) -> None:
        """A transient failure: Retrying; the main loop retries ``event`` after the backoff."""
        self._attempts += 1
        self._events_this_run += 1  # a retry round adds about as much history as an event
        self._retrying = event
        self._last_error = str(failed)
        if event.force:
            self._inbox.rearm(event)
        workflow.logger.warning(
            "%s: attempt %d of v%d failed, retrying: %s",
            self._key,
            self._attempts,
            event.seq,
            failed,
        )
        self._set_phase(PHASE_RETRYING)
        await self._record(event, failed, permanent=False)
        await self._notify_retrying(event.seq, str(failed))

    async def _fail(self, event: ChangeEvent, failed: StepError) -> None:
        workflow.logger.warning("%s: sync of v%d failed: %s", self._key, event.seq, failed)
        self._failed_version = event.seq
        self._last_error = str(failed)
        self._set_phase(PHASE_FAILED)
        if event.force and patches.patched(patches.REDRIVE_FAILED):
            # A forced re-drive at the handled version lives only in the inbox's forced slot,
            # which handling it emptied: put it back, so that ``retry`` re-drives it.
            self._inbox.rearm(event)
        await self._record(event, failed, permanent=True)
        await self._notify_failed(event.seq, str(failed))

    async def _record(self, event: ChangeEvent, failed: StepError, *, permanent: bool) -> None:
        """Write the failure to the status table; the query and SyncState show it anyway."""
        namespace, name = self._names()
        report = FailureReport(
            namespace=namespace,
            name=name,
            seq=event.seq,
            target=failed.target,
            error=failed.error,
            workflow_id=workflow.info().workflow_id,
            permanent=permanent,
            attempts=self._attempts,
        )
        superseded = never if permanent else (lambda: self._inbox.newer_than(event.seq))
        try:
            await self._step(
                RECORD_FAILURE,
                report,
                target=failed.target,
                seq=event.seq,
                superseded=superseded,
            )
        except (StepError, SupersededError) as unrecorded:
            workflow.logger.error("%s: could not record failure: %s", self._key, unrecorded)
