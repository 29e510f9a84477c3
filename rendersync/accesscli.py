"""``rendersync tokens|rbac|whoami``: API tokens and role bindings, and who the API sees.

``tokens`` and ``rbac`` work on the database directly (whoever holds its credentials
administers access; the API has no endpoint that mints tokens). ``whoami`` calls the API
with ``--token`` / ``RENDERSYNC_TOKEN`` (with ``--state-dir``: the dev stack's admin token).
Exit status: 0 done, 1 nothing found to act on, 2 unusable input or unreachable service.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.exc import SQLAlchemyError

from api.web.auth.roles import ROLES
from persistence import apitokens, rolebindings
from rendersync.devstack.admintoken import ADMIN_TOKEN_FILE
from rendersync.ops import output
from rendersync.settings import Settings
from rendersync.statedir import read_endpoints, settings_for
from rendersync.wiring import engine_from

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
    create.set_defaults(run=_guarded(tokens_create))
    listing = tsub.add_parser("list", help="tokens with expiry, last use and revocation")
    listing.set_defaults(run=_guarded(tokens_list))
    revoke = tsub.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id")
    revoke.set_defaults(run=_guarded(tokens_revoke))

    rbac = sub.add_parser("rbac", help="role bindings kept in the database")
    rsub = rbac.add_subparsers(dest="rbac_command", required=True)
    bind = rsub.add_parser("bind", help="grant a role to a user or group")
    bind.add_argument("--role", required=True, choices=sorted(ROLES))
    bind.add_argument("--namespace", default="", help="omitted: every namespace")
    who = bind.add_mutually_exclusive_group(required=True)
    who.add_argument("--user")
    who.add_argument("--group")
    bind.set_defaults(run=_guarded(rbac_bind))
    rsub.add_parser("list", help="every binding").set_defaults(run=_guarded(rbac_list))
    unbind = rsub.add_parser("unbind", help="remove a binding by its id")
    unbind.add_argument("id", type=int)
    unbind.set_defaults(run=_guarded(rbac_unbind))

    whoami = sub.add_parser("whoami", help="ask the API who the token is")
    whoami.add_argument("--api", help="API base URL (default: the settings' or the stack's)")
    whoami.add_argument("--token", default=os.environ.get("RENDERSYNC_TOKEN"))
    whoami.set_defaults(run=run_whoami)
    for parser in (create, listing, revoke, bind, unbind, whoami):
        _common(parser)
    for name in ("list",):
        _common(rsub.choices[name])


def _guarded(command: Any) -> Any:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        if args.state_dir is not None:
            settings = settings_for(args.state_dir)
        engine = engine_from(settings)
        try:
            code: int = command(engine, args)
            return code
        except SQLAlchemyError as err:
            print(
                f"rendersync {args.command}: database error ({type(err).__name__}); "
                "is the schema migrated (`rendersync db upgrade`)?",
                file=sys.stderr,
            )
            return 2
        finally:
            engine.dispose()

    return run


def tokens_create(engine: Any, args: argparse.Namespace) -> int:
    issued = apitokens.issue(
        engine,
        principal=args.user,
        groups=args.group,
        expires_in=args.expires_in,
        description=args.description,
    )
    expires = issued.expires_at.isoformat() if issued.expires_at else "never"
    data = {
        "id": issued.id,
        "token": issued.token,
        "principal": issued.principal,
        "expires": expires,
    }
    if args.output == output.JSON:
        print(output.as_json(data))
    else:
        print(issued.token)
        print(
            f"(id {issued.id}, user {issued.principal}, expires {expires}; "
            "shown only now: store it)",
            file=sys.stderr,
        )
    return 0


TOKEN_COLUMNS = (
    ("ID", "id"),
    ("USER", "principal"),
    ("GROUPS", "groups"),
    ("EXPIRES", "expires"),
    ("LAST USED", "lastUsed"),
    ("REVOKED", "revoked"),
)


def tokens_list(engine: Any, args: argparse.Namespace) -> int:
    found = [apitokens.describe(row) for row in apitokens.list_tokens(engine)]
    rows = [{**t, "groups": ",".join(t["groups"])} for t in found]
    output.emit(found, output=args.output, rows=rows, columns=TOKEN_COLUMNS, empty="No tokens.")
    return 0


def tokens_revoke(engine: Any, args: argparse.Namespace) -> int:
    if not apitokens.revoke(engine, args.id):
        print(f"rendersync tokens: no token with id {args.id}", file=sys.stderr)
        return 1
    print(f"token {args.id} revoked")
    return 0


def rbac_bind(engine: Any, args: argparse.Namespace) -> int:
    kind, subject = (
        (rolebindings.USER, args.user) if args.user else (rolebindings.GROUP, args.group)
    )
    binding = rolebindings.Binding(args.role, args.namespace, kind, subject)
    print(
        f"binding {rolebindings.bind(engine, binding)}: {kind} {subject} is {args.role} in "
        f"{args.namespace or 'every namespace'}"
    )
    return 0


def rbac_list(engine: Any, args: argparse.Namespace) -> int:
    rows = [
        {
            "id": r.id,
            "role": r.role,
            "namespace": r.namespace or "*",
            "kind": r.subject_kind,
            "subject": r.subject,
        }
        for r in rolebindings.list_bindings(engine)
    ]
    columns = (
        ("ID", "id"),
        ("ROLE", "role"),
        ("NAMESPACE", "namespace"),
        ("KIND", "kind"),
        ("SUBJECT", "subject"),
    )
    output.emit(rows, output=args.output, columns=columns, empty="No bindings.")
    return 0


def rbac_unbind(engine: Any, args: argparse.Namespace) -> int:
    if not rolebindings.unbind(engine, args.id):
        print(f"rendersync rbac: no binding with id {args.id}", file=sys.stderr)
        return 1
    print(f"binding {args.id} removed")
    return 0


def api_endpoint(args: argparse.Namespace, settings: Settings) -> tuple[str, dict[str, str]]:
    """The API's base URL and the headers carrying the token: ``--api`` / ``--token``
    (``RENDERSYNC_TOKEN``), else with ``--state-dir`` the dev stack's URL and admin token,
    else the settings' address."""
    api, token = args.api, args.token
    if args.state_dir is not None:
        api = api or read_endpoints(args.state_dir)["urls"]["api"]
        admin = args.state_dir / ADMIN_TOKEN_FILE
        if token is None and admin.exists():
            token = admin.read_text().strip()
    api = api or f"http://{settings.api.host}:{settings.api.port}"
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return api.rstrip("/"), headers


def run_whoami(args: argparse.Namespace, settings: Settings) -> int:
    api, headers = api_endpoint(args, settings)
    try:
        reply = httpx.get(f"{api}/api/v1/whoami", headers=headers, timeout=10)
    except httpx.HTTPError as err:
        print(f"rendersync whoami: {api} unreachable: {err}", file=sys.stderr)
        return 2
    if reply.status_code != 200:
        print(
            f"rendersync whoami: {reply.status_code} {reply.json().get('message', '')}",
            file=sys.stderr,
        )
        return 2
    info = reply.json()["status"]
    if args.output == output.JSON:
        print(output.as_json(info))
    else:
        groups = ",".join(info["userInfo"]["groups"]) or "-"
        print(f"{info['userInfo']['username']} (groups {groups}; via {info['authenticator']})")
    return 0
