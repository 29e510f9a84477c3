"""What the operations subcommands run: ``syncs list|show|trace|replay``, ``resync``,
``targets list`` and ``history replay`` (their flags are in ``rendersync.ops.opsparsers``).

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
from rendersync.subcommands import Run
from worker.redriving import Redriven, redrive_key

logger = logging.getLogger(__name__)

Command = Callable[[Ops, argparse.Namespace], Awaitable[int]]

#: The reason a re-drive from ``syncs replay`` gives the workflow.
REDRIVE_REASON = "rendersync syncs replay"


def command(body: Command) -> Run:
    """The subcommand running ``body`` with the resolved settings; OpsError → one line on
    stderr, exit 2."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        async def main() -> int:
            async with opened(resolve_settings(args.state_dir, settings)) as ops:
                return await body(ops, args)

        try:
            return asyncio.run(main())
        except OpsError as err:
            print(f"rendersync {args.command}: {err}", file=sys.stderr)
            return 2

    return run


@command
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


@command
async def targets_list(ops: Ops, args: argparse.Namespace) -> int:
    """``targets list``: exit status 1 when a target is unreachable (all are still listed)."""
    timeout_s = probing.PROBE_TIMEOUT_S if args.timeout is None else args.timeout
    if timeout_s <= 0:
        raise OpsError("--timeout must be positive")
    lines = await targetlisting.listing(ops, namespace=args.namespace, timeout_s=timeout_s)
    output.emit(
        [asdict(line) for line in lines],
        output=args.output,
        rows=[targetlisting.table_row(line) for line in lines],
        columns=targetlisting.COLUMNS,
        empty="No targets configured.",
    )
    return 0 if all(line.health == probing.HEALTH_OK for line in lines) else 1


@command
async def syncs_show(ops: Ops, args: argparse.Namespace) -> int:
    shown = await inspecting.show(ops, args.key)
    print(output.as_json(shown) if args.output == output.JSON else inspecting.render(shown))
    return 0


@command
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


@command
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


@command
async def history_replay(ops: Ops, args: argparse.Namespace) -> int:
    if args.file is not None:
        report = await histories.from_file(args.file, workflow_id=args.workflow_id)
    else:
        query = histories.DEFAULT_QUERY if args.query is None else args.query
        report = await histories.from_server(await ops.client(), query, limit=args.limit)
    if args.output == output.JSON:
        print(output.as_json({"replayed": report.replayed, "failures": report.failures}))
    else:
        for failure in report.failures:
            print(f"FAILED {failure['workflowId']} (run {failure['runId']}): {failure['error']}")
        print(f"replayed {report.replayed} history(ies), {len(report.failures)} failed")
    return 0 if report.ok else 1


@command
async def run_resync(ops: Ops, args: argparse.Namespace) -> int:
    return await resync.run(ops, args)
