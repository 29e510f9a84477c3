"""The patches of the workflow code, and the one patch that answers them all for a new run.

A patch (``workflow.patched``) lets histories recorded before a change replay with the code
that existed then. Asking one records, in a new run, a marker and an upsert of the
``TemporalChangeVersion`` search attribute: two history events, one of them a visibility
write, per patch and run. So every run asks :data:`GENERATION` first, in the workflow's init:
a run started on this code records that one marker and takes the new path of every patch of
:data:`EARLIER` without asking it; a run recorded before it replays without the marker, and
asks those patches one by one, as it did. A patch added later is asked on its own (by
:func:`patched` too) until the next generation folds it in.
"""

from __future__ import annotations

from temporalio import workflow

#: Patch id: every patch of :data:`EARLIER` takes its new path without asking.
GENERATION = "generation-1"

#: A newer event cancels the attempt still running for an older upsert.
CANCEL_SUPERSEDED = "cancel-superseded-attempt"
#: A transient failure is retried without end (before: it failed the sync).
RETRYING = "transient-errors-retry"
#: The worker's current options come from the local activity ``sync_options``.
WORKER_OPTIONS = "options-from-worker"
#: Requests tell the activities the version handled before (provenance of the versions
#: coalesced into this one).
PROVENANCE = "provenance-coalesced"
#: A delete removes the key from the targets it was applied to and those its tombstone
#: routes to (before: from every target).
ROUTED_DELETE = "routed-delete"
#: A ``DeliverNotification`` is started per state change.
NOTIFY = "notify-state-changes"
#: Only a changed ``SyncState`` is upserted (before: both attributes on every change).
SETTLED_STATE = "sync-state-settled"
#: A forced re-drive that fails stays re-drivable by ``retry``.
REDRIVE_FAILED = "redrive-failed-forced"

#: The patches :data:`GENERATION` answers.
EARLIER = frozenset(
    {
        CANCEL_SUPERSEDED,
        RETRYING,
        WORKER_OPTIONS,
        PROVENANCE,
        ROUTED_DELETE,
        NOTIFY,
        SETTLED_STATE,
        REDRIVE_FAILED,
    }
)


def start_run() -> None:
    """Decide :data:`GENERATION` before anything else asks a patch (call it in the init)."""
    workflow.patched(GENERATION)


def patched(patch_id: str) -> bool:
    """``workflow.patched(patch_id)``, answered by :data:`GENERATION` where it covers it."""
    if patch_id in EARLIER and workflow.patched(GENERATION):
        return True
    return workflow.patched(patch_id)
