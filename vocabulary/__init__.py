"""The shared vocabulary: the one definition of each name the layers use for the same thing.

The AppConfig resource's group, version, kind and plural; the version annotation the targets
are fenced on and the fence's rule (the same for every target); the file of an AppConfig in
the GitOps repository; and the sync's words: its targets, the ops of a change and the phases
of a key.

Standard library only, no I/O and no project imports: every layer may import it, workflows
included (sandbox-safe). The values are stored in CRs, Git files, the database and workflow
histories, so changing one is a migration, not a rename. They are written out literally
(``Final``); the models that pin the apiVersion and kind use the ``Literal`` types here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final, Literal

# --- The AppConfig custom resource ---------------------------------------------------------
#: The types of ``API_VERSION`` and ``KIND``, for the models that pin them.
ApiVersionLiteral = Literal["rendersync.dev/v1alpha1"]
KindLiteral = Literal["AppConfig"]

GROUP: Final = "rendersync.dev"
VERSION: Final = "v1alpha1"
KIND: Final[KindLiteral] = "AppConfig"
PLURAL: Final = "appconfigs"
#: ``{GROUP}/{VERSION}``: the apiVersion of the CR and of the API's own documents.
API_VERSION: Final[ApiVersionLiteral] = "rendersync.dev/v1alpha1"
#: ``{PLURAL}.{GROUP}``: the CRD's name, and the group-qualified resource of RBAC messages.
CRD_NAME: Final = "appconfigs.rendersync.dev"

#: The annotation holding the version (change sequence number) a target's copy was rendered
#: at; every target write is fenced on it.
VERSION_ANNOTATION: Final = "rendersync.dev/version"

#: The fence's row check, evaluated immediately before a target write (just before the
#: Kubernetes call; under the Git repository lock): the row's version, which is the highest
#: version a target may legitimately hold, or None when the version being written is no longer
#: the row's (the row is gone, a tombstone, or newer), so the write is skipped as superseded.
#: This covers targets where nothing is left to fence against.
RowCheck = Callable[[], Awaitable[int | None]]


def holds_newer(live: int | None, *, version: int, ceiling: int | None) -> bool:
    """Whether a target holding ``live`` keeps it against a write (or removal) of ``version``.

    Only a newer incarnation is kept: newer than ``version`` and not above ``ceiling``, the
    row's version. The annotation is hand-editable, so a live version above the row's was
    never written by rendersync for this row: it is drift, overwritten or removed. Without a
    ceiling (None: no row was asked) every newer live version is kept.
    """
    if live is None or live <= version:
        return False
    return ceiling is None or live <= ceiling


# --- The GitOps repository ------------------------------------------------------------------
#: The folder that holds one file per AppConfig, ``{namespace}/{name}.yaml``.
GIT_ROOT: Final = "appconfigs"


def git_path(namespace: str, name: str) -> str:
    """The file of the AppConfig ``{namespace}/{name}``, relative to the repository's root."""
    return f"{GIT_ROOT}/{namespace}/{name}.yaml"


# --- The sync ---------------------------------------------------------------------------------
#: The targets, named in ``SyncOptions.targets``, ``TargetResult.target`` and the status.
TARGET_KUBERNETES: Final = "kubernetes"
TARGET_GIT: Final = "git"

#: The op of a change event: the row was written (its image is applied) or deleted.
OP_UPSERT: Final = "upsert"
OP_DELETE: Final = "delete"

# Phases, as shown in the API's status.phase and the SyncState search attribute.
PHASE_PENDING: Final = "Pending"
PHASE_SYNCING: Final = "Syncing"
PHASE_SYNCED: Final = "Synced"
#: A transient error is being retried (without end, at a capped backoff).
PHASE_RETRYING: Final = "Retrying"
PHASE_FAILED: Final = "Failed"
PHASE_DELETING: Final = "Deleting"
PHASE_DELETED: Final = "Deleted"


def workflow_id_for(key: str) -> str:
    """The workflow id of an AppConfig key ``{namespace}/{name}``."""
    return f"appconfig:{key}"
