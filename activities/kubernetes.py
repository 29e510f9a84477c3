"""Activities that apply AppConfigs to Kubernetes and delete them (direct apply target)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from activities.frames import configured, run_apply, run_removal, superseded
from k8s.applying import apply_appconfig, delete_appconfig, update_status
from k8s.errors import kubernetes_failure_kind
from k8s.manifests import render_appconfig
from k8s.ownwrites import OwnWrites
from vocabulary import TARGET_KUBERNETES, RowCheck
from workflows.contracts import AppConfigImage, ApplyRequest, DeleteRequest, TargetResult
from workflows.declarations import KUBERNETES, implements


def render(image: AppConfigImage) -> dict[str, Any]:
    return render_appconfig(
        namespace=image.namespace,
        name=image.name,
        spec=image.spec,
        labels=image.labels,
        annotations=image.annotations,
        seq=image.seq,
    )


def synced_status(version: int) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "observedVersion": version,
        "conditions": [
            {
                "type": "Synced",
                "status": "True",
                "reason": "Applied",
                "message": f"rendersync applied version {version}",
                "lastTransitionTime": now,
            }
        ],
    }


@dataclass(frozen=True)
class Cluster:
    """One Kubernetes target: its API client (one per cluster) and how to write to it."""

    api: Any
    field_manager: str = "rendersync"
    propagation_policy: str = "Background"
    request_timeout_s: float | None = None
    #: The states this process wrote, for its drift watch (see ``k8s.ownwrites``).
    own_writes: OwnWrites = field(default_factory=OwnWrites)


class KubernetesActivities:
    """Built once per worker around the clusters of its Kubernetes targets (by target name)
    and the database engine."""

    def __init__(self, clusters: Mapping[str, Cluster], engine: Engine) -> None:
        self.clusters = dict(clusters)
        self.engine = engine

    def cluster(self, target: str) -> Cluster:
        """The cluster of the target named ``target`` ("": the one named ``kubernetes``)."""
        return configured(self.clusters, target or TARGET_KUBERNETES)

    @implements(KUBERNETES.apply)
    async def apply(self, request: ApplyRequest) -> TargetResult:
        """Server-side apply, fenced on the version annotation and on the row (checked right
        before the call); then the status subresource, preconditioned on what the apply
        returned (see ``update_status``). Idempotent: applying the same version
        again changes nothing. Heartbeats while it works (see ``activities.heartbeating``)."""
        image = request.image
        target = request.target or TARGET_KUBERNETES
        cluster = self.cluster(target)

        async def operation(row_check: RowCheck) -> TargetResult:
            cr = render(image)
            outcome = await apply_appconfig(
                cluster.api,
                cr=cr,
                row_check=row_check,
                field_manager=cluster.field_manager,
                request_timeout_s=cluster.request_timeout_s,
                own_writes=cluster.own_writes,
            )
            if outcome.superseded:
                return superseded(target, image.seq)
            if not outcome.skipped_newer:
                status_written = await update_status(
                    cluster.api,
                    namespace=image.namespace,
                    name=image.name,
                    status=synced_status(image.seq),
                    version=image.seq,
                    resource_version=outcome.resource_version,
                    request_timeout_s=cluster.request_timeout_s,
                )
                if status_written is not None:
                    cluster.own_writes.add(cr, status_written)
            return TargetResult(
                target=target,
                version=image.seq,
                detail=str(outcome.resource_version),
                skipped_newer=outcome.skipped_newer,
                object_uid=outcome.uid,
            )

        return await run_apply(
            operation,
            engine=self.engine,
            request=request,
            target=target,
            classify=kubernetes_failure_kind,
        )

    @implements(KUBERNETES.remove)
    async def delete(self, request: DeleteRequest) -> TargetResult:
        """Delete the CR unless it holds a newer version; a missing CR is done."""
        target = request.target or TARGET_KUBERNETES
        cluster = self.cluster(target)

        async def operation(row_check: RowCheck) -> bool:
            return await delete_appconfig(
                cluster.api,
                namespace=request.namespace,
                name=request.name,
                version=request.seq,
                row_check=row_check,
                propagation_policy=cluster.propagation_policy,
                request_timeout_s=cluster.request_timeout_s,
            )

        deleted = await run_removal(
            operation,
            engine=self.engine,
            request=request,
            target=target,
            classify=kubernetes_failure_kind,
        )
        return TargetResult(
            target=target, version=request.seq, detail="deleted" if deleted else "absent"
        )
