"""The local authorizer: role bindings from a policy file and from the database.

Policy file (YAML or JSON)::

    bindings:
      - role: editor            # viewer | editor | admin
        namespace: shop         # omitted or "*": every namespace
        users: [alice]
        groups: [storefront]

A binding in a namespace grants its role there; a cluster-wide one grants it everywhere,
and is the only kind that allows listing across all namespaces at once. Nothing else is
allowed (deny by default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from api.web.auth.principals import Principal
from api.web.auth.roles import check_role, grants
from persistence.rolebindings import GROUP, USER, Binding, bindings_of


class PolicyError(ValueError):
    """The policy file cannot be used; the message says where."""


def load_policy(path: Path) -> tuple[Binding, ...]:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise PolicyError(f"cannot read {path}: {err}") from None
    if not isinstance(document, dict) or not isinstance(document.get("bindings", []), list):
        raise PolicyError(f"{path}: expected a mapping with a list of 'bindings'")
    found: list[Binding] = []
    for index, entry in enumerate(document.get("bindings") or []):
        found += _bindings(entry, f"{path}: bindings[{index}]")
    return tuple(found)


def _bindings(entry: Any, where: str) -> list[Binding]:
    if not isinstance(entry, dict):
        raise PolicyError(f"{where}: expected a mapping")
    unknown = set(entry) - {"role", "namespace", "users", "groups"}
    if unknown:
        raise PolicyError(f"{where}: unknown fields {sorted(unknown)}")
    try:
        role = check_role(str(entry.get("role")))
    except ValueError as err:
        raise PolicyError(f"{where}.role: {err}") from None
    namespace = str(entry.get("namespace") or "")
    namespace = "" if namespace == "*" else namespace
    subjects = [(USER, u) for u in entry.get("users") or []]
    subjects += [(GROUP, g) for g in entry.get("groups") or []]
    if not subjects:
        raise PolicyError(f"{where}: names no users or groups")
    return [Binding(role, namespace, kind, str(name)) for kind, name in subjects]


def allowed_by(bindings: list[Binding], verb: str, namespace: str) -> bool:
    """Whether one of ``bindings`` grants ``verb`` in ``namespace`` ("": all namespaces)."""
    return any(
        grants(b.role, verb) and (b.namespace == "" or b.namespace == namespace) for b in bindings
    )


class PolicyAuthorizer:
    name = "policy"

    def __init__(self, *, file_bindings: tuple[Binding, ...], engine: Engine | None) -> None:
        self.file_bindings = file_bindings
        self.engine = engine

    def bindings_for(self, principal: Principal) -> list[Binding]:
        mine = [
            b
            for b in self.file_bindings
            if (b.subject_kind == USER and b.subject == principal.name)
            or (b.subject_kind == GROUP and b.subject in principal.groups)
        ]
        if self.engine is not None:
            mine += bindings_of(self.engine, user=principal.name, groups=principal.groups)
        return mine

    async def allows(self, principal: Principal, verb: str, namespace: str) -> bool:
        found = await run_in_threadpool(self.bindings_for, principal)
        return allowed_by(found, verb, namespace)
