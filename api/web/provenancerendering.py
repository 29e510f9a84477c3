"""Rendering the provenance of a key's versions from ``sync_provenance`` (one read, no
Temporal call): what ``GET .../history?provenance=true`` adds to each revision."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.web.apicontext import ApiContext
from api.web.resources import timestamp
from persistence import provenance as stored
from persistence.provenance import ProvenanceRow
from persistence.tables import Revision
from vocabulary import TARGET_GIT, TARGET_KUBERNETES


def _step(row: ProvenanceRow, kinds: Mapping[str, str]) -> dict[str, Any]:
    detail = dict(row.detail)
    step: dict[str, Any] = {
        "stage": row.stage,
        "outcome": row.outcome,
        "time": timestamp(row.recorded_at),
        "workflowId": row.workflow_id,
        "runId": row.run_id,
        "activityId": row.activity_id,
        "activityType": row.activity_type,
        "attempt": row.attempt,
        "detail": detail,
    }
    kind = kinds.get(row.stage, row.stage)
    if kind == TARGET_KUBERNETES and row.outcome == stored.APPLIED:
        step["resourceVersion"] = str(detail.get("detail", ""))
        step["uid"] = row.object_uid
    if kind == TARGET_GIT and row.outcome in (stored.APPLIED, stored.REMOVED):
        step["commit"] = str(detail.get("detail", ""))
    if "into" in detail:
        step["coalescedInto"] = int(detail["into"])
    if "error" in detail:
        step["error"] = str(detail["error"])
    return step


def _published(row: ProvenanceRow) -> dict[str, Any]:
    link: dict[str, Any] = {"outcome": row.outcome, "time": timestamp(row.recorded_at)}
    for key in ("topic", "partition", "offset", "error"):
        if key in row.detail:
            link[key] = row.detail[key]
    return link


def provenance_of(
    rows: list[ProvenanceRow],
    revision: Revision,
    targets: tuple[str, ...],
    kinds: Mapping[str, str],
) -> dict[str, Any]:
    """The ``provenance`` member of one revision of the history (``kinds``: the kind of each
    target not named after its kind)."""
    found: dict[str, Any] = {"outcome": stored.summarize(rows, targets, revision.op), "steps": []}
    for row in rows:
        if row.stage == stored.STAGE_PUBLISH:
            found["published"] = _published(row)
            continue
        step = _step(row, kinds)
        found["steps"].append(step)
        if "coalescedInto" in step:
            found["coalescedInto"] = step["coalescedInto"]
    errors = [s["error"] for s in found["steps"] if s.get("error")]
    if found["outcome"] in (stored.FAILED, stored.RETRYING) and errors:
        found["error"] = errors[-1]
    return found


def add_provenance(ctx: ApiContext, revisions: list[Revision], items: list[dict[str, Any]]) -> None:
    """Set ``provenance`` on each rendered revision (``items`` in the order of ``revisions``)."""
    if not revisions:
        return
    found = stored.of_key(ctx.engine, namespace=revisions[0].namespace, name=revisions[0].name)
    for revision, item in zip(revisions, items, strict=True):
        item["provenance"] = provenance_of(
            found.get(revision.seq, []), revision, ctx.targets, ctx.target_kinds
        )
