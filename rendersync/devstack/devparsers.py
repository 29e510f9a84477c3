"""The flags of the development subcommands: ``rendersync dev`` (the whole stack embedded)
and ``rendersync k8s-emulator`` (the Kubernetes API emulator alone); each runs its function,
imported only then."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from rendersync.subcommands import Deferred


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
    dev.set_defaults(run=Deferred("rendersync.devstack.devcommand", "run"))
    _emulator_parser(sub)


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


def _emulator_parser(sub: Any) -> None:
    emu = sub.add_parser("k8s-emulator", help="serve the Kubernetes API emulator (test/dev)")
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--port", type=int, default=6443)
    emu.add_argument("--kubeconfig-out", help="write a kubeconfig pointing at the emulator")
    emu.add_argument("--install-crd", action="store_true", help="register the AppConfig CRD")
    emu.set_defaults(run=Deferred("rendersync.devstack.emulatorcommand", "run"))
