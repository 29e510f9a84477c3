"""The outbox relay: publishes committed changes to Kafka in seq order, at least once.

Each row is sent with ``acks=all`` keyed by ``namespace/name`` and marked published only
after the broker acknowledged it, so a crash between the two republishes (consumers dedupe
by seq). Wakes on PostgreSQL NOTIFY, or on SQLite when the commit watch sees a new outbox
row, within milliseconds of the commit; a poll is the fallback.

No single message blocks the relay: one the producer or broker refuses for good (too large)
is set aside with its error (``outbox.set_aside``: the key's status shows it) and the rows
after it flow. A transient failure publishes nothing past it: the prefix before it is
marked, the rest is sent again in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeAlias

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordTooLargeError
from aiokafka.structs import RecordMetadata
from sqlalchemy import Engine

from persistence import outbox, provenance
from persistence.leadership import relay_leadership
from persistence.writing import utcnow
from vocabulary.limits import DEFAULT_KAFKA_MAX_REQUEST_BYTES
from worker import pipelinemetrics
from worker.topics import ensure_topic

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelayConfig:
    db_url: str
    bootstrap_servers: str
    topic: str
    partitions: int = 6
    replication_factor: int = 1
    idempotent_producer: bool = False
    #: The producer's largest message; the API's event limit derives from the same setting.
    max_request_size: int = DEFAULT_KAFKA_MAX_REQUEST_BYTES
    batch_size: int = 500
    #: The poll when no wake-up came (NOTIFY on PostgreSQL, the commit watch on SQLite).
    poll_interval_s: float = 1.0
    #: How often the commit watch looks at a SQLite file (see ``outbox.watch_for_writes``).
    watch_interval_s: float = 0.005
    retention: timedelta = timedelta(days=1)


#: Refusals that concern one message and will not change on a retry.
REFUSED_FOR_GOOD = (MessageSizeTooLargeError, RecordTooLargeError)


Outcome: TypeAlias = BaseException | RecordMetadata


async def _send_all(
    producer: AIOKafkaProducer, topic: str, pending: list[outbox.PendingEvent]
) -> list[Outcome]:
    """Send every event, in order; the outcome of each (its RecordMetadata: acknowledged).
    After a transient failure nothing more is sent (the rest is marked as that failure)."""
    futures: list[asyncio.Future[object] | BaseException] = []
    for event in pending:
        try:
            futures.append(
                await producer.send(topic, key=event.key.encode(), value=event.envelope.encode())
            )
        except REFUSED_FOR_GOOD as err:
            futures.append(err)
        except KafkaError as err:
            futures.extend([err] * (len(pending) - len(futures)))
            break
    sent = [f for f in futures if not isinstance(f, BaseException)]
    results = iter(await asyncio.gather(*sent, return_exceptions=True))
    return [f if isinstance(f, BaseException) else next(results) for f in futures]


def _published(event: outbox.PendingEvent, meta: RecordMetadata) -> provenance.Record:
    """Where the broker put ``event``: the link from the revision to the topic."""
    namespace, _, name = event.key.partition("/")
    detail = {"topic": meta.topic, "partition": meta.partition, "offset": meta.offset}
    return provenance.Record(
        namespace, name, event.seq, provenance.STAGE_PUBLISH, "published", detail
    )


async def publish_batch(engine: Engine, producer: AIOKafkaProducer, topic: str, limit: int) -> int:
    """Publish up to ``limit`` pending events; returns how many were published or set
    aside. Raises the first transient error after marking the events before it."""
    pending = await asyncio.to_thread(outbox.fetch_unpublished, engine, limit=limit)
    if not pending:
        return 0
    outcomes = await _send_all(producer, topic, pending)
    done: list[int] = []
    links: list[provenance.Record] = []
    transient: BaseException | None = None
    for event, error in zip(pending, outcomes, strict=True):
        if isinstance(error, RecordMetadata):
            done.append(event.seq)
            links.append(_published(event, error))
        elif isinstance(error, REFUSED_FOR_GOOD):
            logger.error("change event %d of %s set aside: %s", event.seq, event.key, error)
            await asyncio.to_thread(outbox.set_aside, engine, event=event, error=repr(error))
            namespace, _, name = event.key.partition("/")
            links.append(
                provenance.Record(
                    namespace,
                    name,
                    event.seq,
                    provenance.STAGE_PUBLISH,
                    provenance.SET_ASIDE,
                    {"error": repr(error)},
                )
            )
            pipelinemetrics.EVENTS_SET_ASIDE.inc()
        else:
            transient = error  # this one and every later one are sent again, in order
            break
    await asyncio.to_thread(outbox.mark_published, engine, seqs=done)
    if links:
        await asyncio.to_thread(provenance.record, engine, *links)
    pipelinemetrics.EVENTS_PUBLISHED.inc(len(done))
    if transient is not None:
        raise transient
    return len(pending)


async def run_relay(config: RelayConfig, engine: Engine, *, stop: asyncio.Event) -> None:
    """Publish until ``stop`` is set; waits for leadership first. While Kafka is unreachable
    it retries with backoff: progress pauses, nothing is marked published."""
    async with relay_leadership(config.db_url):
        delay = 0.5
        while not stop.is_set():
            try:
                await _run_connected(config, engine, stop)
                return
            except (KafkaError, OSError) as err:
                logger.warning("Kafka unavailable (%s); retrying in %.1fs", err, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                delay = min(delay * 2, 10.0)


async def _run_connected(config: RelayConfig, engine: Engine, stop: asyncio.Event) -> None:
    await ensure_topic(
        bootstrap_servers=config.bootstrap_servers,
        topic=config.topic,
        partitions=config.partitions,
        replication=config.replication_factor,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=config.bootstrap_servers,
        acks="all",
        enable_idempotence=config.idempotent_producer,
        max_request_size=config.max_request_size,
        linger_ms=2,
    )
    await producer.start()
    wake = asyncio.Event()
    if engine.dialect.name == "postgresql":
        listener = asyncio.create_task(outbox.listen_for_writes(config.db_url, wake))
    else:
        listener = asyncio.create_task(
            outbox.watch_for_writes(config.db_url, wake, interval_s=config.watch_interval_s)
        )
    try:
        await _publish_loop(config, engine, producer, wake, stop)
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await producer.stop()


async def _publish_loop(
    config: RelayConfig,
    engine: Engine,
    producer: AIOKafkaProducer,
    wake: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    rounds = 0
    while not stop.is_set():
        wake.clear()
        try:
            published = await publish_batch(engine, producer, config.topic, config.batch_size)
        except Exception:
            logger.exception("publishing failed; retrying")
            published = 0
            await asyncio.sleep(1)
        await asyncio.to_thread(_observe_lag, engine)
        rounds += 1
        if rounds % 1000 == 0:
            await asyncio.to_thread(outbox.purge_published, engine, older_than=config.retention)
        if published < config.batch_size:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(wake, stop), timeout=config.poll_interval_s)


async def _first(wake: asyncio.Event, stop: asyncio.Event) -> None:
    waits = [asyncio.create_task(wake.wait()), asyncio.create_task(stop.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()


def _observe_lag(engine: Engine) -> None:
    oldest = outbox.oldest_unpublished_at(engine)
    pipelinemetrics.RELAY_LAG.set(0 if oldest is None else (utcnow() - oldest).total_seconds())
