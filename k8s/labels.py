"""Kubernetes label selectors (``a=b,c!=d,e,!f,g in (x,y),h notin (z)``), parsed and matched.

One parser for the REST API's ``labelSelector`` and the API emulator's."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_SET_EXPR = re.compile(r"^\s*(!?)([A-Za-z0-9./_-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_EXPR = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")
_EXISTS_EXPR = re.compile(r"^\s*(!?)([A-Za-z0-9./_-]+)\s*$")


class SelectorError(ValueError):
    """The selector text does not parse; the message says which part."""


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "in", "notin", "exists", "!exists"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "exists":
            return self.key in labels
        if self.operator == "!exists":
            return self.key not in labels
        if self.operator == "in":
            return labels.get(self.key) in self.values
        return labels.get(self.key) not in self.values


def split_terms(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    terms, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t for t in terms if t.strip()]


def _parse_term(term: str) -> Requirement:
    if match := _SET_EXPR.match(term):
        values = frozenset(v.strip() for v in match.group(4).split(",") if v.strip())
        return Requirement(match.group(2), match.group(3), values)
    if match := _EQ_EXPR.match(term):
        operator = "notin" if match.group(2) == "!=" else "in"
        return Requirement(match.group(1), operator, frozenset({match.group(3)}))
    if match := _EXISTS_EXPR.match(term):
        return Requirement(match.group(2), "!exists" if match.group(1) else "exists")
    raise SelectorError(f"unable to parse requirement: {term.strip()!r}")


@dataclass(frozen=True)
class Selector:
    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)


def parse_selector(text: str | None) -> Selector:
    """Parse a selector; empty text selects everything."""
    if not text:
        return Selector(())
    return Selector(tuple(_parse_term(term) for term in split_terms(text)))
