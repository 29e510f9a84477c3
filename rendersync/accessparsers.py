"""The flags of ``rendersync tokens|rbac|whoami``; each runs its function in
``rendersync.accesscli``, imported only then."""

from __future__ import annotations

import argparse
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from api.web.auth.roles import ROLES
from rendersync.ops import output
from rendersync.subcommands import Deferred

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def duration(text: str) -> timedelta | None:
    """``90d``, ``12h``, ``30m``, ``45s``; ``never`` (or ``0``) for no expiry."""
    if text in ("never", "0"):
        return None
    found = _DURATION.match(text)
    if not found:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90d, 12h, never")
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def _access(name: str) -> Deferred:
    return Deferred("rendersync.accesscli", name)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", type=Path, help="act on the dev stack running there")
    parser.add_argument("-o", "--output", choices=output.FORMATS, default=output.TABLE)


def add_parsers(sub: Any) -> None:
    tokens = sub.add_parser("tokens", help="API tokens (stored hashed, shown once)")
    tsub = tokens.add_subparsers(dest="tokens_command", required=True)
    create = tsub.add_parser("create", help="issue a token and print it (only this once)")
    create.add_argument("--user", required=True, help="the principal the token stands for")
    create.add_argument("--group", action="append", default=[], help="a group (repeatable)")
    create.add_argument("--expires-in", type=duration, default=timedelta(days=90), help="90d")
    create.add_argument("--description", default="")
    create.set_defaults(run=_access("tokens_create"))
    listing = tsub.add_parser("list", help="tokens with expiry, last use and revocation")
    listing.set_defaults(run=_access("tokens_list"))
    revoke = tsub.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id")
    revoke.set_defaults(run=_access("tokens_revoke"))

    rbac = sub.add_parser("rbac", help="role bindings kept in the database")
    rsub = rbac.add_subparsers(dest="rbac_command", required=True)
    bind = rsub.add_parser("bind", help="grant a role to a user or group")
    bind.add_argument("--role", required=True, choices=sorted(ROLES))
    bind.add_argument("--namespace", default="", help="omitted: every namespace")
    who = bind.add_mutually_exclusive_group(required=True)
    who.add_argument("--user")
    who.add_argument("--group")
    bind.set_defaults(run=_access("rbac_bind"))
    rsub.add_parser("list", help="every binding").set_defaults(run=_access("rbac_list"))
    unbind = rsub.add_parser("unbind", help="remove a binding by its id")
    unbind.add_argument("id", type=int)
    unbind.set_defaults(run=_access("rbac_unbind"))

    whoami = sub.add_parser("whoami", help="ask the API who the token is")
    whoami.add_argument("--api", help="API base URL (default: the settings' or the stack's)")
    whoami.add_argument("--token", default=os.environ.get("RENDERSYNC_TOKEN"))
    whoami.set_defaults(run=_access("run_whoami"))
    for parser in (create, listing, revoke, bind, unbind, whoami):
        _common(parser)
    for name in ("list",):
        _common(rsub.choices[name])
