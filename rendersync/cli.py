"""The ``rendersync`` command: production entrypoints, the dev stack and operations.

Each subcommand runs one function with the parsed arguments and the Settings: the
long-running processes are those of ``rendersync.processes``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from persistence.db import make_engine
from persistence.migrating import upgrade
from rendersync import accesscli, changecli, processes
from rendersync.devstack import devcommand
from rendersync.logs import configure_logging
from rendersync.ops import commands as ops_commands
from rendersync.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rendersync",
        description="Render AppConfigs kept in a database into Kubernetes and Git, durably.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    api = sub.add_parser("api", help="serve the REST API")
    api.add_argument("--host", help="listen address (default: RENDERSYNC_API__HOST)")
    api.add_argument("--port", type=int, help="listen port (default: RENDERSYNC_API__PORT)")
    api.add_argument("--no-migrate", action="store_true", help="do not upgrade the schema first")
    api.set_defaults(run=processes.run_api)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="migrate the schema to the latest version").set_defaults(
        run=run_db_upgrade
    )

    emu = sub.add_parser("k8s-emulator", help="serve the Kubernetes API emulator (test/dev)")
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--port", type=int, default=6443)
    emu.add_argument("--kubeconfig-out", help="write a kubeconfig pointing at the emulator")
    emu.add_argument("--install-crd", action="store_true", help="register the AppConfig CRD")
    emu.set_defaults(run=run_k8s_emulator)
    for name, run, what in (
        ("relay", processes.run_relay, "publish the outbox to Kafka"),
        ("bridge", processes.run_bridge, "hand Kafka change events to Temporal"),
        ("worker", processes.run_worker, "run the Temporal worker (workflow + activities)"),
    ):
        sub.add_parser(name, help=what).set_defaults(run=run)
    devcommand.add_parsers(sub)
    ops_commands.add_parsers(sub)
    accesscli.add_parsers(sub)
    changecli.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as err:
        print(f"rendersync: {setting_error(err)}", file=sys.stderr)
        return 2
    configure_logging(level=settings.log.level, json_format=settings.log.json_format)
    run: Callable[[argparse.Namespace, Settings], int] = args.run
    return run(args, settings)


def run_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    upgrade(make_engine(settings.db.url, busy_timeout_ms=settings.db.sqlite_busy_timeout_ms))
    return 0


def run_k8s_emulator(args: argparse.Namespace, _settings: Settings) -> int:
    from rendersync.devstack.k8semulator import serve

    kubeconfig = Path(args.kubeconfig_out) if args.kubeconfig_out else None
    return serve(
        host=args.host, port=args.port, kubeconfig_out=kubeconfig, install_crd=args.install_crd
    )


def setting_error(err: ValidationError) -> str:
    """The first invalid setting as one line, named by its environment variable."""
    first = err.errors()[0]
    loc = [str(part) for part in first["loc"] if not str(part).isdigit()]
    if not loc:  # the targets and routes, checked together
        return f"RENDERSYNC_TARGETS/RENDERSYNC_ROUTES: {first['msg'].removeprefix('Value error, ')}"
    name = "RENDERSYNC_" + "__".join(loc[:2]).upper()
    return f"{name}: {first['msg']}"


def run() -> None:
    """Console entry point. Exits without interpreter finalization: Temporal's client runtime
    threads can abort a normal interpreter shutdown after the work is done."""
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
