"""The start-up sequence: services and the API together, then the pipeline processes.

Once the emulated clusters answer, one kubeconfig with a context per cluster is written, before
any process that talks to a cluster starts.

Every step has a deadline and watches its process, so a child that dies or hangs at start
ends start-up with a :class:`StackError` naming it. A failing step cancels the others; every
process already started is in the supervisor's hands and stopped with the stack.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from rendersync.devstack.k8semulator.kubeconfig import clusters_kubeconfig, write_kubeconfig_dict
from rendersync.devstack.services.kafka import start_kafka_broker
from rendersync.devstack.services.temporal import start_temporal_dev_server
from rendersync.devstack.stack import (
    TIER_KAFKA,
    TIER_TEMPORAL,
    ChildSpec,
    DevConfig,
    Ports,
    api_spec,
    cluster_urls,
    emulator_specs,
    pipeline_specs,
)
from rendersync.devstack.supervising import StackError, Supervisor
from rendersync.settings import Settings

logger = logging.getLogger(__name__)

#: What a service launcher raises when its service cannot start (with its output).
_START_ERRORS = (RuntimeError, TimeoutError, OSError)


async def start_stack(sup: Supervisor, config: DevConfig, ports: Ports, settings: Settings) -> None:
    """Start everything and return once each part answers; :class:`StackError` otherwise."""
    timeout = config.startup_timeout_s
    # The API needs only the database, so it starts alongside the services.
    await all_of(
        start_temporal(sup, config, ports, namespace=settings.temporal.namespace),
        start_kafka(sup, config, ports),
        *(start_child(sup, spec, timeout_s=timeout) for spec in emulator_specs(config, ports)),
        start_child(sup, api_spec(config, ports), timeout_s=timeout),
    )
    write_kubeconfig_dict(config.kubeconfig, clusters_kubeconfig(cluster_urls(config, ports)))
    grace = settings.sync.worker_grace_s
    await all_of(
        *(
            start_child(sup, s, timeout_s=timeout)
            for s in pipeline_specs(config, ports, worker_grace_s=grace)
        )
    )


async def all_of(*steps: Coroutine[Any, Any, None]) -> None:
    """Run ``steps`` concurrently; the first failure cancels the rest and is raised alone."""
    try:
        async with asyncio.TaskGroup() as group:
            for step in steps:
                group.create_task(step)
    except BaseExceptionGroup as errors:
        raise _first_leaf(errors) from None


def _first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


async def start_temporal(
    sup: Supervisor, config: DevConfig, ports: Ports, *, namespace: str
) -> None:
    try:
        server = await start_temporal_dev_server(
            host=config.host,
            port=ports.temporal,
            ui_port=ports.temporal_ui,
            db_filename=config.temporal_db,
            namespace=namespace,
            startup_timeout_s=config.startup_timeout_s,
        )
    except _START_ERRORS as err:
        raise StackError("temporal did not start:", output=str(err)) from err
    # Adopted inside the step, so a sibling's failure cannot orphan a server that came up.
    sup.adopt("temporal", server.process, tier=TIER_TEMPORAL)


async def start_kafka(sup: Supervisor, config: DevConfig, ports: Ports) -> None:
    try:
        broker = await start_kafka_broker(
            host=config.host, port=ports.kafka, startup_timeout_s=config.startup_timeout_s
        )
    except _START_ERRORS as err:
        raise StackError("kafka did not start:", output=str(err)) from err
    sup.adopt("kafka", broker.process, tier=TIER_KAFKA)


async def start_child(sup: Supervisor, spec: ChildSpec, *, timeout_s: float) -> None:
    await sup.wait_ready(sup.spawn(spec), timeout_s=timeout_s)
