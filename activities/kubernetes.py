"""Activities that apply AppConfigs to Kubernetes and delete them (direct apply target)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from temporalio import activity

from activities.applying import run_apply
from activities.failures import guarded
from k8s.applying import apply_appconfig, delete_appconfig, update_status
from k8s.errors import classify
from k8s.manifests import render_appconfig
from workflows.contracts import (
    ACTIVITY_APPLY_KUBERNETES,
    ACTIVITY_DELETE_KUBERNETES,
    TARGET_KUBERNETES,
    AppConfigImage,
    ApplyRequest,
    DeleteRequest,
    TargetResult,
)


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

    @activity.defn(name=ACTIVITY_APPLY_KUBERNETES)
    async def apply(self, request: ApplyRequest) -> TargetResult:
        """Server-side apply, fenced on the version annotation; then the status subresource.
        Idempotent: applying the same version again changes nothing."""
        image = request.image

        async def operation() -> TargetResult:
            outcome = await apply_appconfig(
                self.api,
                cr=render(image),
                field_manager=self.field_manager,
                request_timeout_s=self.request_timeout_s,
            )
            if not outcome.skipped_newer:
                await update_status(
                    self.api,
                    namespace=image.namespace,
                    name=image.name,
                    status=synced_status(image.seq),
                    request_timeout_s=self.request_timeout_s,
                )
            return TargetResult(
                target=TARGET_KUBERNETES,
                version=max(outcome.version, image.seq),
                detail=str(outcome.resource_version),
                skipped_newer=outcome.skipped_newer,
            )

        return await run_apply(
            operation,
            engine=self.engine,
            request=request,
            target=TARGET_KUBERNETES,
            classify=classify,
        )

    @activity.defn(name=ACTIVITY_DELETE_KUBERNETES)
    async def delete(self, request: DeleteRequest) -> TargetResult:
        """Delete the CR unless it holds a newer version; a missing CR is done."""

        async def operation() -> bool:
            return await delete_appconfig(
                self.api,
                namespace=request.namespace,
                name=request.name,
                version=request.seq,
                propagation_policy=self.propagation_policy,
                request_timeout_s=self.request_timeout_s,
            )

        deleted = await guarded(
            operation,
            engine=self.engine,
            namespace=request.namespace,
            name=request.name,
            target=TARGET_KUBERNETES,
            version=request.seq,
            classify=classify,
        )
        return TargetResult(
            target=TARGET_KUBERNETES, version=request.seq, detail="deleted" if deleted else "absent"
        )
