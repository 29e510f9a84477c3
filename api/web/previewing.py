"""Previews: what a write would do, without writing (``?dryRun=All``).

The route runs the write itself in a transaction that is rolled back
(``persistence.writing``, ``dry_run=True``): every rule, limit and precondition of a real
write is checked the same way, and nothing it staged (seq, row, revision, outbox event) is
kept. This module then renders the row it would have written (``k8s.manifests``, the one
renderer) and compares it with what each target the row routes to holds now, keyed by the
target's name: a Kubernetes target's cluster through a server-side apply with ``dryRun=All``
against the live object, a Git target's branch tip at the file its layout places the key in
(``gitops.layout.GitLayout.file``). A target that cannot be asked is reported as such in the
answer; it never fails the preview.

The clients are given to ``create_app`` as ``PreviewTargets``, by target name (the CLI builds
one per configured target from its settings); the web layer only knows their protocols.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml

from api.web.diffs import as_yaml, comparable, field_changes, unified
from k8s.dryrun import DryRunApply
from k8s.errors import KubernetesError
from k8s.manifests import render_appconfig, render_yaml
from persistence.tables import AppConfigRow
from vocabulary import API_VERSION, TARGET_GIT, TARGET_KUBERNETES
from vocabulary.routing import environment_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GitTip:
    """A key's file at the branch tip: ``commit`` None when the branch does not exist,
    ``text`` None when the file does not."""

    path: str
    commit: str | None
    text: str | None


class ClusterDryRunner(Protocol):
    async def dry_run_apply(self, cr: Mapping[str, Any]) -> DryRunApply: ...


class GitTipSource(Protocol):
    async def read(self, namespace: str, name: str, environment: str) -> GitTip: ...


@dataclass(frozen=True)
class PreviewTargets:
    """How this process reaches each target to compare with, by target name: a cluster to
    dry-run apply against (``clusters``), a Git branch tip to read at the target's own path
    (``tips``). A target in neither: this process cannot ask it."""

    clusters: Mapping[str, ClusterDryRunner] = field(default_factory=dict)
    tips: Mapping[str, GitTipSource] = field(default_factory=dict)


async def preview(
    *,
    targets: Sequence[str],
    readers: PreviewTargets,
    row: AppConfigRow,
    current: AppConfigRow | None,
) -> dict[str, Any]:
    """The ``AppConfigPreview`` of a write that would leave ``row`` (the dry run's result)
    where ``current`` (the live row, or None) is now, compared with ``targets`` (those ``row``
    routes to, in apply order)."""
    cr = render_appconfig(
        namespace=row.namespace,
        name=row.name,
        spec=row.spec,
        labels=row.labels,
        annotations=row.annotations,
        seq=row.seq,
    )
    text = render_yaml(cr)
    changed = current is None or current.seq != row.seq
    # The targets are asked at once: an unreachable one costs its timeout once, not per target.
    answers = await asyncio.gather(*(_target(t, readers, row, cr, text) for t in targets))
    compared = dict(zip(targets, answers, strict=True))
    git_paths = [
        c["path"] for c in compared.values() if c.get("kind") == TARGET_GIT and c.get("path")
    ]
    return {
        "apiVersion": API_VERSION,
        "kind": "AppConfigPreview",
        "namespace": row.namespace,
        "name": row.name,
        "database": {
            "op": ("create" if current is None else "update") if changed else "none",
            "current": None if current is None else current.seq,
            "next": row.seq,
            "generation": row.generation,
        },
        "rendered": {
            "customResource": cr,
            "gitPath": git_paths[0] if git_paths else None,
            "gitFile": text,
        },
        "targets": compared,
    }


async def _target(
    target: str, readers: PreviewTargets, row: AppConfigRow, cr: dict[str, Any], text: str
) -> dict[str, Any]:
    """What ``target`` holds and what the write would change there."""
    cluster = readers.clusters.get(target)
    if cluster is not None:
        return {"kind": TARGET_KUBERNETES, **await _kubernetes(target, cr, cluster)}
    tip = readers.tips.get(target)
    if tip is not None:
        return {"kind": TARGET_GIT, **await _git(target, row, cr, text, tip)}
    return {"state": "Unavailable", "message": f"no client for target {target!r} in this process"}


def _compared(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    *,
    before_name: str,
    texts: tuple[str | None, str] | None = None,
) -> dict[str, Any]:
    """Compare two objects (``texts``: their YAML as held, else rendered)."""
    old, new = texts or (as_yaml(before), as_yaml(after) or "")
    return {
        "state": "Compared",
        "exists": before is not None,
        "diff": unified(old, new, before_name=before_name, after_name="after the write"),
        "changes": [dataclasses.asdict(c) for c in field_changes(before or {}, after)],
    }


async def _kubernetes(target: str, cr: dict[str, Any], reader: ClusterDryRunner) -> dict[str, Any]:
    where = f"{cr['metadata']['namespace']}/{cr['metadata']['name']}"
    try:
        answer = await reader.dry_run_apply(cr)
    except KubernetesError as err:
        refused = err.status is not None and 400 <= err.status < 500 and err.status != 429
        log.info("preview of %s: target %s: %s", where, target, err)
        return {"state": "Refused" if refused else "Unavailable", "message": str(err)}
    before = comparable(answer.live)
    after = comparable(answer.result) or {}
    out = _compared(before, after, before_name=f"live {where}")
    if answer.live is not None:
        out["resourceVersion"] = str(answer.live["metadata"].get("resourceVersion", ""))
    return out


async def _git(
    target: str, row: AppConfigRow, cr: dict[str, Any], text: str, reader: GitTipSource
) -> dict[str, Any]:
    try:
        tip = await reader.read(row.namespace, row.name, environment_of(row))
    except Exception as err:  # any failure to read is reported, never raised
        log.info("preview of %s/%s: target %s: %s", row.namespace, row.name, target, err)
        return {"state": "Unavailable", "message": f"{type(err).__name__}: {err}"}
    before = _parsed(tip.text)
    name = f"{tip.commit or 'no branch'}:{tip.path}"
    out = _compared(before, cr, before_name=name, texts=(tip.text, text))
    return {**out, "path": tip.path, "commit": tip.commit}


def _parsed(text: str | None) -> dict[str, Any] | None:
    """The file's object; a file that is not a YAML mapping compares as its text."""
    if text is None:
        return None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        loaded = None
    return loaded if isinstance(loaded, dict) else {"unparsable": text}
