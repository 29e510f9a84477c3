"""The Kafka bridge: change events → signal-with-start of one AppConfigSync per key.

A consumer group with manual commits. The bridge keeps polling while the signals of earlier
batches are in flight, up to ``max_in_flight`` polled messages (``worker.bridge.inflight``):
a slow signal holds back only its own key and its partition's commit point. Within a batch
only the newest event per key is signalled, preceded by the newest delete when an upsert
follows it (a delete is never coalesced away: the workflow must compensate the old
incarnation before a recreate). A key's signals are sent one after the other in offset
order, also across batches: a key's next delivery starts when its previous one ended. A
partition's offset is committed only up to the highest contiguous finished message (signalled,
dead-lettered or needing nothing); Temporal unavailable means back off and retry, never skip.
A revoked partition's signals get ``revoke_grace_s`` to finish, then are cancelled and left
uncommitted for the next owner. A message that cannot be parsed, whatever is wrong with it,
goes to the DLQ with the reason in a header, and so does an event that no row backs; the
partition then flows on (a message too large to copy there leaves its reason and origin,
without the value). Events are checked against the database (``worker.bridge.resolving``):
one whose version the row never had is replaced by the row's current version.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import CommitFailedError, IllegalStateError, MessageSizeTooLargeError
from sqlalchemy import Engine

from vocabulary import OP_DELETE
from worker import pipelinemetrics
from worker.bridge.inflight import InFlight
from worker.bridge.resolving import RowResolver, StoppedError
from worker.changeevents import Change, parse_message
from worker.signalling import Signaller
from worker.topics import ensure_topic, wait_for_topic
from workflows.contracts import ChangeEvent

logger = logging.getLogger(__name__)
#: Characters of a reason kept in the DLQ header.
_MAX_REASON = 1000


@dataclass(frozen=True)
class BridgeConfig:
    bootstrap_servers: str
    topic: str
    group_id: str
    dlq_topic: str
    max_poll_records: int = 500
    #: Most polled messages not yet signalled (or dead-lettered); polling pauses at it.
    max_in_flight: int = 1000
    #: How long a revoked partition's signals may take to finish before they are cancelled.
    revoke_grace_s: float = 5.0
    #: Consumer group liveness: a replica that misses heartbeats this long loses its partitions.
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    #: Partitions and replication of the DLQ topic, created by the bridge when missing.
    partitions: int = 6
    replication_factor: int = 1


class Bridge:
    """One bridge replica; several replicas share the work through the consumer group.
    ``engine`` is the database events are checked against (read only)."""

    def __init__(self, config: BridgeConfig, signaller: Signaller, *, engine: Engine) -> None:
        self.config = config
        self.signaller = signaller
        self.resolver = RowResolver(engine)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=config.bootstrap_servers,
            group_id=config.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=config.max_poll_records,
            session_timeout_ms=config.session_timeout_ms,
            heartbeat_interval_ms=config.heartbeat_interval_ms,
        )
        self.dlq = AIOKafkaProducer(bootstrap_servers=config.bootstrap_servers, acks="all")
        self.in_flight = InFlight()
        #: The offsets this replica committed last, per partition it holds.
        self._committed: dict[TopicPartition, int] = {}
        #: Bumped by every revocation: a batch polled before it is not started.
        self._generation = 0

    async def run(self, *, stop: asyncio.Event) -> None:
        # The consumer only sees a topic that existed when it started (until its next metadata
        # refresh), so wait for the relay to create it; the bridge owns the DLQ topic.
        config = self.config
        if not await wait_for_topic(
            bootstrap_servers=config.bootstrap_servers, topic=config.topic, stop=stop
        ):
            return
        await ensure_topic(
            bootstrap_servers=config.bootstrap_servers,
            topic=config.dlq_topic,
            partitions=config.partitions,
            replication=config.replication_factor,
        )
        await self.dlq.start()
        self.consumer.subscribe([config.topic], listener=_Revocations(self))
        await self.consumer.start()
        try:
            while not stop.is_set():
                self.in_flight.raise_failure()
                await self._poll(stop)
                await self._commit(self.in_flight.commits(self._committed))
        finally:
            try:
                await self._settle(self.consumer.assignment())
            finally:
                await self.consumer.stop()
                await self.dlq.stop()

    async def _poll(self, stop: asyncio.Event) -> None:
        """Take what fits under ``max_in_flight`` and start delivering it; when nothing fits,
        wait for deliveries to finish instead."""
        room = self.config.max_in_flight - self.in_flight.count
        if room <= 0:
            await self.in_flight.wait_for_change(timeout_s=0.2)
            return
        generation = self._generation
        batch = await self.consumer.getmany(
            timeout_ms=200, max_records=min(room, self.config.max_poll_records)
        )
        try:
            resolved = await asyncio.gather(
                *(self._resolve(records, stop) for records in batch.values())
            )
        except StoppedError:
            return  # stopped while the database did not answer: nothing is committed
        if generation != self._generation:
            # A rebalance came in between. Every assignment starts from the committed
            # offsets, so these records are polled again; none of them was tracked.
            return
        for tp, records, events in zip(batch, batch.values(), resolved, strict=True):
            self._start(tp, records, events, stop)

    async def _resolve(
        self, records: list[ConsumerRecord[bytes, bytes]], stop: asyncio.Event
    ) -> list[ChangeEvent | None]:
        """The event of each record, None where there is none (DLQ'd or nothing to do)."""
        return [await self._event_of(record, stop) for record in records]

    def _start(
        self,
        tp: TopicPartition,
        records: list[ConsumerRecord[bytes, bytes]],
        events: list[ChangeEvent | None],
        stop: asyncio.Event,
    ) -> None:
        """Track the offsets of ``records`` and start one delivery per key (coalesced)."""
        self.in_flight.track(tp, [r.offset for r in records])
        offsets: dict[str, list[int]] = {}
        nothing_to_do = []
        for record, event in zip(records, events, strict=True):
            if event is None:
                nothing_to_do.append(record.offset)
            else:
                offsets.setdefault(event.key, []).append(record.offset)
        self.in_flight.finish(tp, nothing_to_do)
        present = [e for e in events if e is not None]
        per_key = coalesce(present)
        pipelinemetrics.EVENTS_COALESCED.inc(len(present) - sum(map(len, per_key)))
        for key_events in per_key:
            key = key_events[0].key
            deliver = functools.partial(self._deliver, key_events, stop)
            self.in_flight.start(tp, key, deliver, offsets[key])

    async def _deliver(self, events: list[ChangeEvent], stop: asyncio.Event) -> bool:
        """Signal one key's events in order: the workflow drops an event older than one it
        has seen, so a delete signalled after its recreate would be lost."""
        for event in events:
            if not await self.signaller.deliver(event, stop=stop):
                return False
            pipelinemetrics.EVENTS_CONSUMED.inc()
        return True

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as err:
            # The partition moved to another replica; it redelivers, the workflow dedupes.
            logger.info("commit of %s skipped after a rebalance: %s", sorted(offsets), err)
            return
        self._committed.update(offsets)

    async def _settle(self, tps: Iterable[TopicPartition]) -> None:
        """Finish or cancel the deliveries of ``tps`` and commit what they finished."""
        self._generation += 1
        tps = list(tps)
        await self._commit(await self.in_flight.settle(tps, grace_s=self.config.revoke_grace_s))
        for tp in tps:
            self._committed.pop(tp, None)

    async def _event_of(
        self, record: ConsumerRecord[bytes, bytes], stop: asyncio.Event
    ) -> ChangeEvent | None:
        """The event to hand over for ``record``, None when there is none (DLQ'd or nothing
        to do); raises StoppedError when stopped while the database did not answer."""
        change = await self._parse_or_dlq(record)
        if change is None:
            return None
        resolution = await self.resolver.resolve(change, stop=stop)
        if resolution.dead_letter:
            await self._dead_letter(record, resolution.dead_letter)
        return resolution.event

    async def _parse_or_dlq(self, record: ConsumerRecord[bytes, bytes]) -> Change | None:
        try:
            return parse_message(record.key, record.value)
        except Exception as err:  # whatever the parser trips on, the message is poison
            await self._dead_letter(record, f"{type(err).__name__}: {err}")
            return None

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], reason: str) -> None:
        logger.warning(
            "message at %s[%d]@%d to the DLQ: %s",
            record.topic,
            record.partition,
            record.offset,
            reason,
        )
        headers = [
            ("rendersync-error", reason[:_MAX_REASON].encode()),
            ("rendersync-source", f"{record.topic}/{record.partition}/{record.offset}".encode()),
        ]
        try:
            await self.dlq.send_and_wait(
                self.config.dlq_topic, key=record.key, value=record.value, headers=headers
            )
        except MessageSizeTooLargeError:
            # The copy (the original plus these headers) is over the limit; a retry would fail
            # for ever, so the DLQ keeps the reason and where the original is.
            size = str(len(record.value or b"")).encode()
            headers.append(("rendersync-value-dropped", size))
            await self.dlq.send_and_wait(
                self.config.dlq_topic, key=record.key, value=None, headers=headers
            )
        pipelinemetrics.DLQ_MESSAGES.inc()


class _Revocations(ConsumerRebalanceListener):  # type: ignore[misc]
    """Settles a revoked partition before its new owner starts: its finished offsets are
    committed, its unfinished signals cancelled (the new owner redelivers them)."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.bridge._settle(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        pass


def coalesce(events: list[ChangeEvent]) -> list[list[ChangeEvent]]:
    """Per key, what the workflow needs of ``events``, in seq order: the newest event, and
    before it the newest delete when an upsert superseded that delete. Older upserts are
    superseded (the workflow would skip them); older deletes are covered by the newest one,
    which compensates whatever incarnation the targets hold."""
    newest: dict[str, ChangeEvent] = {}
    newest_delete: dict[str, ChangeEvent] = {}
    for event in events:
        if event.key not in newest or event.seq > newest[event.key].seq:
            newest[event.key] = event
        delete = newest_delete.get(event.key)
        if event.op == OP_DELETE and (delete is None or event.seq > delete.seq):
            newest_delete[event.key] = event
    per_key = []
    for key, event in newest.items():
        delete = newest_delete.get(key)
        superseded = delete is not None and delete.seq < event.seq
        per_key.append([delete, event] if delete is not None and superseded else [event])
    return per_key
