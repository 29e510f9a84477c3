"""Label selectors (``=``, ``==``, ``!=``, exists, ``!``, ``in``, ``notin``) and the field
selectors ``metadata.name`` / ``metadata.namespace`` (``=``, ``==``, ``!=``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from k8s.labels import SelectorError, parse_selector, split_terms

from .statuses import bad_request

Matcher = Callable[[dict[str, Any]], bool]

_EQ = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")


def label_matcher(selector: str | None) -> Matcher:
    try:
        parsed = parse_selector(selector)
    except SelectorError as err:
        raise bad_request(str(err)) from None

    def match(obj: dict[str, Any]) -> bool:
        return parsed.matches((obj.get("metadata") or {}).get("labels") or {})

    return match


def field_matcher(selector: str | None) -> Matcher:
    if not selector:
        return lambda obj: True
    checks: list[tuple[str, bool, str]] = []
    for part in split_terms(selector):
        m = _EQ.match(part)
        if not m or m.group(1) not in ("metadata.name", "metadata.namespace"):
            raise bad_request(f'field label not supported: "{part.strip()}"')
        checks.append((m.group(1).split(".")[1], m.group(2) != "!=", m.group(3)))

    def match(obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        return all((meta.get(f, "") == want) is equal for f, equal, want in checks)

    return match
