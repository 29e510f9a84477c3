"""What Temporal's visibility shows of a sync: the ``AppConfigKey`` and ``SyncState`` search
attributes, so that ``SyncState="Failed"`` lists the failed syncs.

A mixin of the workflow class; deterministic (workflow APIs only). Each upsert is a command,
a history event and a visibility write on the server, so from the ``sync-state-settled``
patch on only a value that changes is upserted, and a synced key keeps showing ``Synced``
while a newer version of it syncs: SyncState changes when the outcome does (``Retrying``,
``Failed``, ``Deleting``, ...), and a change that syncs like the one before costs no upsert.
A key's first sync, a retried or failed one and a delete still show their transient phase.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from vocabulary import PHASE_SYNCED, PHASE_SYNCING
    from workflows import patches
    from workflows.contracts import SEARCH_ATTRIBUTE_KEY, SEARCH_ATTRIBUTE_STATE, SyncOptions

APP_CONFIG_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_KEY)
SYNC_STATE = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_STATE)


class SyncStateAttributes:
    """Mixin of the sync workflow: sets ``_phase`` and the search attributes that show it."""

    _key: str
    _options: SyncOptions
    _phase: str
    _published: bool = False
    _settled_state: bool = False

    def _check_state_patch(self, phase: str) -> None:
        """Decide the patch before the first command of a workflow task that sets ``phase``,
        and only where it saves an upsert: a patch costs its run a marker and an upsert of
        ``TemporalChangeVersion``, which a key synced once (a fresh key) need not pay."""
        if self._settled_state or not self._options.search_attributes:
            return
        shown = workflow.info().typed_search_attributes.get(SYNC_STATE)
        if shown == phase or (phase == PHASE_SYNCING and shown == PHASE_SYNCED):
            self._settled_state = patches.patched(patches.SETTLED_STATE)

    def _set_phase(self, phase: str) -> None:
        """Set the phase and, on a change, the SyncState/AppConfigKey search attributes."""
        if self._settled_state:
            self._phase = phase
            self._show_phase(phase)
            return
        if phase == self._phase and self._published:
            return
        self._phase = phase
        self._published = True
        if self._options.search_attributes:
            workflow.upsert_search_attributes(
                [APP_CONFIG_KEY.value_set(self._key), SYNC_STATE.value_set(phase)]
            )

    def _show_phase(self, phase: str) -> None:
        """Upsert the attributes whose value changes; the values shown are the run's own
        (set at start by the bridge, or carried over by continue-as-new)."""
        if not self._options.search_attributes:
            return
        shown = workflow.info().typed_search_attributes
        state = shown.get(SYNC_STATE)
        if phase == PHASE_SYNCING and state == PHASE_SYNCED:
            return
        updates: list[SearchAttributeUpdate[str]] = []
        if shown.get(APP_CONFIG_KEY) != self._key:
            updates.append(APP_CONFIG_KEY.value_set(self._key))
        if state != phase:
            updates.append(SYNC_STATE.value_set(phase))
        if updates:
            workflow.upsert_search_attributes(updates)
