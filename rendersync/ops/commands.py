"""The operations subcommands: ``syncs list|show|replay``, ``resync``, ``targets list`` and
``history replay``.

Every command takes ``--state-dir DIR`` to act on the dev stack running there; without it,
settings come from the ``RENDERSYNC_*`` environment like the production entrypoints. Output
is an aligned table, or JSON with ``-o json``. Exit status: 0 done, 1 something to look at
(a history that does not replay, a key with nothing to replay, an unreachable target), 2
unusable input (an unknown target) or an unreachable service.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rendersync.ops import (
    histories,
    inspecting,
    output,
    probing,
    resync,
    summaries,
    targetlisting,
    tracing,
)
from rendersync.ops.context import Ops, OpsError, opened, resolve_settings
from rendersync.settings import Settings
from worker.redriving import Redriven, redrive_key

logger = logging.getLogger(__name__)

Command = Callable[[Ops, argparse.Namespace], Awaitable[int]]

#: The reason a re-drive from ``syncs replay`` gives the workflow.
REDRIVE_REASON = "rendersync syncs replay"


def _command(command: Command) -> Callable[[argparse.Namespace, Settings], int]:
    """Run ``command`` with the resolved settings; OpsError → one line on stderr, exit 2."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        async def main() -> int:
            async with opened(resolve_settings(args.state_dir, settings)) as ops:
                return await command(ops, args)

        try:
            return asyncio.run(main())
        except OpsError as err:
            print(f"rendersync {args.command}: {err}", file=sys.stderr)
            return 2

    return run


async def syncs_list(ops: Ops, args: argparse.Namespace) -> int:
    target = None if args.target is None else ops.known_target(args.target)
    if args.failed:
        found = await summaries.failed(ops, namespace=args.namespace, target=target)
    else:
        found = await asyncio.to_thread(
            summaries.from_database, ops, namespace=args.namespace, target=target
        )
    rows = [asdict(s) for s in found]
    output.emit(rows, output=args.output, columns=summaries.COLUMNS, empty="No syncs found.")
    return 0


async def targets_list(ops: Ops, args: argparse.Namespace) -> int:
    """``targets list``: exit status 1 when a target is unreachable (all are still listed)."""
    if args.timeout <= 0:
        raise OpsError("--timeout must be positive")
    lines = await targetlisting.listing(ops, namespace=args.namespace, timeout_s=args.timeout)
    output.emit(
        [asdict(line) for line in lines],
        output=args.output,
        rows=[targetlisting.table_row(line) for line in lines],
        columns=targetlisting.COLUMNS,
        empty="No targets configured.",
    )
    return 0 if all(line.health == probing.HEALTH_OK for line in lines) else 1


async def syncs_show(ops: Ops, args: argparse.Namespace) -> int:
    shown = await inspecting.show(ops, args.key)
    print(output.as_json(shown) if args.output == output.JSON else inspecting.render(shown))
    return 0


async def syncs_trace(ops: Ops, args: argparse.Namespace) -> int:
    rows = await asyncio.to_thread(tracing.trace, ops, args.key, args.version)
    output.emit(rows, output=args.output, columns=tracing.COLUMNS, empty="No versions.")
    return 0


async def redrive(ops: Ops, key: str) -> Redriven:
    """Re-drive ``key``: retry its running workflow, or restart it from its row (through
    ``worker.redriving``, the path the API's replay route takes too)."""
    namespace, name = inspecting.split_key(key)
    return await redrive_key(
        client=await ops.client(),
        engine=ops.engine,
        namespace=namespace,
        name=name,
        task_queue=ops.task_queue,
        options=ops.options,
        reason=REDRIVE_REASON,
    )


async def syncs_redrive(ops: Ops, args: argparse.Namespace) -> int:
    """``syncs replay``: re-drive the given key, or every failed sync."""
    if args.all_failed:
        keys = [s.key for s in await summaries.failed(ops, namespace=args.namespace)]
    elif args.key:
        keys = [args.key]
    else:
        raise OpsError("give NAMESPACE/NAME or --all-failed")
    results = [await redrive(ops, key) for key in keys]
    rows = [{**asdict(r), "version": r.version or ""} for r in results]
    columns = (("KEY", "key"), ("ACTION", "action"), ("VERSION", "version"))
    output.emit(
        [asdict(r) for r in results],
        output=args.output,
        rows=rows,
        columns=columns,
        empty="No failed syncs.",
    )
    return 0 if all(r.ok for r in results) else 1


