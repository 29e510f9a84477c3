"""The inbox rules on their own: dedupe by seq, newest wins, deletes are never skipped."""

from __future__ import annotations

from tests.workflows.harness import change
from vocabulary import OP_DELETE
from workflows.inbox import Inbox

KEY = "team/app"


def test_duplicates_and_older_events_are_dropped() -> None:
    inbox = Inbox()
    assert inbox.offer(change(KEY, 2), handled_version=0)
    assert not inbox.offer(change(KEY, 2), handled_version=0)
    assert not inbox.offer(change(KEY, 1), handled_version=0)
    assert inbox.desired_version == 2
    assert inbox.next_after(0) == change(KEY, 2)


def test_upserts_coalesce_to_the_newest() -> None:
    inbox = Inbox()
    for seq in (1, 2, 3):
        inbox.offer(change(KEY, seq), handled_version=0)
    assert inbox.next_after(0) == change(KEY, 3)
    assert inbox.newer_than(2)
    assert not inbox.newer_than(3)
    assert inbox.next_after(3) is None


def test_delete_is_handled_before_a_newer_recreate() -> None:
    inbox = Inbox()
    inbox.offer(change(KEY, 1), handled_version=0)
    inbox.offer(change(KEY, 2, OP_DELETE), handled_version=0)
    inbox.offer(change(KEY, 3), handled_version=0)
    assert inbox.next_after(0) == change(KEY, 2, OP_DELETE)
    assert not inbox.carriable(0)
    assert inbox.next_after(2) == change(KEY, 3)
    assert inbox.carriable(2)


def test_newest_delete_covers_older_deletes() -> None:
    inbox = Inbox()
    for seq, op in ((1, "upsert"), (2, OP_DELETE), (3, "upsert"), (4, OP_DELETE)):
        inbox.offer(change(KEY, seq, op), handled_version=0)
    assert inbox.next_after(0) == change(KEY, 4, OP_DELETE)
    assert inbox.next_after(4) is None


def test_carried_pending_event_is_restored() -> None:
    pending = change(KEY, 7)
    inbox = Inbox(desired_version=7, pending=pending)
    assert inbox.next_after(6) == pending
    assert not inbox.offer(change(KEY, 7), handled_version=0)
