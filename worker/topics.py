"""Topic creation: the relay and the bridge both make sure their topics exist."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

logger = logging.getLogger(__name__)


async def ensure_topic(
    *, bootstrap_servers: str, topic: str, partitions: int, replication: int
) -> None:
    """Create ``topic`` if it is missing; an existing topic is left as it is."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        if topic in set(await admin.list_topics()):
            return
        await admin.create_topics([NewTopic(topic, partitions, replication)])
        logger.info("created topic %s with %d partitions", topic, partitions)
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


async def wait_for_topic(*, bootstrap_servers: str, topic: str, stop: asyncio.Event) -> bool:
    """Wait until ``topic`` exists (the relay creates it); False if ``stop`` came first."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        delay = 0.1
        while not stop.is_set():
            if topic in set(await admin.list_topics()):
                return True
            logger.info("waiting for topic %s to be created by the relay", topic)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 2.0)
        return False
    finally:
        await admin.close()
