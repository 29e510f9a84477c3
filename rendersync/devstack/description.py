"""One description of a stack: where its services are, which rendersync processes it runs and
with which settings.

``rendersync dev``, the benchmark and the test fixtures each describe the stack they run with
a :class:`StackDescription`. From it come the ``RENDERSYNC_*`` environment every rendersync
child process gets (:meth:`StackDescription.child_env`) and the :class:`Settings` those
processes read from it (:meth:`StackDescription.to_settings`), so the two cannot disagree.
Pure data: nothing here starts a process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from rendersync.settings import Settings, settings_from_env

#: The rendersync processes of a whole pipeline, in start order.
PIPELINE = ("api", "relay", "bridge", "worker")

_PREFIX = "RENDERSYNC_"


@dataclass(frozen=True)
class Endpoints:
    """Where the services of a stack listen: what every rendersync process connects to.

    ``temporal`` is the frontend's ``host:port``, or ``None`` for a stack without Temporal.
    """

    db_url: str
    kafka: str
    kubeconfig: Path
    git_remote: Path
    git_workdir: Path
    temporal: str | None = None

    def variables(self) -> dict[str, str]:
        """The settings naming these endpoints, by variable name without the prefix."""
        found = {
            "DB__URL": self.db_url,
            "KAFKA__BOOTSTRAP_SERVERS": self.kafka,
            "KUBERNETES__KUBECONFIG": str(self.kubeconfig),
            "GIT__REMOTE": str(self.git_remote),
            "GIT__WORKDIR": str(self.git_workdir),
        }
        if self.temporal is not None:
            found["TEMPORAL__ADDRESS"] = self.temporal
        return found


@dataclass(frozen=True)
class StackDescription:
    """A stack: its services' :class:`Endpoints`, its rendersync ``processes`` and their
    further ``settings``, by variable name without the prefix (``{"KAFKA__TOPIC": "t"}``);
    those win over the endpoints' variables.

    ``inherit`` says whether the caller's own ``RENDERSYNC_*`` variables reach the children
    (under the stack's): the dev stack passes them on, the benchmark and the tests do not.
    """

    endpoints: Endpoints
    processes: tuple[str, ...] = PIPELINE
    settings: Mapping[str, str] = field(default_factory=dict)
    inherit: bool = False

    def with_settings(self, settings: Mapping[str, str]) -> StackDescription:
        """This stack with ``settings`` on top of its own."""
        return replace(self, settings={**self.settings, **settings})

    def rendersync_env(self) -> dict[str, str]:
        """The ``RENDERSYNC_*`` variables this stack sets."""
        values = {**self.endpoints.variables(), **self.settings}
        return {_PREFIX + name: value for name, value in values.items()}

    def child_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The whole environment of a child process: ``base`` (``os.environ``) without its
        ``RENDERSYNC_*`` variables unless :attr:`inherit`, then :meth:`rendersync_env`."""
        source = os.environ if base is None else base
        kept = {k: v for k, v in source.items() if self.inherit or not k.startswith(_PREFIX)}
        return {**kept, **self.rendersync_env()}

    def to_settings(self, base: Mapping[str, str] | None = None) -> Settings:
        """The Settings a child process of this stack reads from :meth:`child_env`."""
        return settings_from_env(self.child_env(base))


def rendersync_argv(*args: str) -> tuple[str, ...]:
    """The command line of a ``rendersync`` subcommand run with this interpreter."""
    return (sys.executable, "-m", "rendersync.cli", *args)


def emulator_argv(*, host: str, port: int, kubeconfig: Path | None = None) -> tuple[str, ...]:
    """``rendersync k8s-emulator`` on ``host:port`` with the AppConfig CRD installed, writing
    a kubeconfig that points at it to ``kubeconfig`` when given."""
    written = ("--kubeconfig-out", str(kubeconfig)) if kubeconfig is not None else ()
    return rendersync_argv(
        "k8s-emulator", *("--host", host, "--port", str(port)), *written, "--install-crd"
    )


#: The settings that turn a worker's helper loops off (drift repair, anti-entropy, orphan
#: collection): with several workers on the task queue only the first runs them.
_NO_HELPER_LOOPS = {
    "SYNC__DRIFT_REPAIR": "false",
    "SYNC__RESYNC_INTERVAL_S": "0",
    "SYNC__ORPHAN_INTERVAL_S": "0",
}


def worker_names(count: int) -> tuple[str, ...]:
    """The names of ``count`` worker processes: ``worker``, ``worker-2``, ``worker-3`` ..."""
    return tuple("worker" if index == 0 else f"worker-{index + 1}" for index in range(count))


def worker_settings(index: int, *, metrics_port: int, git_workdir: Path) -> dict[str, str]:
    """The settings worker ``index`` (from 0) of several on one task queue gets on top of the
    stack's: a metrics port and a Git clone of its own (a clone serves one process), and, for
    every worker but the first, no helper loops. Those loops are idempotent and fenced, so
    more of them would be safe, but each would watch every CR, scan the lagging keys and
    list the orphans again, and re-drive the same keys once per worker."""
    own = {
        "METRICS__WORKER_PORT": str(metrics_port),
        "GIT__WORKDIR": str(git_workdir if index == 0 else Path(f"{git_workdir}-{index + 1}")),
    }
    return own if index == 0 else {**own, **_NO_HELPER_LOOPS}
