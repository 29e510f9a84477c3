"""The ``rendersync`` command: production entrypoints, the dev stack and operations.

Each subcommand runs one function with the parsed arguments and the Settings: the
long-running processes are those of ``rendersync.processes``. The parsers name those
functions without importing them (``rendersync.subcommands``), so a process started by this
command loads what it uses and no other subcommand's clients."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from rendersync import accessparsers, changeparsers
from rendersync.devstack import devparsers
from rendersync.logs import configure_logging
from rendersync.ops import opsparsers
from rendersync.settings import Settings
from rendersync.subcommands import Deferred, Run


def _process(name: str) -> Deferred:
    return Deferred("rendersync.processes", name)


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand's flags; building them imports no subcommand's implementation."""
    parser = argparse.ArgumentParser(
        prog="rendersync",
        description="Render AppConfigs kept in a database into Kubernetes and Git, durably.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    api = sub.add_parser("api", help="serve the REST API")
    api.add_argument("--host", help="listen address (default: RENDERSYNC_API__HOST)")
    api.add_argument("--port", type=int, help="listen port (default: RENDERSYNC_API__PORT)")
    api.add_argument("--no-migrate", action="store_true", help="do not upgrade the schema first")
    api.set_defaults(run=_process("run_api"))

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="migrate the schema to the latest version").set_defaults(
        run=_process("run_db_upgrade")
    )
    for name, what in (
        ("relay", "publish the outbox to Kafka"),
        ("bridge", "hand Kafka change events to Temporal"),
        ("worker", "run the Temporal worker (workflow + activities)"),
    ):
        sub.add_parser(name, help=what).set_defaults(run=_process(f"run_{name}"))
    devparsers.add_parsers(sub)
    opsparsers.add_parsers(sub)
    accessparsers.add_parsers(sub)
    changeparsers.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as err:
        print(f"rendersync: {setting_error(err)}", file=sys.stderr)
        return 2
    configure_logging(level=settings.log.level, json_format=settings.log.json_format)
    run: Run = args.run
    return run(args, settings)


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