async def history_replay(ops: Ops, args: argparse.Namespace) -> int:
    if args.file is not None:
        report = await histories.from_file(args.file, workflow_id=args.workflow_id)
    else:
        report = await histories.from_server(await ops.client(), args.query, limit=args.limit)
    if args.output == output.JSON:
        print(output.as_json({"replayed": report.replayed, "failures": report.failures}))
    else:
        for failure in report.failures:
            print(f"FAILED {failure['workflowId']} (run {failure['runId']}): {failure['error']}")
        print(f"replayed {report.replayed} history(ies), {len(report.failures)} failed")
    return 0 if report.ok else 1


async def run_resync(ops: Ops, args: argparse.Namespace) -> int:
    return await resync.run(ops, args)


def _common(parser: argparse.ArgumentParser, *, namespace: bool = False) -> None:
    parser.add_argument(
        "--state-dir", type=Path, help="act on the dev stack running there (default: environment)"
    )
    parser.add_argument("-o", "--output", choices=output.FORMATS, default=output.TABLE)
    if namespace:
        parser.add_argument("-n", "--namespace", help="only this Kubernetes namespace")


def _syncs_parsers(sub: Any) -> None:
    syncs = sub.add_parser("syncs", help="inspect and re-drive syncs")
    syncs_sub = syncs.add_subparsers(dest="syncs_command", required=True)
    listing = syncs_sub.add_parser("list", help="every sync with its phase and versions")
    listing.add_argument("--failed", action="store_true", help="only failed syncs")
    listing.add_argument(
        "--target", metavar="T", help="only the keys routed to target T, with their status there"
    )
    _common(listing, namespace=True)
    listing.set_defaults(run=_command(syncs_list))
    show = syncs_sub.add_parser("show", help="one sync, its workflow and recent events")
    show.add_argument("key", metavar="NAMESPACE/NAME")
    _common(show)
    show.set_defaults(run=_command(syncs_show))
    trace = syncs_sub.add_parser("trace", help="where each version of a key went")
    trace.add_argument("key", metavar="NAMESPACE/NAME")
    trace.add_argument("--version", type=int, help="only this version")
    _common(trace)
    trace.set_defaults(run=_command(syncs_trace))
    replay = syncs_sub.add_parser("replay", help="re-drive failed syncs")
    replay.add_argument("key", metavar="NAMESPACE/NAME", nargs="?")
    replay.add_argument("--all-failed", action="store_true", help="every failed sync")
    _common(replay, namespace=True)
    replay.set_defaults(run=_command(syncs_redrive))


def _targets_parsers(sub: Any) -> None:
    targets = sub.add_parser("targets", help="the configured sync targets")
    targets_sub = targets.add_subparsers(dest="targets_command", required=True)
    listing = targets_sub.add_parser(
        "list",
        help="each target in apply order: where it is, its health and how far it is behind",
        description=(
            "One line per configured target, in apply order. HEALTH: a cheap read of the "
            "target (Kubernetes: list one AppConfig; Git: ls-remote of the branch), all "
            "targets at once, each within --timeout seconds. KEYS: the live keys "
            "routed to the target; SYNCED: of those, the ones whose row version it holds; "
            "LAG: the age of the oldest version it lacks ('-': none). Exit status 1 when a "
            "target is unreachable (every target is still listed)."
        ),
    )
    listing.add_argument(
        "--timeout",
        type=float,
        default=probing.PROBE_TIMEOUT_S,
        metavar="S",
        help="seconds each target's health check may take (default: %(default)s)",
    )
    _common(listing, namespace=True)
    listing.set_defaults(run=_command(targets_list))


def add_parsers(sub: Any) -> None:
    """Register ``syncs``, ``resync``, ``targets`` and ``history``."""
    _syncs_parsers(sub)
    _targets_parsers(sub)
    again = sub.add_parser("resync", help="re-drive every key from the database (anti-entropy)")
    again.add_argument(
        "--prune", action="store_true", help="also delete CRs and Git files without a live row"
    )
    again.add_argument(
        "--target",
        metavar="T",
        help="only the keys routed to target T; with --prune, only T's orphans",
    )
    again.add_argument("--yes", action="store_true", help="with --prune: act, not just show")
    _common(again, namespace=True)
    again.set_defaults(run=_command(run_resync))
    history = sub.add_parser("history", help="workflow histories")
    history_sub = history.add_subparsers(dest="history_command", required=True)
    replay = history_sub.add_parser("replay", help="replay histories against the current code")
    source = replay.add_mutually_exclusive_group()
    source.add_argument("--query", default=histories.DEFAULT_QUERY, help="%(default)s")
    source.add_argument("--file", type=Path, help="a JSON history file")
    replay.add_argument("--workflow-id", help="with --file (default: the file's stem)")
    replay.add_argument("--limit", type=int, help="at most this many workflow runs")
    _common(replay)
    replay.set_defaults(run=_command(history_replay))
