"""What each CLI subcommand does, with the settings it was given."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from api.limits import max_event_bytes
from api.web.app import create_app
from persistence.db import make_engine
from persistence.migrating import upgrade
from rendersync import processes
from rendersync.authwiring import AuthConfigError, auth_config
from rendersync.runtime import run_until_signalled
from rendersync.settings import Settings
from rendersync.wiring import api_replayer, preview_targets

logger = logging.getLogger(__name__)


def build_app(settings: Settings, *, migrate: bool) -> FastAPI:
    engine = make_engine(
        settings.db.url, echo=settings.db.echo, busy_timeout_ms=settings.db.sqlite_busy_timeout_ms
    )
    auth = auth_config(settings, engine)
    if migrate:
        upgrade(engine)
    return create_app(
        engine=engine,
        targets=tuple(t.value for t in settings.sync.targets),
        ui_url=settings.temporal.ui_url,
        temporal_namespace=settings.temporal.namespace,
        default_page_limit=settings.api.default_page_limit,
        max_body_bytes=settings.api.max_body_bytes,
        max_event_bytes=max_event_bytes(settings.kafka.max_request_size),
        auth=auth,
        replayer=api_replayer(settings, engine),
        previews=preview_targets(settings),
    )


def run_api(args: argparse.Namespace, settings: Settings) -> int:
    migrate = settings.api.migrate_on_start and not args.no_migrate
    try:
        app = build_app(settings, migrate=migrate)
    except AuthConfigError as err:
        print(f"rendersync api: {err}", file=sys.stderr)
        return 2
    host = args.host or settings.api.host
    port = args.port if args.port is not None else settings.api.port
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
    return 0


def run_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    upgrade(make_engine(settings.db.url, busy_timeout_ms=settings.db.sqlite_busy_timeout_ms))
    return 0


def run_k8s_emulator(args: argparse.Namespace, _settings: Settings) -> int:
    from k8s.emulator import serve

    kubeconfig = Path(args.kubeconfig_out) if args.kubeconfig_out else None
    return serve(
        host=args.host, port=args.port, kubeconfig_out=kubeconfig, install_crd=args.install_crd
    )


def run_relay(_args: argparse.Namespace, settings: Settings) -> int:
    return run_until_signalled(
        lambda stop: processes.relay_main(settings, stop),
        metrics_port=settings.metrics.relay_port,
        metrics_host=settings.metrics.host,
    )


def run_bridge(_args: argparse.Namespace, settings: Settings) -> int:
    return run_until_signalled(
        lambda stop: processes.bridge_main(settings, stop),
        metrics_port=settings.metrics.bridge_port,
        metrics_host=settings.metrics.host,
    )


def run_worker(_args: argparse.Namespace, settings: Settings) -> int:
    return run_until_signalled(
        lambda stop: processes.worker_main(settings, stop),
        metrics_port=settings.metrics.worker_port,
        metrics_host=settings.metrics.host,
    )
