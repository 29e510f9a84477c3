"""The stacks the test fixtures run rendersync in, each a
:class:`~rendersync.devstack.description.StackDescription` on the session's shared services.

Every stack gets names of its own (topic, consumer group, task queue ``rs-<suffix>``), since
the broker and the Temporal server are shared by the session's tests.
"""

from __future__ import annotations

from pathlib import Path

from rendersync.devstack.description import Endpoints, StackDescription

#: Settings of rendersync processes that a test starts: failing syncs retry fast, Kubernetes
#: calls time out fast, the worker stops fast, and metrics listen on ports the kernel picks.
PROCESS_SETTINGS = {
    "KAFKA__PARTITIONS": "3",
    "KUBERNETES__REQUEST_TIMEOUT_S": "5",
    "METRICS__RELAY_PORT": "0",
    "METRICS__BRIDGE_PORT": "0",
    "METRICS__WORKER_PORT": "0",
    "SYNC__ACTIVITY_START_TO_CLOSE_S": "4",
    "SYNC__RETRY_INITIAL_INTERVAL_S": "0.2",
    "SYNC__RETRY_MAX_INTERVAL_S": "1",
    "SYNC__WORKER_GRACE_S": "2",
}


def shared_services_stack(
    *,
    db_url: str,
    kafka: str,
    temporal: str,
    remote: Path,
    run_dir: Path,
    suffix: str,
    kubeconfig: Path | None = None,
) -> StackDescription:
    """A stack on the given services, its working clone and (by default) its kubeconfig in
    ``run_dir``, its topic, consumer group and task queue named ``rs-<suffix>``."""
    endpoints = Endpoints(
        db_url=db_url,
        kafka=kafka,
        temporal=temporal,
        kubeconfig=run_dir / "kubeconfig" if kubeconfig is None else kubeconfig,
        git_remote=remote,
        git_workdir=run_dir / "git-work",
    )
    name = f"rs-{suffix}"
    own = {"KAFKA__TOPIC": name, "KAFKA__CONSUMER_GROUP": name, "TEMPORAL__TASK_QUEUE": name}
    return StackDescription(endpoints, settings=own)


def process_stack(
    *,
    db_url: str,
    kafka: str,
    temporal: str,
    remote: Path,
    run_dir: Path,
    suffix: str,
    kubeconfig: Path | None = None,
) -> StackDescription:
    """:func:`shared_services_stack` with :data:`PROCESS_SETTINGS`: the stack of tests that
    run rendersync's components as processes of their own."""
    shared = shared_services_stack(
        db_url=db_url,
        kafka=kafka,
        temporal=temporal,
        remote=remote,
        run_dir=run_dir,
        suffix=suffix,
        kubeconfig=kubeconfig,
    )
    return shared.with_settings(PROCESS_SETTINGS)
