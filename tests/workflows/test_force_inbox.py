"""The inbox's rules for forced events: kept for the newest version only, fulfilled once."""

from __future__ import annotations

from dataclasses import replace

from tests.workflows.harness import change
from vocabulary import OP_UPSERT
from workflows.contracts import ChangeEvent
from workflows.inbox import Inbox


def forced(key: str, seq: int, op: str = OP_UPSERT) -> ChangeEvent:
    return replace(change(key, seq, op), force=True)


def test_inbox_keeps_a_forced_event_for_the_newest_version_only() -> None:
    key = "team/app"
    inbox = Inbox()
    inbox.offer(change(key, 2))
    assert not inbox.offer(forced(key, 1))
    assert inbox.offer(forced(key, 2))
    assert inbox.next_after(0) == change(key, 2)  # the pending version goes first
    inbox.begin(change(key, 2))
    assert inbox.next_after(2) is None  # ... and fulfils the forced request

    again = forced(key, 2)
    assert inbox.offer(again)
    assert inbox.next_after(2) is again
    assert not inbox.carriable(2)
    inbox.begin(again)
    assert inbox.next_after(2) is None
