"""What a server-side apply of an AppConfig would do, asked of the API server with
``dryRun=All``: the live object and the object the apply would leave. Nothing is written.

The dry run is the API server's own answer (defaulting, pruning, schema and CEL validation,
field ownership merged with other managers' fields), so the difference between the two
objects is what the real apply would change, hand edits that it would revert included.

The Kubernetes client is imported by the first dry run, not with this module: the API builds
a ``ClusterDryRun`` per Kubernetes target at start-up, and the client's import (its models,
some 60 MiB) would otherwise weigh on an API that is never asked for a preview.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vocabulary import GROUP, PLURAL, VERSION

from .errors import wrap

if TYPE_CHECKING:
    from kubernetes_asyncio import client


@dataclass(frozen=True)
class DryRunApply:
    #: The live object before the apply; None when there is none (the apply would create it).
    live: dict[str, Any] | None
    #: The object as the apply would leave it (the API server's dry-run answer).
    result: dict[str, Any]


async def dry_run_apply(
    api: client.ApiClient,
    *,
    cr: Mapping[str, Any],
    field_manager: str = "rendersync",
    request_timeout_s: float | None = None,
) -> DryRunApply:
    """Read the live object, then server-side apply ``cr`` (forced, as ``field_manager``, the
    manager the sync applies as) with ``dryRun=All``. Not retried; failures leave as
    :class:`~k8s.errors.TransientKubernetesError` (unreachable, 5xx) or
    :class:`~k8s.errors.PermanentKubernetesError` (403, 422: the apply would be refused)."""
    from kubernetes_asyncio import client
    from kubernetes_asyncio.client.exceptions import ApiException

    from .applying import APPLY_PATCH, _call, _content, read_appconfig

    meta = cr["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    live = await read_appconfig(
        api, namespace=namespace, name=name, request_timeout_s=request_timeout_s
    )
    custom = client.CustomObjectsApi(api)
    where = f"dry-run apply {namespace}/{name}"
    # The generated client decodes only a 200 of a patch; an apply that would create the
    # object answers 201, so the body is read here.
    raw: Any = await _call(
        custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            name,
            dict(cr),
            field_manager=field_manager,
            force=True,
            dry_run="All",
            _request_timeout=request_timeout_s,
            _preload_content=False,
            **_content(APPLY_PATCH),
        ),
        where,
    )
    data = await raw.read()
    if not 200 <= raw.status <= 299:
        refused = ApiException(status=raw.status, reason=raw.reason)
        refused.body = data.decode(errors="replace")
        raise wrap(refused, where)
    result: dict[str, Any] = json.loads(data)
    return DryRunApply(live, result)


@dataclass(frozen=True)
class ClusterDryRun:
    """Dry-run applies against the cluster a kubeconfig (or the in-cluster config) names;
    a client per call, so a process that previews rarely holds no connection."""

    kubeconfig: Path | None
    context: str | None
    field_manager: str = "rendersync"
    request_timeout_s: float = 10.0

    async def dry_run_apply(self, cr: Mapping[str, Any]) -> DryRunApply:
        """See :func:`dry_run_apply`; bad configuration is a PermanentKubernetesError."""
        from .client import make_api_client

        api = await make_api_client(kubeconfig=self.kubeconfig, context=self.context)
        try:
            return await dry_run_apply(
                api,
                cr=cr,
                field_manager=self.field_manager,
                request_timeout_s=self.request_timeout_s,
            )
        finally:
            await api.close()
