"""The ``dev`` subcommand: its flags, and the checks made before anything starts."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from rendersync.devstack.admintoken import ensure_admin_token
from rendersync.devstack.ports import PortInUseError, check_ports
from rendersync.devstack.running import run_dev
from rendersync.devstack.stack import DevConfig
from rendersync.devstack.statefiles import StateDirInUseError, lock_state_dir, prepare_state_dir
from rendersync.devstack.supervising import StackError
from rendersync.settings import Settings

#: Failures reported as one line (plus the child's output where there is one), exit status 1.
_FAILURES = (PortInUseError, StateDirInUseError, StackError)


def add_parsers(sub: Any) -> None:
    dev = sub.add_parser(
        "dev",
        help="run the whole stack embedded (development)",
        description="Run Temporal, a Kafka broker, two Kubernetes API emulators (the dev and "
        "prod clusters), a Git remote with an overlay per environment and rendersync's api, "
        "relay, bridge and worker on 127.0.0.1, until Ctrl-C.",
    )
    dev.add_argument("--state-dir", type=Path, default=Path(".rendersync"), help="%(default)s")
    for flag, default, what in (
        ("--api-port", 8000, "the REST API"),
        ("--temporal-port", 7233, "Temporal's gRPC frontend"),
        ("--temporal-ui-port", 8233, "the Temporal Web UI"),
        ("--kafka-port", 9092, "the Kafka-protocol broker"),
        ("--k8s-port", 6443, "the Kubernetes API emulator of the dev cluster"),
        ("--k8s-prod-port", 6444, "the Kubernetes API emulator of the prod cluster"),
    ):
        dev.add_argument(flag, type=_port, default=default, help=f"port of {what} (%(default)s)")
    dev.add_argument(
        "--startup-timeout",
        type=float,
        default=120.0,
        help="seconds each part may take to become ready (%(default)s)",
    )
    dev.add_argument(
        "--workers",
        type=_count,
        default=os.cpu_count() or 1,
        help="Temporal worker processes on the task queue (the cores: %(default)s); only the "
        "first runs drift repair, anti-entropy and orphan collection",
    )
    dev.set_defaults(run=run)


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (1-65535)")
    return port


def _count(text: str) -> int:
    count = int(text)
    if count < 1:
        raise argparse.ArgumentTypeError(f"{count} is not a number of processes (1 or more)")
    return count


def run(args: argparse.Namespace, settings: Settings) -> int:
    config = DevConfig(
        state_dir=args.state_dir.resolve(),
        api_port=args.api_port,
        temporal_port=args.temporal_port,
        temporal_ui_port=args.temporal_ui_port,
        kafka_port=args.kafka_port,
        k8s_port=args.k8s_port,
        k8s_prod_port=args.k8s_prod_port,
        startup_timeout_s=args.startup_timeout,
        workers=args.workers,
    )
    try:
        with lock_state_dir(config.state_dir):
            ports = check_ports(config)
            prepare_state_dir(config.state_dir, branch=settings.git.branch)
            ensure_admin_token(config.state_dir, config.db_file)
            return asyncio.run(run_dev(config, ports, settings))
    except _FAILURES as err:
        message = err.report() if isinstance(err, StackError) else str(err)
        print(f"rendersync dev: {message}", file=sys.stderr)
        return 1
