"""``resync``: anti-entropy from the database, optionally pruning what no row backs.

Without ``--prune`` every key is re-driven at once (idempotent: targets fence on the
version). With ``--prune`` the command first shows what it would do: the number of keys it
would re-drive and every orphan it would delete; only ``--yes`` makes it act.

With ``--target T`` only the keys routed to T are re-driven (each still re-applies on every
target it routes to: the others hold its version and are left as they are), and only T's
objects are looked at for orphans.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import asdict
from typing import Any

from persistence.reading import all_rows
from rendersync.ops import output
from rendersync.ops.context import Ops
from worker.antientropy import resync_all
from worker.orphans import Orphan, prune, prune_plan

PLAN_COLUMNS = (("TARGET", "target"), ("KIND", "kind"), ("KEY", "key"), ("VERSION", "version"))


def _orphans(orphans: list[Orphan]) -> list[dict[str, Any]]:
    return [{**asdict(o), "key": o.key} for o in orphans]


async def _count_rows(ops: Ops, namespace: str | None, target: str | None) -> int:
    rows = await asyncio.to_thread(lambda: list(all_rows(ops.engine, namespace=namespace)))
    return sum(1 for row in rows if ops.routes_to(row, target))


async def run(ops: Ops, args: argparse.Namespace) -> int:
    namespace: str | None = args.namespace
    target = None if args.target is None else ops.known_target(args.target)
    act = not args.prune or args.yes
    if act:
        count = await resync_all(
            engine=ops.engine,
            client=await ops.client(),
            task_queue=ops.task_queue,
            options=ops.options,
            namespace=namespace,
            only=None if target is None else lambda row: ops.routes_to(row, target),
        )
    else:
        count = await _count_rows(ops, namespace, target)
    result: dict[str, Any] = {"resynced" if act else "wouldResync": count}
    if target is not None:
        result["target"] = target
    if args.prune:
        result.update(await _prune(ops, namespace=namespace, target=target, act=act))
    _print(result, output_format=args.output, act=act)
    return 0


async def _prune(
    ops: Ops, *, namespace: str | None, target: str | None, act: bool
) -> dict[str, Any]:
    async with ops.clusters(only=target) as clusters, ops.scratch_places(only=target) as places:
        options = ops.options
        plan = await prune_plan(
            engine=ops.engine,
            clusters=clusters,
            places=places,
            options=options,
            namespace=namespace,
        )
        if not act:
            return {"prunePlan": _orphans(plan)}
        removed = await prune(
            plan, engine=ops.engine, clusters=clusters, places=places, options=options
        )
    return {"prunePlan": _orphans(plan), "pruned": _orphans(removed)}


def _print(result: dict[str, Any], *, output_format: str, act: bool) -> None:
    if output_format == output.JSON:
        print(output.as_json(result))
        return
    routed = f" routed to {result['target']}" if "target" in result else ""
    if act:
        print(f"re-drove {result['resynced']} key(s){routed}")
    else:
        print(f"would re-drive {result['wouldResync']} key(s){routed}")
    if "prunePlan" not in result:
        return
    plan = result["prunePlan"]
    print(f"prune plan: {len(plan)} orphan(s)")
    if plan:
        print(output.table(plan, PLAN_COLUMNS))
    if "pruned" in result:
        print(f"pruned {len(result['pruned'])} orphan(s)")
    else:
        print("nothing changed; add --yes to re-drive and prune")
