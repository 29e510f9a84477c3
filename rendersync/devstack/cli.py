"""The ``dev`` subcommand's arguments (filled in by the dev stack)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parsers(sub: Any) -> None:
    dev = sub.add_parser("dev", help="run the whole stack embedded (development)")
    dev.set_defaults(run=_not_yet)


def _not_yet(_args: argparse.Namespace, _settings: Any) -> int:
    raise SystemExit("rendersync dev is not available yet")
