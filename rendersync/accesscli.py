"""What ``rendersync tokens|rbac|whoami`` run (their flags are in ``accessparsers``): API
tokens and role bindings, and who the API sees.

``tokens`` and ``rbac`` work on the database directly (whoever holds its credentials
administers access; the API has no endpoint that mints tokens). ``whoami`` calls the API
with ``--token`` / ``RENDERSYNC_TOKEN`` (with ``--state-dir``: the dev stack's admin token).
Exit status: 0 done, 1 nothing found to act on, 2 unusable input or unreachable service.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import httpx
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from persistence import apitokens, rolebindings
from rendersync.devstack.admintoken import ADMIN_TOKEN_FILE
from rendersync.ops import output
from rendersync.settings import Settings
from rendersync.statedir import read_endpoints, settings_for
from rendersync.subcommands import Run
from rendersync.wiring import engine_from


def database_command(body: Callable[[Engine, argparse.Namespace], int]) -> Run:
    """The subcommand running ``body`` on the database (the dev stack's with
    ``--state-dir``); a database error → one line on stderr, exit 2."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        if args.state_dir is not None:
            settings = settings_for(args.state_dir)
        engine = engine_from(settings)
        try:
            return body(engine, args)
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


@database_command
def tokens_create(engine: Engine, args: argparse.Namespace) -> int:
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


@database_command
def tokens_list(engine: Engine, args: argparse.Namespace) -> int:
    found = [apitokens.describe(row) for row in apitokens.list_tokens(engine)]
    rows = [{**t, "groups": ",".join(t["groups"])} for t in found]
    output.emit(found, output=args.output, rows=rows, columns=TOKEN_COLUMNS, empty="No tokens.")
    return 0


@database_command
def tokens_revoke(engine: Engine, args: argparse.Namespace) -> int:
    if not apitokens.revoke(engine, args.id):
        print(f"rendersync tokens: no token with id {args.id}", file=sys.stderr)
        return 1
    print(f"token {args.id} revoked")
    return 0


@database_command
def rbac_bind(engine: Engine, args: argparse.Namespace) -> int:
    kind, subject = (
        (rolebindings.USER, args.user) if args.user else (rolebindings.GROUP, args.group)
    )
    binding = rolebindings.Binding(args.role, args.namespace, kind, subject)
    print(
        f"binding {rolebindings.bind(engine, binding)}: {kind} {subject} is {args.role} in "
        f"{args.namespace or 'every namespace'}"
    )
    return 0


@database_command
def rbac_list(engine: Engine, args: argparse.Namespace) -> int:
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


@database_command
def rbac_unbind(engine: Engine, args: argparse.Namespace) -> int:
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
