"""Label selector parsing and matching, as Kubernetes defines it."""

from __future__ import annotations

import pytest

from k8s.labels import SelectorError, parse_selector

LABELS = {"team": "a", "tier": "web", "canary": "true"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("team=a", True),
        ("team==a", True),
        ("team=b", False),
        ("team!=b", True),
        ("team!=a", False),
        ("canary", True),
        ("!canary", False),
        ("missing", False),
        ("!missing", True),
        ("tier in (web, api)", True),
        ("tier notin (web)", False),
        ("team=a,tier in (web,db),!missing", True),
        ("team=a,tier=db", False),
    ],
)
def test_matching(text: str, expected: bool) -> None:
    assert parse_selector(text).matches(LABELS) is expected


@pytest.mark.parametrize("text", ["team=a=b", "tier in web", "=a", "a b"])
def test_malformed_selectors_raise(text: str) -> None:
    with pytest.raises(SelectorError):
        parse_selector(text)
