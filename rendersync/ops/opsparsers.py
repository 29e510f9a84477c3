"""The flags of the operations subcommands: ``syncs list|show|trace|replay``, ``resync``,
``targets list`` and ``history replay``; each runs its function in
``rendersync.ops.commands``, imported only then.

A flag whose default lives next to a client (the probe timeout, the replay query) is
``None`` here and filled in by the command, so building these parsers loads no client.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rendersync.ops import output
from rendersync.subcommands import Deferred


def _ops(name: str) -> Deferred:
    return Deferred("rendersync.ops.commands", name)


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
    listing.set_defaults(run=_ops("syncs_list"))
    show = syncs_sub.add_parser("show", help="one sync, its workflow and recent events")
    show.add_argument("key", metavar="NAMESPACE/NAME")
    _common(show)
    show.set_defaults(run=_ops("syncs_show"))
    trace = syncs_sub.add_parser("trace", help="where each version of a key went")
    trace.add_argument("key", metavar="NAMESPACE/NAME")
    trace.add_argument("--version", type=int, help="only this version")
    _common(trace)
    trace.set_defaults(run=_ops("syncs_trace"))
    replay = syncs_sub.add_parser("replay", help="re-drive failed syncs")
    replay.add_argument("key", metavar="NAMESPACE/NAME", nargs="?")
    replay.add_argument("--all-failed", action="store_true", help="every failed sync")
    _common(replay, namespace=True)
    replay.set_defaults(run=_ops("syncs_redrive"))


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
        metavar="S",
        help="seconds each target's health check may take (default: 5)",
    )
    _common(listing, namespace=True)
    listing.set_defaults(run=_ops("targets_list"))


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
    again.set_defaults(run=_ops("run_resync"))
    history = sub.add_parser("history", help="workflow histories")
    history_sub = history.add_subparsers(dest="history_command", required=True)
    replay = history_sub.add_parser("replay", help="replay histories against the current code")
    source = replay.add_mutually_exclusive_group()
    source.add_argument("--query", help="a visibility query (default: every AppConfigSync run)")
    source.add_argument("--file", type=Path, help="a JSON history file")
    replay.add_argument("--workflow-id", help="with --file (default: the file's stem)")
    replay.add_argument("--limit", type=int, help="at most this many workflow runs")
    _common(replay)
    replay.set_defaults(run=_ops("history_replay"))
