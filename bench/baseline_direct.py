"""Baseline (a): the sync-worker design without Temporal, as a process of its own.

A Kafka consumer on the change topic that server-side applies every event straight to the
cluster (the same renderer and fenced apply rendersync's activity uses), partitions
concurrently, each in offset order, offsets committed after the applies. No coalescing, no
status write-back, no Git, no durable retries: the floor rendersync's durability costs are
measured against. Configured by the same ``RENDERSYNC_*`` variables as rendersync.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from k8s.applying import apply_appconfig
from k8s.client import make_api_client
from k8s.manifests import render_appconfig
from rendersync.processes import run_until_signalled
from rendersync.settings import Settings
from vocabulary import OP_UPSERT
from worker.changeevents import PoisonMessageError, parse_change
from worker.topics import wait_for_topic

logger = logging.getLogger(__name__)
GROUP = "bench-direct-apply"


async def _apply(api: object, record: ConsumerRecord[bytes, bytes], field_manager: str) -> None:
    try:
        event = parse_change(record.key, record.value)
    except PoisonMessageError:
        return
    if event is None or event.image is None or event.op != OP_UPSERT:
        return
    image = event.image
    cr = render_appconfig(
        namespace=image.namespace,
        name=image.name,
        spec=image.spec,
        labels=image.labels,
        annotations=image.annotations,
        seq=image.seq,
    )
    await apply_appconfig(api, cr=cr, field_manager=field_manager)  # type: ignore[arg-type]


async def _partition(
    api: object, records: list[ConsumerRecord[bytes, bytes]], field_manager: str
) -> None:
    for record in records:
        for _attempt in range(20):
            try:
                await _apply(api, record, field_manager)
                break
            except Exception as err:
                logger.warning("apply failed (%s); retrying", err)
                await asyncio.sleep(0.2)


async def consume(settings: Settings, stop: asyncio.Event) -> None:
    kafka, kube = settings.kafka, settings.kubernetes
    if not await wait_for_topic(
        bootstrap_servers=kafka.bootstrap_servers, topic=kafka.topic, stop=stop
    ):
        return
    api = await make_api_client(kubeconfig=kube.kubeconfig, context=kube.context)
    consumer = AIOKafkaConsumer(
        kafka.topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=kafka.max_poll_records,
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            await asyncio.gather(
                *(_partition(api, recs, kube.field_manager) for recs in batch.values())
            )
            offsets = {tp: recs[-1].offset + 1 for tp, recs in batch.items() if recs}
            if offsets:
                await consumer.commit(offsets)
    finally:
        await consumer.stop()
        await api.close()


def main() -> int:
    settings = Settings()
    logging.basicConfig(level=settings.log.level)
    return run_until_signalled(lambda stop: consume(settings, stop))


if __name__ == "__main__":
    raise SystemExit(main())
