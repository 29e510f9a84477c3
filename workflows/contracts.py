"""Dataclass contracts of the AppConfigSync workflow: its input, signals, query and activities.

Everything that crosses the Temporal boundary is one frozen dataclass. Versions are the
change sequence numbers (``seq``) the API assigns; ids and versions cross, never ORM rows.
This module is sandbox-safe: standard library only (and the shared ``vocabulary``: phases,
targets and ops).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vocabulary import PHASE_PENDING, TARGET_GIT, TARGET_KUBERNETES
from vocabulary.routing import Routable, Route, environment_of, routed

WORKFLOW_TYPE = "AppConfigSync"
SIGNAL_CHANGE = "change"
SIGNAL_RETRY = "retry"
QUERY_STATE = "state"

SEARCH_ATTRIBUTE_KEY = "AppConfigKey"
SEARCH_ATTRIBUTE_STATE = "SyncState"

# The activities are declared, with their argument and result types, in workflows.declarations.
#: The child workflow that delivers one notification.
NOTIFY_WORKFLOW_TYPE = "DeliverNotification"

# Notification events: the state changes a webhook receiver can subscribe to.
EVENT_FAILED = "Failed"
EVENT_RETRYING = "Retrying"
EVENT_RECOVERED = "Recovered"
EVENT_DELETED = "Deleted"
NOTIFY_EVENTS = (EVENT_FAILED, EVENT_RETRYING, EVENT_RECOVERED, EVENT_DELETED)


@dataclass(frozen=True)
class AppConfigImage:
    """The AppConfig as committed at version ``seq``: what every target renders."""

    namespace: str
    name: str
    uid: str
    seq: int
    generation: int
    spec: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class ChangeEvent:
    """One committed change, as the bridge read it from Kafka (signal ``change``).

    ``op`` is ``upsert`` or ``delete``. ``image`` is the row image at ``seq`` (for a delete,
    the tombstone's, when the event carried one). ``committed_at_ms`` is the commit time
    from the event's ``source.ts_ms``; it feeds the sync latency metric.

    ``force`` (anti-entropy resync, operator replay) asks to re-drive the key even when
    ``seq`` is the newest version already seen: such an event re-applies that version (or,
    for a delete, re-runs the compensation) once, after whatever is in flight. A forced event
    older than the newest seen is dropped like any stale event; a newer one is an ordinary
    new event. Targets fence on the version, so a forced re-apply never regresses them.

    ``catch_up`` (with ``force``; periodic anti-entropy) narrows that: while the key holds
    ``seq`` in hand, seen but not yet handled (waiting its turn, applying, retrying), the event
    is dropped, because that work will report the version. Anti-entropy only learns that a key
    lags behind its row, and in a long backlog most keys lag while their change waits; a
    forced re-drive would apply each of them twice.
    """

    key: str
    seq: int
    op: str
    image: AppConfigImage | None = None
    committed_at_ms: int = 0
    force: bool = False
    catch_up: bool = False


@dataclass(frozen=True)
class SyncOptions:
    """How the workflow drives its activities; built by the CLI from the sync settings.

    The worker owns them: a running workflow asks its worker for the current ones (local
    activity ``sync_options``) before each event it handles, so a changed setting reaches
    every running key; the copy in ``SyncInput`` only serves until then."""

    #: The configured targets, by name, in the order a sync applies them.
    targets: tuple[str, ...] = (TARGET_KUBERNETES, TARGET_GIT)
    #: The kind (``kubernetes``, ``git``) of each target not named after its kind.
    target_kinds: dict[str, str] = field(default_factory=dict)
    #: Routing rules (``vocabulary.routing``); none: every key goes to every target.
    routes: tuple[Route, ...] = ()
    #: Targets where a key's place depends on its environment (a Git path template with
    #: ``{environment}``): an environment change moves the key within such a target.
    placed_by_environment: tuple[str, ...] = ()
    #: Apply an upsert to its routed targets at once instead of in ``targets`` order.
    apply_concurrently: bool = False
    start_to_close_s: float = 30.0
    #: Backoff between attempts of a transient failure, which is retried without end.
    retry_initial_interval_s: float = 1.0
    retry_backoff: float = 2.0
    retry_max_interval_s: float = 60.0
    #: An attempt that sends no heartbeat this long is timed out (and retried); 0 = off.
    heartbeat_timeout_s: float = 15.0
    continue_as_new_after: int = 500
    #: Upsert the SyncState/AppConfigKey search attributes (off where the server lacks them).
    search_attributes: bool = True
    #: Events some webhook receiver subscribed to (empty: no notification is started).
    notify_events: tuple[str, ...] = ()
    #: ``Retrying`` is notified once, when a version's failed attempts reach this many.
    notify_retrying_after: int = 3
    #: Bounded delivery: attempts per receiver, and the longest wait between two.
    notify_attempts: int = 10
    notify_max_interval_s: float = 60.0

    def kind(self, target: str) -> str:
        """The kind of the target named ``target``."""
        return self.target_kinds.get(target, target)

    def route(self, item: Routable) -> tuple[str, ...] | None:
        """The targets ``item`` (an image, a row) syncs to, in apply order; None when no rule
        routes it."""
        return routed(
            self.targets,
            self.routes,
            environment=environment_of(item),
            namespace=item.namespace,
            labels=item.labels,
        )


@dataclass(frozen=True)
class TargetState:
    """What the workflow knows of one target for the current incarnation of the key: the
    newest version an apply actually wrote there (a skipped, superseded result writes nothing
    and is not recorded, so it never makes a later apply look like it is not the first)."""

    applied_version: int = 0
    detail: str = ""
    #: The key's environment when it was applied there, in a target placing keys by
    #: environment (``SyncOptions.placed_by_environment``); "" elsewhere.
    environment: str = ""


@dataclass(frozen=True)
class SyncState:
    """Query ``state`` result, and the state carried across continue-as-new."""

    key: str
    phase: str = PHASE_PENDING
    desired_version: int = 0
    handled_version: int = 0
    targets: dict[str, TargetState] = field(default_factory=dict)
    last_error: str = ""
    failed_version: int = 0
    events_seen: int = 0
    #: Failed attempts of the version being retried (phase Retrying), or of the last failure.
    attempts: int = 0
    #: The version whose transient failure is being retried; 0 when not Retrying.
    retrying_version: int = 0
    #: Notifications started so far (numbers their idempotency keys).
    notices: int = 0


@dataclass(frozen=True)
class SyncInput:
    """Workflow input. ``options`` are the starter's (or, after continue-as-new, the last ones
    the worker gave); the worker's current options replace them before each handled event.
    ``carry`` holds the state of the previous run after continue-as-new; ``pending`` the
    newest event that run had not handled yet (or a forced re-drive still to finish)."""

    key: str
    options: SyncOptions = field(default_factory=SyncOptions)
    carry: SyncState | None = None
    pending: ChangeEvent | None = None


@dataclass(frozen=True)
class RetryRequest:
    """Signal ``retry``: re-drive a failed sync. ``reason`` is recorded in the log."""

    reason: str = ""


@dataclass(frozen=True)
class ApplyRequest:
    """Apply ``image`` (version ``image.seq``) to one target; fenced on the version."""

    image: AppConfigImage
    committed_at_ms: int = 0
    #: The version the workflow handled before this one (-1: not told): every version of
    #: the key in between was coalesced into this one (recorded as its provenance).
    coalesced_after: int = -1
    #: The target's name ("": the target named after the activity's kind, as recorded in
    #: runs from before targets were named).
    target: str = ""


@dataclass(frozen=True)
class DeleteRequest:
    """Undo the sync of ``{namespace}/{name}`` for versions up to ``seq`` (fenced: a newer
    incarnation at the target is left alone)."""

    namespace: str
    name: str
    seq: int
    #: As in ``ApplyRequest``: set for the delete of the key, not for a compensation.
    coalesced_after: int = -1
    #: As in ``ApplyRequest``.
    target: str = ""
    #: The environment the key was applied with (where it lies in a target placing keys by
    #: environment); "": the key's current place.
    environment: str = ""
    #: The key leaves the target (its routing no longer names it): the target's status entry
    #: for the key goes with the removal.
    leave: bool = False


@dataclass(frozen=True)
class TargetResult:
    """Outcome of one target activity. ``skipped_newer`` means the target already held a
    newer version, so nothing was written. ``detail`` is the Kubernetes resourceVersion or
    the Git commit sha."""

    target: str
    version: int
    detail: str = ""
    skipped_newer: bool = False
    #: kubernetes: metadata.uid of the object written.
    object_uid: str = ""


@dataclass(frozen=True)
class FailureReport:
    """Record that the sync of ``key`` at ``seq`` failed on ``target``: for good
    (``permanent``: phase Failed) or transiently (phase Retrying, ``attempts`` so far)."""

    namespace: str
    name: str
    seq: int
    target: str
    error: str
    workflow_id: str
    permanent: bool = True
    attempts: int = 0


@dataclass(frozen=True)
class Notice:
    """One state change of a key, to be delivered to every receiver subscribed to ``event``
    (the input of the ``DeliverNotification`` child workflow). ``id`` is the idempotency key:
    one per state change, the same for every delivery attempt."""

    id: str
    event: str
    namespace: str
    name: str
    version: int
    phase: str
    workflow_id: str
    run_id: str
    time: str
    attempts: int = 0
    error: str = ""
    delivery_attempts: int = 10
    delivery_max_interval_s: float = 60.0


@dataclass(frozen=True)
class Delivery:
    """Deliver ``notice`` to the receiver named ``receiver`` (activity
    ``deliver_notification``)."""

    receiver: str
    notice: Notice
