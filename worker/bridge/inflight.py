"""What the bridge has taken from Kafka and not yet committed: deliveries in flight.

The bridge keeps polling while signals of earlier batches are in flight. Three rules keep
the guarantees:

- **Per key in order.** A key's delivery starts only after the key's previous delivery
  finished (whatever its outcome), so a key's signals reach Temporal in offset order and
  never two of one key at once.
- **Commits in order.** Each partition's offsets are tracked in the order they were polled;
  an offset counts as finished when its event was signalled, dead-lettered, or needed
  nothing. Only the highest *contiguous* finished offset is committed: a slow early message
  holds the commit back, however many later ones finished.
- **Bounded.** ``count`` is the number of polled, unfinished messages; the bridge polls no
  more than ``max_in_flight`` of them.

A revoked partition is settled: its deliveries get a grace period to finish, the rest are
cancelled (never committed), and what finished contiguously is returned for a last commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence

from aiokafka import TopicPartition

logger = logging.getLogger(__name__)

#: Hands one key's events over in order; False when stopped before Temporal took them all.
Deliver = Callable[[], Awaitable[bool]]


class PartitionOffsets:
    """The polled, uncommitted offsets of one partition, in poll order."""

    def __init__(self) -> None:
        self._pending: deque[int] = deque()
        self._finished: set[int] = set()
        #: The offset to commit next (one past the highest contiguous finished), None: none.
        self.commit_at: int | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, offsets: Iterable[int]) -> None:
        self._pending.extend(offsets)

    def finish(self, offsets: Iterable[int]) -> None:
        self._finished.update(offsets)
        while self._pending and self._pending[0] in self._finished:
            done = self._pending.popleft()
            self._finished.discard(done)
            self.commit_at = done + 1


class InFlight:
    """Deliveries started and offsets not yet committed, per partition and per key."""

    def __init__(self) -> None:
        self._offsets: dict[TopicPartition, PartitionOffsets] = {}
        self._tasks: dict[TopicPartition, set[asyncio.Task[None]]] = {}
        #: The newest delivery of each key: the key's next delivery waits for it.
        self._newest: dict[str, asyncio.Task[None]] = {}
        self._changed = asyncio.Event()
        self._failure: BaseException | None = None

    @property
    def count(self) -> int:
        return sum(len(offsets) for offsets in self._offsets.values())

    def track(self, tp: TopicPartition, offsets: Sequence[int]) -> None:
        """Polled ``offsets`` of ``tp``, in order; each is finished later by ``finish`` or by
        the delivery that covers it."""
        self._offsets.setdefault(tp, PartitionOffsets()).add(offsets)

    def finish(self, tp: TopicPartition, offsets: Iterable[int]) -> None:
        partition = self._offsets.get(tp)
        if partition is not None:  # None: revoked meanwhile, nothing of it is committed
            partition.finish(offsets)
        self._changed.set()

    def start(self, tp: TopicPartition, key: str, deliver: Deliver, offsets: list[int]) -> None:
        """Run ``deliver`` (of ``key``'s events) after the key's previous delivery ended;
        ``offsets`` (the messages it covers) finish when it succeeded."""
        task = asyncio.create_task(self._run(self._newest.get(key), tp, deliver, offsets))
        self._newest[key] = task
        self._tasks.setdefault(tp, set()).add(task)
        task.add_done_callback(lambda done: self._forget(tp, key, done))

    async def _run(
        self,
        previous: asyncio.Task[None] | None,
        tp: TopicPartition,
        deliver: Deliver,
        offsets: list[int],
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # its outcome does not matter, only that it ended
        if await deliver():
            self.finish(tp, offsets)

    def _forget(self, tp: TopicPartition, key: str, task: asyncio.Task[None]) -> None:
        self._tasks.get(tp, set()).discard(task)
        if self._newest.get(key) is task:
            del self._newest[key]
        if not task.cancelled() and task.exception() is not None:
            self._failure = self._failure or task.exception()
        self._changed.set()

    def raise_failure(self) -> None:
        """Re-raise what a delivery died of (a bug, not Temporal being away: that retries)."""
        if self._failure is not None:
            raise self._failure

    async def wait_for_change(self, timeout_s: float) -> None:
        """Until a delivery or an offset finished, or ``timeout_s`` passed."""
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout=timeout_s)

    def commits(self, committed: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Per partition, the offset to commit where it is beyond ``committed``."""
        return {
            tp: offsets.commit_at
            for tp, offsets in self._offsets.items()
            if offsets.commit_at is not None and offsets.commit_at > committed.get(tp, -1)
        }

    async def settle(
        self, tps: Iterable[TopicPartition], *, grace_s: float
    ) -> dict[TopicPartition, int]:
        """Let the deliveries of ``tps`` finish within ``grace_s``, cancel the rest, forget
        the partitions; returns what finished contiguously, to commit."""
        tps = list(tps)
        tasks = set().union(*(self._tasks.get(tp, set()) for tp in tps))
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_s)
            if late:
                logger.info("%d deliveries unfinished after %.1fs; cancelled", len(late), grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        settled = {}
        for tp in tps:
            offsets = self._offsets.pop(tp, None)
            self._tasks.pop(tp, None)
            if offsets is not None and offsets.commit_at is not None:
                settled[tp] = offsets.commit_at
        return settled
