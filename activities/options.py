"""The worker's current sync settings, served to its workflows as a local activity.

Running workflows ask for them before each event they handle, so a changed setting
(targets, timeouts, retry backoff) reaches every running key once the workers run with it,
instead of staying frozen in the input of each workflow's first start.
"""

from __future__ import annotations

from collections.abc import Callable

from workflows.contracts import SyncOptions
from workflows.declarations import SYNC_OPTIONS, implements


class OptionsActivities:
    """Built once per worker around what returns its current options."""

    def __init__(self, current: Callable[[], SyncOptions]) -> None:
        self.current = current

    @implements(SYNC_OPTIONS)
    async def sync_options(self) -> SyncOptions:
        """The options this worker runs with; no I/O, never fails."""
        return self.current()
