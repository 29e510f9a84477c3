"""Notifications of a key's state changes: Failed, Retrying past N attempts, Recovered,
Deleted.

The sync workflow knows its state changes, so it decides when to notify: once per change,
never per attempt. Each notification is a child workflow (``DeliverNotification``) started
with ``ParentClosePolicy.ABANDON``; the sync awaits only its start (one server round trip,
whatever the receivers do), never its result. Why a child rather than an activity the
workflow does not await: an activity still pending when the run completes (a delete) or
continues as new is abandoned with the run, and waiting for it would hold the sync behind a
receiver that is down. The child outlives the run, retries each receiver on a bounded policy
of its own, and its workflow id (the notice's idempotency key) rejects a duplicate start.
Deterministic: workflow APIs only.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from vocabulary import PHASE_DELETED, PHASE_FAILED, PHASE_RETRYING, PHASE_SYNCED
    from workflows import patches
    from workflows.contracts import (
        EVENT_DELETED,
        EVENT_FAILED,
        EVENT_RECOVERED,
        EVENT_RETRYING,
        NOTIFY_WORKFLOW_TYPE,
        Delivery,
        Notice,
        SyncOptions,
    )
    from workflows.declarations import DELIVER_NOTIFICATION, NOTIFY_RECEIVERS, execute


class Notifying:
    """Mixin of the sync workflow: starts a ``DeliverNotification`` per state change."""

    _key: str
    _options: SyncOptions
    _phase: str
    _attempts: int
    _notices: int
    _notifying: bool = False

    def _check_notify_patch(self) -> None:
        """Decided before the handled event's first command (see ``_check_patches``)."""
        self._notifying = patches.patched(patches.NOTIFY)

    def _troubled(self) -> bool:
        """Failed, or Retrying with a notified number of attempts: a success recovers it."""
        return self._phase == PHASE_FAILED or (
            self._phase == PHASE_RETRYING and self._attempts >= self._retrying_after()
        )

    def _retrying_after(self) -> int:
        return max(1, self._options.notify_retrying_after)

    async def _notify_retrying(self, version: int, error: str) -> None:
        if self._attempts == self._retrying_after():
            await self._notify(EVENT_RETRYING, version, error)

    async def _notify_outcome(self, version: int, *, troubled: bool) -> None:
        """After an event was handled: Deleted, or Recovered when it was troubled before."""
        if self._phase == PHASE_DELETED:
            await self._notify(EVENT_DELETED, version)
        elif self._phase == PHASE_SYNCED and troubled:
            await self._notify(EVENT_RECOVERED, version)

    async def _notify_failed(self, version: int, error: str) -> None:
        await self._notify(EVENT_FAILED, version, error)

    async def _notify(self, event: str, version: int, error: str = "") -> None:
        if event not in self._options.notify_events or not self._notifying:
            return
        self._notices += 1
        info = workflow.info()
        namespace, _, name = self._key.partition("/")
        notice = Notice(
            id=f"{self._key}:v{version}:{event}:{self._notices}",
            event=event,
            namespace=namespace,
            name=name,
            version=version,
            phase=self._phase,
            workflow_id=info.workflow_id,
            run_id=info.run_id,
            time=workflow.now().isoformat(),
            attempts=self._attempts,
            error=error,
            delivery_attempts=self._options.notify_attempts,
            delivery_max_interval_s=self._options.notify_max_interval_s,
        )
        try:
            await workflow.start_child_workflow(
                NOTIFY_WORKFLOW_TYPE,
                notice,
                id=f"notify:{notice.id}",
                parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"{event} {self._key} v{version}",
            )
        except WorkflowAlreadyStartedError:
            workflow.logger.info("%s: notification %s already started", self._key, notice.id)


@workflow.defn(name=NOTIFY_WORKFLOW_TYPE)
class DeliverNotification:
    """Deliver one notice to every receiver subscribed to its event, each on its own
    bounded retry policy; returns how many receivers took it. A receiver that stays down
    past its attempts is given up (logged), the others are not held up by it."""

    @workflow.run
    async def run(self, notice: Notice) -> int:
        receivers = await execute(NOTIFY_RECEIVERS, notice)
        policy = RetryPolicy(
            initial_interval=timedelta(seconds=1),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=max(1.0, notice.delivery_max_interval_s)),
            maximum_attempts=max(1, notice.delivery_attempts),
        )
        deliveries = [
            execute(
                DELIVER_NOTIFICATION,
                Delivery(receiver=receiver, notice=notice),
                retry_policy=policy,
                summary=f"{notice.event} to {receiver}",
            )
            for receiver in receivers
        ]
        outcomes = await asyncio.gather(*deliveries, return_exceptions=True)
        for receiver, outcome in zip(receivers, outcomes, strict=True):
            if isinstance(outcome, ActivityError):
                workflow.logger.error("notice %s not delivered to %s", notice.id, receiver)
        return sum(1 for outcome in outcomes if not isinstance(outcome, BaseException))
