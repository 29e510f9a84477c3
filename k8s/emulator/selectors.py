"""Label selectors (``=``, ``==``, ``!=``, exists, ``!``, ``in``, ``notin``) and the field
selectors ``metadata.name`` / ``metadata.namespace`` (``=``, ``==``, ``!=``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .statuses import bad_request

Matcher = Callable[[dict[str, Any]], bool]

_SET = re.compile(r"^\s*(!?)([A-Za-z0-9._/-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")


def _split(selector: str) -> list[str]:
    """Split on commas that are not inside ``in (...)`` value lists."""
    parts, depth, current = [], 0, ""
    for ch in selector:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]


def _requirement(text: str) -> Callable[[dict[str, str]], bool]:
    eq = _EQ.match(text)
    if eq:
        key, op, want = eq.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != want
        return lambda labels: labels.get(key) == want
    st = _SET.match(text)
    if not st:
        raise bad_request(f"unable to parse requirement: {text!r}")
    negate, key, op, values = st.groups()
    if op is None:
        return (lambda labels: key not in labels) if negate else (lambda labels: key in labels)
    if negate:
        raise bad_request(f"unable to parse requirement: {text!r}")
    allowed = {v.strip() for v in values.split(",") if v.strip()}
    if op == "in":
        return lambda labels: labels.get(key) in allowed
    return lambda labels: labels.get(key) not in allowed


def label_matcher(selector: str | None) -> Matcher:
    if not selector:
        return lambda obj: True
    reqs = [_requirement(part) for part in _split(selector)]

    def match(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(req(labels) for req in reqs)

    return match


def field_matcher(selector: str | None) -> Matcher:
    if not selector:
        return lambda obj: True
    checks: list[tuple[str, bool, str]] = []
    for part in _split(selector):
        m = _EQ.match(part)
        if not m or m.group(1) not in ("metadata.name", "metadata.namespace"):
            raise bad_request(f'field label not supported: "{part.strip()}"')
        checks.append((m.group(1).split(".")[1], m.group(2) != "!=", m.group(3)))

    def match(obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        return all((meta.get(f, "") == want) is equal for f, equal, want in checks)

    return match
