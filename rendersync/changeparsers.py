"""The flags of ``rendersync diff`` and ``rendersync rollback``; each runs its function in
``rendersync.changecli``, imported only then."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rendersync.ops import output
from rendersync.subcommands import Deferred


def add_parsers(sub: Any) -> None:
    diff = sub.add_parser("diff", help="preview a change: what each target would get")
    diff.add_argument("-f", "--filename", required=True, type=Path, help="an AppConfig file")
    diff.add_argument("-n", "--namespace", help="when the file names none (default: default)")
    diff.set_defaults(run=Deferred("rendersync.changecli", "run_diff"))
    rollback = sub.add_parser("rollback", help="write an older revision as a new one")
    rollback.add_argument("key", help="NAMESPACE/NAME")
    rollback.add_argument("--to", type=int, required=True, help="a version from its history")
    rollback.set_defaults(run=Deferred("rendersync.changecli", "run_rollback"))
    for parser in (diff, rollback):
        parser.add_argument("--api", help="API base URL (default: the settings' or the stack's)")
        parser.add_argument("--token", default=os.environ.get("RENDERSYNC_TOKEN"))
        parser.add_argument("--state-dir", type=Path, help="act on the dev stack running there")
        parser.add_argument("-o", "--output", choices=output.FORMATS, default=output.TABLE)
