"""The Kafka bridge: change events → signal-with-start of one AppConfigSync per key.

A consumer group with manual commits. Partitions of a poll batch are processed
concurrently, each in offset order; within a batch only the newest event per key is
signalled (the workflow dedupes and coalesces by seq anyway). An offset is committed only
after Temporal accepted every signal before it; Temporal unavailable means back off and
retry, never skip. Unparseable messages go to the DLQ with the reason in a header.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from worker import metrics
from worker.events import PoisonMessageError, parse_change
from worker.signalling import Signaller
from worker.topics import ensure_topic, wait_for_topic
from workflows.contracts import ChangeEvent

logger = logging.getLogger(__name__)


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
    """One bridge replica; several replicas share the work through the consumer group."""

    def __init__(self, config: BridgeConfig, signaller: Signaller) -> None:
        self.config = config
        self.signaller = signaller
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
        newest: dict[str, ChangeEvent] = {}
        for record in records:
            event = await self._parse_or_dlq(record)
            if event is None:
                continue
            if event.key in newest:
                metrics.EVENTS_COALESCED.inc()
            if event.key not in newest or event.seq > newest[event.key].seq:
                newest[event.key] = event
        delivered = await asyncio.gather(
            *(self.signaller.deliver(e, stop=stop) for e in newest.values())
        )
        if not all(delivered):
            return  # stopped before Temporal took them: leave the offsets uncommitted
        try:
            await self.consumer.commit({tp: records[-1].offset + 1})
        except (CommitFailedError, IllegalStateError) as err:
            # The partition moved to another replica; it redelivers, the workflow dedupes.
            logger.info("commit of %s skipped after a rebalance: %s", tp, err)
            return
        metrics.EVENTS_CONSUMED.inc(len(newest))

    async def _parse_or_dlq(self, record: ConsumerRecord[bytes, bytes]) -> ChangeEvent | None:
        try:
            return parse_change(record.key, record.value)
        except PoisonMessageError as err:
            logger.warning(
                "poison message at %s[%d]@%d to the DLQ: %s",
                record.topic,
                record.partition,
                record.offset,
                err,
            )
            headers = [
                ("rendersync-error", str(err).encode()),
                (
                    "rendersync-source",
                    f"{record.topic}/{record.partition}/{record.offset}".encode(),
                ),
            ]
            await self.dlq.send_and_wait(
                self.config.dlq_topic, key=record.key, value=record.value, headers=headers
            )
            metrics.DLQ_MESSAGES.inc()
            return None
