"""What ``rendersync diff -f FILE`` and ``rendersync rollback NS/NAME --to N`` run (their
flags are in ``changeparsers``): change management through the API, with the token as
``rendersync whoami`` takes it.

``diff`` previews the write of FILE (an AppConfig, YAML or JSON) with ``?dryRun=All`` — a
create when the object does not exist, else a replace — and prints what each target and the
database would get. Exit status as ``kubectl diff``: 0 nothing would change, 1 something
would, 2 refused or unreachable. ``rollback`` writes revision N as a new revision.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

from rendersync.accesscli import api_endpoint
from rendersync.ops import output
from rendersync.settings import Settings

_TIMEOUT_S = 60


def _refused(command: str, reply: httpx.Response) -> int:
    try:
        message = reply.json().get("message", "")
    except ValueError:
        message = reply.text
    print(f"rendersync {command}: {reply.status_code} {message}", file=sys.stderr)
    return 2


def _read(path: Path, namespace: str | None) -> tuple[str, str, dict[str, Any]]:
    obj = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
        raise ValueError(f"{path} does not hold an AppConfig object")
    meta = obj["metadata"]
    ns = str(meta.get("namespace") or namespace or "default")
    return ns, str(meta.get("name", "")), obj


def run_diff(args: argparse.Namespace, settings: Settings) -> int:
    try:
        namespace, name, obj = _read(args.filename, args.namespace)
    except (OSError, ValueError, yaml.YAMLError) as err:
        print(f"rendersync diff: {err}", file=sys.stderr)
        return 2
    api, headers = api_endpoint(args, settings)
    items = f"{api}/api/v1/namespaces/{namespace}/appconfigs"
    dry = {"dryRun": "All"}
    try:
        with httpx.Client(headers=headers, timeout=_TIMEOUT_S) as http:
            exists = http.get(f"{items}/{name}").status_code == 200
            reply = (
                http.put(f"{items}/{name}", json=obj, params=dry)
                if exists
                else http.post(items, json=obj, params=dry)
            )
    except httpx.HTTPError as err:
        print(f"rendersync diff: {api} unreachable: {err}", file=sys.stderr)
        return 2
    if reply.status_code not in (200, 201):
        return _refused("diff", reply)
    preview = reply.json()
    if args.output == output.JSON:
        print(output.as_json(preview))
    else:
        _print_preview(preview)
    return 0 if preview["database"]["op"] == "none" else 1


def _print_preview(preview: dict[str, Any]) -> None:
    db = preview["database"]
    key = f"{preview['namespace']}/{preview['name']}"
    current = db["current"] if db["current"] is not None else "-"
    print(f"# {key}: database {db['op']} (version {current} -> {db['next']})")
    for target, found in preview["targets"].items():
        detail = found.get("message") or f"{len(found.get('changes', []))} field(s) change"
        print(f"# {target}: {found['state']}: {detail}")
        if found.get("diff"):
            print(found["diff"], end="" if found["diff"].endswith("\n") else "\n")


def run_rollback(args: argparse.Namespace, settings: Settings) -> int:
    namespace, _, name = args.key.partition("/")
    if not namespace or not name:
        print("rendersync rollback: the key is NAMESPACE/NAME", file=sys.stderr)
        return 2
    api, headers = api_endpoint(args, settings)
    url = f"{api}/api/v1/namespaces/{namespace}/appconfigs/{name}/rollback"
    try:
        reply = httpx.post(url, json={"toVersion": args.to}, headers=headers, timeout=_TIMEOUT_S)
    except httpx.HTTPError as err:
        print(f"rendersync rollback: {api} unreachable: {err}", file=sys.stderr)
        return 2
    if reply.status_code != 200:
        return _refused("rollback", reply)
    written = reply.json()
    if args.output == output.JSON:
        print(output.as_json(written))
    else:
        version = written["metadata"]["resourceVersion"]
        print(f"{args.key} rolled back to {args.to}: written as version {version}")
    return 0
