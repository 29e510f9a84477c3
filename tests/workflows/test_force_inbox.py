"""The inbox's rules for forced events: kept for the newest version only, fulfilled once."""

from __future__ import annotations

from dataclasses import replace

from tests.workflows.harness import change
from vocabulary import OP_UPSERT
from workflows.contracts import ChangeEvent
from workflows.inbox import Inbox


def forced(key: str, seq: int, op: str = OP_UPSERT) -> ChangeEvent:
    return replace(change(key, seq, op), force=True)


def catch_up(key: str, seq: int, op: str = OP_UPSERT) -> ChangeEvent:
    return replace(forced(key, seq, op), catch_up=True)


def test_inbox_keeps_a_forced_event_for_the_newest_version_only() -> None:
    key = "team/app"
    inbox = Inbox()
    inbox.offer(change(key, 2), handled_version=0)
    assert not inbox.offer(forced(key, 1), handled_version=0)
    assert inbox.offer(forced(key, 2), handled_version=0)
    assert inbox.next_after(0) == change(key, 2)  # the pending version goes first
    inbox.begin(change(key, 2))
    assert inbox.next_after(2) is None  # ... and fulfils the forced request

    again = forced(key, 2)
    assert inbox.offer(again, handled_version=2)
    assert inbox.next_after(2) is again
    assert not inbox.carriable(2)
    inbox.begin(again)
    assert inbox.next_after(2) is None


def test_a_catch_up_is_dropped_while_its_version_is_in_hand() -> None:
    key = "team/app"
    inbox = Inbox()
    assert inbox.offer(catch_up(key, 1), handled_version=0)  # a lost event: taken as new
    inbox.begin(change(key, 1))
    assert not inbox.offer(catch_up(key, 1), handled_version=0)  # v1 is being handled
    assert inbox.next_after(1) is None  # nothing to re-drive once v1 is done

    assert inbox.offer(change(key, 2), handled_version=1)
    assert not inbox.offer(catch_up(key, 2), handled_version=1)  # v2 waits its turn
    assert not inbox.offer(catch_up(key, 1), handled_version=1)  # older than the newest
    assert inbox.next_after(1) == change(key, 2)

    again = catch_up(key, 2)
    assert inbox.offer(again, handled_version=2)  # handled, yet behind: re-drive it
    assert inbox.next_after(2) is again
