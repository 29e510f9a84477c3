"""Kubernetes RBAC's rule matching, for checking recorded requests against a shipped Role.

A request is allowed when some rule lists its API group, its resource (``resource`` or
``resource/subresource``) and its verb, ``*`` matching anything; a request for a URL that
names no resource needs a ``nonResourceURLs`` rule (ClusterRoles only).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rendersync.devstack.k8semulator import RecordedRequest

Rule = dict[str, Any]
#: (apiGroup, resource[/subresource], verb) or ("", path, verb) for non-resource URLs.
Grant = tuple[str, str, str]


def _has(values: Iterable[str], wanted: str) -> bool:
    return "*" in values or wanted in values


def _resource(request: RecordedRequest) -> str:
    if request.subresource:
        return f"{request.resource}/{request.subresource}"
    return request.resource


def allows(rules: list[Rule], request: RecordedRequest) -> bool:
    for rule in rules:
        if not _has(rule.get("verbs", []), request.verb):
            continue
        if not request.resource:
            paths = rule.get("nonResourceURLs", [])
            if request.path in paths or any(
                p.endswith("*") and request.path.startswith(p[:-1]) for p in paths
            ):
                return True
            continue
        if _has(rule.get("apiGroups", []), request.group) and _has(
            rule.get("resources", []), _resource(request)
        ):
            return True
    return False


def grants(rules: list[Rule]) -> set[Grant]:
    """Every (group, resource, verb) the rules name (no wildcards expected)."""
    found: set[Grant] = set()
    for rule in rules:
        for verb in rule.get("verbs", []):
            for group in rule.get("apiGroups", []):
                found |= {(group, r, verb) for r in rule.get("resources", [])}
            found |= {("", path, verb) for path in rule.get("nonResourceURLs", [])}
    return found


def used(requests: Iterable[RecordedRequest]) -> set[Grant]:
    return {
        (r.group, _resource(r), r.verb) if r.resource else ("", r.path, r.verb) for r in requests
    }
