"""A Signaller that records the events handed to it instead of signalling Temporal."""

from __future__ import annotations

import asyncio

from worker.signalling import Signaller
from workflows.contracts import ChangeEvent


class RecordingSignaller(Signaller):
    """Accepts every event at once and keeps it, in the order it was handed over."""

    def __init__(self) -> None:  # no Temporal client: nothing is signalled
        self.events: list[ChangeEvent] = []

    async def deliver(self, event: ChangeEvent, *, stop: asyncio.Event) -> bool:
        self.events.append(event)
        return True

    def of(self, key: str) -> list[tuple[str, int]]:
        """(op, seq) of every event handed over for ``key``, in order."""
        return [(e.op, e.seq) for e in self.events if e.key == key]
