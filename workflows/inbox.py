"""Newest-wins bookkeeping of the change events of one key: dedupe, order and coalescing.

Deterministic and free of Temporal calls, so the workflow stays small and the rules are easy
to test on their own.
"""

from __future__ import annotations

from vocabulary import OP_DELETE
from workflows.contracts import ChangeEvent


class Inbox:
    """Keeps the newest event seen, and the newest delete, of one key.

    An event whose ``seq`` is not above the newest seen is a duplicate or arrived out of
    order: it is dropped. Upserts superseded by a newer event are never applied (coalescing),
    but a delete is never skipped for a newer upsert: a recreate is applied only after the
    compensation of the delete before it has finished.

    A *forced* event at the newest version seen is kept aside in ``forced``: once everything
    newer is done and the key is handled up to exactly that version, it is handed out once
    more (a re-apply, or a re-run of a delete's compensation). Starting to handle any event at
    or above its version satisfies it, so it never causes more than one extra run.

    A *catch-up* (``ChangeEvent.catch_up``: anti-entropy's forced event) asks for less: it is
    dropped while its version is seen but not yet handled, because the key is on that version
    and will report it; only at the handled version does it re-drive like any forced event.
    """

    def __init__(self, desired_version: int = 0, pending: ChangeEvent | None = None) -> None:
        self.desired_version = desired_version
        self.newest: ChangeEvent | None = None
        self.newest_delete: ChangeEvent | None = None
        self.forced: ChangeEvent | None = None
        if pending is not None:
            self._take(pending)

    def offer(self, event: ChangeEvent, *, handled_version: int) -> bool:
        """Record ``event``; False when it is a duplicate or older than the newest seen (a
        forced event at exactly the newest version seen is recorded as a re-drive request,
        a catch-up only once ``handled_version`` has reached it)."""
        if event.seq > self.desired_version:
            self._take(event)
            return True
        if event.catch_up and handled_version < event.seq:
            return False
        if event.force and event.seq == self.desired_version:
            self.forced = event
            return True
        return False

    def next_after(self, handled_version: int) -> ChangeEvent | None:
        """The event to handle once ``handled_version`` is done, or None when caught up."""
        delete = self.newest_delete
        if delete is not None and delete.seq > handled_version:
            return delete
        if self.newest is not None and self.newest.seq > handled_version:
            return self.newest
        if self.forced is not None and self.forced.seq == handled_version:
            return self.forced
        return None

    def begin(self, event: ChangeEvent) -> None:
        """Handling of ``event`` starts; it fulfils a forced request at or below its version."""
        if self.forced is not None and self.forced.seq <= event.seq:
            self.forced = None

    def rearm(self, event: ChangeEvent) -> None:
        """Keep the forced ``event`` to hand out again: its run did not finish (it failed, or
        waits for its next attempt), and a forced re-drive at the handled version exists
        nowhere else."""
        self.forced = event

    def carriable(self, handled_version: int, *, forced: bool = False) -> bool:
        """Whether everything still to do fits in one event carried across continue-as-new;
        with ``forced``, a re-armed forced event counts as carriable too."""
        upcoming = self.next_after(handled_version)
        return upcoming is None or upcoming is self.newest or (forced and upcoming is self.forced)

    def newer_than(self, seq: int) -> bool:
        """Whether an event newer than ``seq`` has been seen (``seq`` is superseded)."""
        return self.desired_version > seq

    def _take(self, event: ChangeEvent) -> None:
        self.desired_version = max(self.desired_version, event.seq)
        self.newest = event
        if event.op == OP_DELETE:
            self.newest_delete = event
