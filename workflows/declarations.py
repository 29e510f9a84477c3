"""Every activity the workflows call, declared once: its name, argument, result and retries.

A declaration is the one place an activity is named. The workflows call it through
:func:`execute` (or ``steps.run_step``), so mypy checks the argument and the result; the
activities implement it with :func:`implements`, which registers the method under the declared
name and checks its signature against the declaration; workers
(``worker.temporalworker.served``) and the test fakes list what they serve from here. A target
is two activities (:class:`Target`): adding one means declaring it in :data:`TARGETS` and
implementing both.

The names are the activity types recorded in workflow histories: renaming one breaks the
replay of every run that called it. Sandbox-safe: standard library, temporalio, contracts.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Generic, TypeVar, cast, overload

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

from vocabulary import TARGET_GIT, TARGET_KUBERNETES
from workflows.contracts import (
    ApplyRequest,
    DeleteRequest,
    Delivery,
    FailureReport,
    Notice,
    SyncOptions,
    TargetResult,
)
from workflows.policies import BOUNDED_ATTEMPTS

A = TypeVar("A")
R = TypeVar("R")
S = TypeVar("S")
#: The attribute :func:`implements` marks a method with: the declaration it implements.
DECLARATION_ATTR = "__rendersync_declaration__"


@dataclass(frozen=True)
class Activity(Generic[A, R]):
    """An activity taking one ``arg`` and returning a ``result``.

    ``timeout`` None: a step of the sync, whose attempt timeout, heartbeat timeout and backoff
    are the ``SyncOptions``'; it makes ``attempts`` attempts (1: the workflow retries it
    itself, see ``steps``). Otherwise one attempt may run ``timeout`` and Temporal makes up to
    ``attempts`` at its default backoff."""

    name: str
    arg: type[A]
    result: type[R]
    attempts: int = 1
    timeout: timedelta | None = None


@dataclass(frozen=True)
class NoArgActivity(Generic[R]):
    """An activity without argument (run as a local activity); fields as :class:`Activity`."""

    name: str
    result: type[R]
    attempts: int = 1
    timeout: timedelta = timedelta(seconds=10)


Declared = Activity[Any, Any] | NoArgActivity[Any]


@dataclass(frozen=True)
class Target:
    """A kind of sync target: one activity applies an ``ApplyRequest`` to a target of the
    kind (the one the request names), one undoes the sync for a ``DeleteRequest``. Both are
    steps of the sync, fenced on the version, idempotent."""

    name: str
    apply: Activity[ApplyRequest, TargetResult]
    remove: Activity[DeleteRequest, TargetResult]


def target(name: str, *, apply: str, remove: str) -> Target:
    return Target(
        name,
        apply=Activity(apply, ApplyRequest, TargetResult),
        remove=Activity(remove, DeleteRequest, TargetResult),
    )


KUBERNETES = target(TARGET_KUBERNETES, apply="apply_kubernetes", remove="delete_kubernetes")
GIT = target(TARGET_GIT, apply="apply_git", remove="remove_git")
#: Every kind of target a sync can be configured with, by kind.
TARGETS: Mapping[str, Target] = MappingProxyType({t.name: t for t in (KUBERNETES, GIT)})

#: Mark the sync of a version Failed, or Retrying, on a target (a status write).
RECORD_FAILURE = Activity("record_failure", FailureReport, type(None), attempts=BOUNDED_ATTEMPTS)
#: Clean the status and purge the tombstone of a compensated delete (the last step of one).
FINISH_DELETE = Activity("finish_delete", DeleteRequest, type(None))
#: The worker's current SyncOptions, asked for before each handled event (local activity).
SYNC_OPTIONS = NoArgActivity("sync_options", SyncOptions, attempts=3, timeout=timedelta(seconds=5))
#: The receivers subscribed to a notice's event (``DeliverNotification``).
NOTIFY_RECEIVERS = Activity(
    "notify_receivers", Notice, list[str], attempts=5, timeout=timedelta(seconds=10)
)
#: POST a notice to one receiver; its HTTP status. Retried as the notice says (its caller's
#: policy), not ``attempts`` times.
DELIVER_NOTIFICATION = Activity(
    "deliver_notification", Delivery, int, timeout=timedelta(seconds=30)
)

#: The activities a worker serves whatever its targets.
COMMON: tuple[Declared, ...] = (
    RECORD_FAILURE,
    FINISH_DELETE,
    SYNC_OPTIONS,
    NOTIFY_RECEIVERS,
    DELIVER_NOTIFICATION,
)


def unknown_targets(options: SyncOptions) -> list[str]:
    """Targets in ``options`` of a kind no declared activity serves (a configuration error)."""
    return [t for t in options.targets if options.kind(t) not in TARGETS]


def target_of(options: SyncOptions, name: str) -> Target:
    """The activities of the target named ``name`` (those of its kind)."""
    return TARGETS[options.kind(name)]


def required(kinds: Iterable[str]) -> list[Declared]:
    """What a worker syncing to targets of ``kinds`` must serve (every common activity, and
    both activities of each kind)."""
    chosen = [TARGETS[k] for k in dict.fromkeys(kinds) if k in TARGETS]
    return [*COMMON, *(a for t in chosen for a in (t.apply, t.remove))]


Method = Callable[[S, A], Coroutine[Any, Any, R]]
NoArgMethod = Callable[[S], Coroutine[Any, Any, R]]


@overload
def implements(declared: Activity[A, R]) -> Callable[[Method[S, A, R]], Method[S, A, R]]: ...


@overload
def implements(declared: NoArgActivity[R]) -> Callable[[NoArgMethod[S, R]], NoArgMethod[S, R]]: ...


def implements(declared: Declared) -> Callable[[Any], Any]:
    """Decorate the method implementing ``declared``: an activity of that name, marked so that
    ``worker.temporalworker.served`` finds it; mypy checks its argument and result types."""

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        setattr(method, DECLARATION_ATTR, declared)
        return activity.defn(name=declared.name)(method)

    return decorate


def declaration_of(method: object) -> Declared | None:
    """The declaration ``method`` implements (see :func:`implements`), if any."""
    found = getattr(method, DECLARATION_ATTR, None)
    return found if isinstance(found, Activity | NoArgActivity) else None


async def execute(
    declared: Activity[A, R],
    arg: A,
    *,
    retry_policy: RetryPolicy | None = None,
    summary: str | None = None,
) -> R:
    """Run an activity of a fixed ``timeout`` from a workflow (not a sync step, see
    ``steps.run_step``); ``retry_policy`` replaces the declared attempts."""
    assert declared.timeout is not None, f"{declared.name} is a sync step"
    result = await workflow.execute_activity(
        declared.name,
        arg,
        result_type=declared.result,
        start_to_close_timeout=declared.timeout,
        retry_policy=retry_policy or RetryPolicy(maximum_attempts=declared.attempts),
        summary=summary,
    )
    return cast(R, result)


async def execute_local(declared: NoArgActivity[R]) -> R:
    """Run an activity without argument from a workflow, as a local activity."""
    result = await workflow.execute_local_activity(
        declared.name,
        result_type=declared.result,
        start_to_close_timeout=declared.timeout,
        retry_policy=RetryPolicy(maximum_attempts=declared.attempts),
    )
    return cast(R, result)
