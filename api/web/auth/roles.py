"""The roles and the verbs each one grants (every role includes the ones before it)."""

from __future__ import annotations

READ_VERBS = frozenset({"get", "list", "history", "watch"})
WRITE_VERBS = frozenset({"create", "update", "patch", "delete"})
ADMIN_VERBS = frozenset({"replay", "resync"})

ROLES: dict[str, frozenset[str]] = {
    "viewer": READ_VERBS,
    "editor": READ_VERBS | WRITE_VERBS,
    "admin": READ_VERBS | WRITE_VERBS | ADMIN_VERBS,
}


def check_role(role: str) -> str:
    """``role`` if it is one; ValueError naming the known roles otherwise."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    return role


def grants(role: str, verb: str) -> bool:
    return verb in ROLES.get(role, frozenset())
