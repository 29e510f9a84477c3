"""The Kafka bridge: change events → signal-with-start of one AppConfigSync per key.

A consumer group with manual commits. Partitions of a poll batch are processed
concurrently, each in offset order; within a batch only the newest event per key is
signalled, preceded by the newest delete when an upsert follows it (a delete is never
coalesced away: the workflow must compensate the old incarnation before a recreate). Each
key's events are signalled one after the other in seq order. An offset is committed only
after Temporal accepted every signal before it; Temporal unavailable means back off and
retry, never skip. A message that cannot be parsed, whatever is wrong with it, goes to the
DLQ with the reason in a header, and so does an event that no row backs; the partition then
flows on (a message too large to copy there leaves its reason and origin, without the
value). Events are checked against the database (``worker.bridge.resolving``): one whose version
the row never had is replaced by the row's current version.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, MessageSizeTooLargeError
from sqlalchemy import Engine

from vocabulary import OP_DELETE
from worker import pipelinemetrics
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
            config.topic,
            bootstrap_servers=config.bootstrap_servers,
            group_id=config.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=config.max_poll_records,
            session_timeout_ms=config.session_timeout_ms,
            heartbeat_interval_ms=config.heartbeat_interval_ms,
        )
        self.dlq = AIOKafkaProducer(bootstrap_servers=config.bootstrap_servers, acks="all")

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
        await self.consumer.start()
        try:
            while not stop.is_set():
                batch = await self.consumer.getmany(timeout_ms=200)
                if batch:
                    await asyncio.gather(
                        *(self._partition(tp, recs, stop) for tp, recs in batch.items())
                    )
        finally:
            await self.consumer.stop()
            await self.dlq.stop()

    async def _partition(
        self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]], stop: asyncio.Event
    ) -> None:
        try:
            events = [e for r in records if (e := await self._event_of(r, stop)) is not None]
        except StoppedError:
            return  # stopped while the database did not answer: nothing is committed
        per_key = coalesce(events)
        handed = sum(len(key_events) for key_events in per_key)
        pipelinemetrics.EVENTS_COALESCED.inc(len(events) - handed)
        delivered = await asyncio.gather(*(self._deliver(e, stop) for e in per_key))
        if not all(delivered):
            return  # stopped before Temporal took them: leave the offsets uncommitted
        try:
            await self.consumer.commit({tp: records[-1].offset + 1})
        except (CommitFailedError, IllegalStateError) as err:
            # The partition moved to another replica; it redelivers, the workflow dedupes.
            logger.info("commit of %s skipped after a rebalance: %s", tp, err)
            return
        pipelinemetrics.EVENTS_CONSUMED.inc(handed)

    async def _deliver(self, events: list[ChangeEvent], stop: asyncio.Event) -> bool:
        """Signal one key's events in order: the workflow drops an event older than one it
        has seen, so a delete signalled after its recreate would be lost."""
        for event in events:
            if not await self.signaller.deliver(event, stop=stop):
                return False
        return True

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
