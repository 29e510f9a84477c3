"""Starting and stopping an emulator: in-process for tests, blocking for the CLI."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from k8s.manifests import load_crd

from . import accessreviews, discovery, faults, openapi, requestlog
from .handlers import ResourceHandlers, errors_middleware
from .kubeconfig import DEFAULT_TOKEN, write_kubeconfig
from .objects import ObjectService
from .resourcetypes import CRDS, NAMESPACES, Registry
from .store import Store
from .writes import WriteOptions

log = logging.getLogger(__name__)

_NAMESPACES = ("default", "kube-system", "kube-public")
_SHUTDOWN_TIMEOUT_S = 2.0


@dataclass
class Emulator:
    """A running emulator. ``faults`` injects errors; ``service`` is the in-process API;
    ``requests`` logs every request served (see :mod:`.requestlog`)."""

    url: str
    port: int
    kubeconfig_path: Path | None
    faults: faults.Faults
    service: ObjectService
    requests: requestlog.RequestLog
    #: TokenReview and SubjectAccessReview answers (``accessreviews``).
    reviews: accessreviews.Reviews

    @property
    def store(self) -> Store:
        return self.service.store


def build_app(
    *, event_window: int = 1000
) -> tuple[
    web.Application, ObjectService, faults.Faults, requestlog.RequestLog, accessreviews.Reviews
]:
    """A fresh application with its own store; nothing is shared between emulators."""
    service = ObjectService(Store(event_window=event_window), Registry())
    injected = faults.Faults()
    requests = requestlog.RequestLog()
    answers = accessreviews.Reviews()
    app = web.Application(
        middlewares=[
            requestlog.middleware(requests, service.registry),
            errors_middleware,
            faults.middleware(injected),
        ],
        client_max_size=4 * 1024 * 1024,
    )
    discovery.add_routes(app, service.registry)
    faults.add_routes(app, injected)
    requestlog.add_routes(app, requests)
    accessreviews.add_routes(app, answers)
    openapi.add_routes(app, service.registry)
    app.router.add_route("*", "/{tail:.*}", ResourceHandlers(service).handle)
    bootstrap = WriteOptions(manager="rendersync-emulator")
    for name in _NAMESPACES:
        service.create(NAMESPACES, "", {"metadata": {"name": name}}, bootstrap)

    async def wake_watchers(_: web.Application) -> None:
        service.store.close()

    app.on_shutdown.append(wake_watchers)
    return app, service, injected, requests, answers


def install_crds(service: ObjectService, crds: list[dict[str, Any]]) -> None:
    opts = WriteOptions(manager="rendersync-emulator")
    for crd in crds:
        service.create(CRDS, "", crd, opts)


@asynccontextmanager
async def running_emulator(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    kubeconfig_out: Path | None = None,
    crds: list[dict[str, Any]] | None = None,
    event_window: int = 1000,
    token: str = DEFAULT_TOKEN,
) -> AsyncIterator[Emulator]:
    """Serve an emulator on ``host:port`` (0: a free port) until the block exits.

    ``event_window`` is how many events watches can resume from before they get 410 Gone.
    ``token`` is the bearer token of the kubeconfig written to ``kubeconfig_out``.
    """
    app, service, injected, requests, answers = build_app(event_window=event_window)
    install_crds(service, crds or [])
    runner = web.AppRunner(app, shutdown_timeout=_SHUTDOWN_TIMEOUT_S, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        url = f"http://{host}:{bound}"
        written = write_kubeconfig(kubeconfig_out, url, token=token) if kubeconfig_out else None
        log.info("kubernetes API emulator listening on %s", url)
        yield Emulator(url, bound, written, injected, service, requests, answers)
    finally:
        service.store.close()
        await runner.cleanup()


def serve(*, host: str, port: int, kubeconfig_out: Path | None, install_crd: bool = False) -> int:
    """Run an emulator until SIGINT/SIGTERM; returns the process exit code."""
    return asyncio.run(
        _serve(host=host, port=port, kubeconfig_out=kubeconfig_out, install_crd=install_crd)
    )


async def _serve(*, host: str, port: int, kubeconfig_out: Path | None, install_crd: bool) -> int:
    crds = []
    if install_crd:
        crds.append(load_crd())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with running_emulator(host=host, port=port, kubeconfig_out=kubeconfig_out, crds=crds):
            await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    log.info("kubernetes API emulator stopped")
    return 0
