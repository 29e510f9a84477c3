"""Routing: which targets an AppConfig syncs to, decided by its environment, namespace and labels.

A target is named (``prod-cluster``, ``gitops-prod``) and of a kind (``kubernetes`` or ``git``).
The configured targets have an order, the order every sync applies them in (and removes them
in reverse). A routing rule (:class:`Route`) matches an AppConfig by its environment, its
namespace (shell-style patterns: ``*``, ``team-*``) and labels (each given label must equal),
and names targets; the first rule that matches decides. Without rules, every AppConfig goes to
every target (the default configuration). An AppConfig no rule matches is unrouted: the API
refuses it, and a workflow that meets one (the rules changed) fails its sync and keeps what it
wrote.

Standard library only: the workflows (sandbox), the API, the worker and the CLI route alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Protocol

#: The pattern matching any environment or namespace.
ANY = "*"


class Routable(Protocol):
    """What routing reads of an AppConfig (a row, a change event's image)."""

    @property
    def namespace(self) -> str: ...
    @property
    def spec(self) -> Mapping[str, Any]: ...
    @property
    def labels(self) -> Mapping[str, str]: ...


def environment_of(item: Routable) -> str:
    return str(item.spec.get("environment", ""))


@dataclass(frozen=True)
class Route:
    """Send the AppConfigs matching ``environment``, ``namespace`` and ``labels`` to
    ``targets`` (applied in the configured order of targets, not the order given here)."""

    targets: tuple[str, ...]
    environment: str = ANY
    namespace: str = ANY
    labels: dict[str, str] = field(default_factory=dict)

    def matches(self, *, environment: str, namespace: str, labels: Mapping[str, str]) -> bool:
        return (
            fnmatchcase(environment, self.environment)
            and fnmatchcase(namespace, self.namespace)
            and all(labels.get(k) == v for k, v in self.labels.items())
        )

    def matches_all(self) -> bool:
        """Whether the rule matches every AppConfig (a later rule would never be reached)."""
        return self.environment == ANY and self.namespace == ANY and not self.labels

    def describe(self) -> str:
        parts = [f"environment={self.environment}", f"namespace={self.namespace}"]
        parts += [f"{k}={v}" for k, v in sorted(self.labels.items())]
        return " ".join(parts)


def routed(
    targets: Sequence[str],
    routes: Sequence[Route],
    *,
    environment: str,
    namespace: str,
    labels: Mapping[str, str],
) -> tuple[str, ...] | None:
    """The targets of an AppConfig, in the order of ``targets``; None when no rule routes it.
    Without ``routes``, every target."""
    if not routes:
        return tuple(targets)
    for route in routes:
        if route.matches(environment=environment, namespace=namespace, labels=labels):
            return tuple(t for t in targets if t in route.targets)
    return None


def unrouted_reason(item: Routable) -> str:
    """Why an AppConfig is refused: no rule routes it (the message the API and workflow give)."""
    shown = ", ".join(f"{k}={v}" for k, v in sorted(item.labels.items())) or "none"
    return (
        f"no routing rule routes environment={environment_of(item)!r} in namespace "
        f"{item.namespace!r} (labels: {shown}); add a rule to the routes settings"
    )


def routing_problems(targets: Sequence[str], routes: Sequence[Route]) -> list[str]:
    """What makes a routing configuration unusable, one line each: a rule naming an unknown
    target or none, a rule no AppConfig can reach (after one matching every AppConfig), a
    target named twice."""
    problems = [f"target {t!r} is configured twice" for t in sorted(set(targets)) if
                list(targets).count(t) > 1]  # fmt: skip
    for number, route in enumerate(routes, start=1):
        where = f"route {number} ({route.describe()})"
        if not route.targets:
            problems.append(f"{where} names no target")
        unknown = [t for t in route.targets if t not in targets]
        if unknown:
            problems.append(f"{where} names unknown targets {unknown}; known: {list(targets)}")
        if any(earlier.matches_all() for earlier in routes[: number - 1]):
            problems.append(f"{where} is never reached: an earlier route matches everything")
    return problems
