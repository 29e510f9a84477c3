"""Activities that apply AppConfigs to Kubernetes and delete them (direct apply target)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from activities.frames import run_apply, run_removal, superseded
from k8s.applying import apply_appconfig, delete_appconfig, update_status
from k8s.errors import kubernetes_failure_kind
from k8s.manifests import render_appconfig
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


class KubernetesActivities:
    """Built once per worker around one API client and the database engine."""

    def __init__(
        self,
        api: Any,
        engine: Engine,
        *,
        field_manager: str,
        propagation_policy: str,
        request_timeout_s: float | None = None,
    ) -> None:
        self.api = api
        self.request_timeout_s = request_timeout_s
        self.engine = engine
        self.field_manager = field_manager
        self.propagation_policy = propagation_policy

    @implements(KUBERNETES.apply)
    async def apply(self, request: ApplyRequest) -> TargetResult:
        """Server-side apply, fenced on the version annotation and on the row (checked right
        before the call); then the status subresource, preconditioned on what the apply
        returned (see ``update_status``). Idempotent: applying the same version
        again changes nothing. Heartbeats while it works (see ``activities.heartbeating``)."""
        image = request.image

        async def operation(row_check: RowCheck) -> TargetResult:
            outcome = await apply_appconfig(
                self.api,
                cr=render(image),
                row_check=row_check,
                field_manager=self.field_manager,
                request_timeout_s=self.request_timeout_s,
            )
            if outcome.superseded:
                return superseded(TARGET_KUBERNETES, image.seq)
            if not outcome.skipped_newer:
                await update_status(
                    self.api,
                    namespace=image.namespace,
                    name=image.name,
                    status=synced_status(image.seq),
                    version=image.seq,
                    resource_version=outcome.resource_version,
                    request_timeout_s=self.request_timeout_s,
                )
            return TargetResult(
                target=TARGET_KUBERNETES,
                version=image.seq,
                detail=str(outcome.resource_version),
                skipped_newer=outcome.skipped_newer,
                object_uid=outcome.uid,
            )

        return await run_apply(
            operation,
            engine=self.engine,
            request=request,
            target=TARGET_KUBERNETES,
            classify=kubernetes_failure_kind,
        )

    @implements(KUBERNETES.remove)
    async def delete(self, request: DeleteRequest) -> TargetResult:
        """Delete the CR unless it holds a newer version; a missing CR is done."""

        async def operation(row_check: RowCheck) -> bool:
            return await delete_appconfig(
                self.api,
                namespace=request.namespace,
                name=request.name,
                version=request.seq,
                row_check=row_check,
                propagation_policy=self.propagation_policy,
                request_timeout_s=self.request_timeout_s,
            )

        deleted = await run_removal(
            operation,
            engine=self.engine,
            request=request,
            target=TARGET_KUBERNETES,
            classify=kubernetes_failure_kind,
        )
        return TargetResult(
            target=TARGET_KUBERNETES, version=request.seq, detail="deleted" if deleted else "absent"
        )
