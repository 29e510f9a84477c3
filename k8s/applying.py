"""Writing AppConfig objects: fenced server-side apply, fenced delete, status write-back.

Fencing: every write is conditional on the live object's ``rendersync.dev/version`` and pinned
to the resourceVersion that was read, so two writers (a zombie activity attempt and its
successor, say) can never move an object back to an older version. Every failure leaves as a
:class:`~k8s.errors.TransientKubernetesError` or :class:`~k8s.errors.PermanentKubernetesError`
(see :mod:`k8s.errors`); retrying is the caller's business, except the bounded re-read loop
on a lost optimistic-lock race, which is part of the operation.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from vocabulary import GROUP, PLURAL, VERSION, RowCheck, holds_newer

from .errors import TransientKubernetesError, wrap
from .manifests import version_of
from .ownwrites import OwnWrites

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"

T = TypeVar("T")


@dataclass(frozen=True)
class ApplyOutcome:
    #: resourceVersion of the live object after the call.
    resource_version: str
    #: rendersync.dev/version the live object holds after the call.
    version: int
    #: True when nothing was written because the live object already holds a newer version
    #: (or, with ``superseded``, because the version is no longer the row's).
    skipped_newer: bool
    #: True when the row check refused the write: the version is no longer the row's.
    superseded: bool = False
    #: metadata.uid of the live object after the call ("" when there is none).
    uid: str = ""


def _content(content_type: str) -> dict[str, Any]:
    """The client picks JSON/merge patch by itself; apply needs the content type forced."""
    return {"_content_type": content_type}


async def _call(what: Awaitable[T], context: str, *, tolerate: tuple[int, ...] = ()) -> T | None:
    """Await an API call; None for a tolerated HTTP status, else a classified error."""
    try:
        return await what
    except ApiException as exc:
        if exc.status in tolerate:
            return None
        raise wrap(exc, context) from exc
    except Exception as exc:
        raise wrap(exc, context) from exc


async def read_appconfig(
    api: client.ApiClient, *, namespace: str, name: str, request_timeout_s: float | None = None
) -> dict[str, Any] | None:
    """The live AppConfig, or None when it does not exist (404). Not retried."""
    custom = client.CustomObjectsApi(api)
    found: dict[str, Any] | None = await _call(
        custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name, _request_timeout=request_timeout_s
        ),
        f"read {namespace}/{name}",
        tolerate=(404,),
    )
    return found


async def apply_appconfig(
    api: client.ApiClient,
    *,
    cr: Mapping[str, Any],
    row_check: RowCheck | None = None,
    field_manager: str = "rendersync",
    request_timeout_s: float | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    own_writes: OwnWrites | None = None,
) -> ApplyOutcome:
    """Server-side apply ``cr`` (force, as ``field_manager``) unless a newer version is live.

    ``row_check`` (see :data:`~vocabulary.RowCheck`) is evaluated after every read of the
    live object, immediately before the create or apply call: when it refuses, nothing is
    written (``superseded``). So an attempt that outlived the delete of its key cannot create
    an object that no row backs; the write stays pinned to the resourceVersion read before
    the check, so a concurrent change makes it re-read and check again.

    Idempotent: applying the same version twice changes nothing. A live object with a higher
    ``rendersync.dev/version`` is left alone (``skipped_newer``) unless it is above the row's
    version (drift, see :func:`~vocabulary.holds_newer`), which is overwritten. The write
    carries the resourceVersion that was read as a precondition; losing that race (409)
    re-reads and decides again, at most ``max_attempts`` times, then raises a transient error.
    An absent object is created with POST, so two creators cannot overwrite each other blindly
    (409 AlreadyExists re-reads), then applied once so the fields are owned by the apply manager.
    An object being deleted (finalizers pending) is a transient error: retry once it is gone.
    Every state written (the create, the apply) goes to ``own_writes``, with ``cr``.
    """
    meta = cr["metadata"]
    namespace, name, version = meta["namespace"], meta["name"], version_of(cr)
    custom = client.CustomObjectsApi(api)
    where = f"{namespace}/{name}"
    for _ in range(max_attempts):
        live = await read_appconfig(
            api, namespace=namespace, name=name, request_timeout_s=request_timeout_s
        )
        ceiling = None if row_check is None else await row_check()
        if row_check is not None and ceiling is None:
            log.info("skip %s v%s: no longer the row's version", where, version)
            held = "" if live is None else live["metadata"]["resourceVersion"]
            return ApplyOutcome(held, version_of(live), True, superseded=True)
        if live is None:
            live = await _create(custom, cr, field_manager, request_timeout_s)
            if live is None:
                continue
            if own_writes is not None:
                own_writes.add(cr, live["metadata"]["resourceVersion"])
        live_version = version_of(live)
        if holds_newer(live_version, version=version, ceiling=ceiling):
            log.info("skip %s v%s: v%s is live", where, version, live_version)
            meta_live = live["metadata"]
            return ApplyOutcome(
                meta_live["resourceVersion"], live_version, True, uid=meta_live.get("uid", "")
            )
        if live["metadata"].get("deletionTimestamp"):
            raise TransientKubernetesError(f"apply {where}: the object is being deleted")
        applied = await _apply_at(
            custom, cr, live["metadata"]["resourceVersion"], field_manager, request_timeout_s
        )
        if applied is not None:
            meta_applied = applied["metadata"]
            if own_writes is not None:
                own_writes.add(cr, meta_applied["resourceVersion"])
            return ApplyOutcome(
                meta_applied["resourceVersion"], version, False, uid=meta_applied.get("uid", "")
            )
        log.debug("apply %s v%s lost a race; re-reading", where, version)
    raise TransientKubernetesError(f"apply {where}: still conflicting after {max_attempts} tries")


async def _create(
    custom: client.CustomObjectsApi,
    cr: Mapping[str, Any],
    field_manager: str,
    request_timeout_s: float | None,
) -> dict[str, Any] | None:
    """POST the object; None when someone else created it first (409)."""
    meta = cr["metadata"]
    created: dict[str, Any] | None = await _call(
        custom.create_namespaced_custom_object(
            GROUP,
            VERSION,
            meta["namespace"],
            PLURAL,
            dict(cr),
            field_manager=field_manager,
            _request_timeout=request_timeout_s,
        ),
        f"create {meta['namespace']}/{meta['name']}",
        tolerate=(409,),
    )
    return created


async def _apply_at(
    custom: client.CustomObjectsApi,
    cr: Mapping[str, Any],
    resource_version: str,
    field_manager: str,
    request_timeout_s: float | None,
) -> dict[str, Any] | None:
    """Force-apply pinned to ``resource_version``; None when that is no longer live."""
    meta = cr["metadata"]
    body = {**cr, "metadata": {**meta, "resourceVersion": resource_version}}
    applied: dict[str, Any] | None = await _call(
        custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            meta["namespace"],
            PLURAL,
            meta["name"],
            body,
            field_manager=field_manager,
            force=True,
            _request_timeout=request_timeout_s,
            **_content(APPLY_PATCH),
        ),
        f"apply {meta['namespace']}/{meta['name']}",
        tolerate=(404, 409),
    )
    return applied


async def delete_appconfig(
    api: client.ApiClient,
    *,
    namespace: str,
    name: str,
    version: int,
    row_check: RowCheck | None = None,
    propagation_policy: str = "Background",
    request_timeout_s: float | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> bool:
    """Delete the AppConfig unless the live one holds a version newer than ``version``.

    ``row_check`` (evaluated after each read) gives the row's version: a live version above
    it is drift, not a newer incarnation, and is deleted too (see ``holds_newer``).

    Returns True when this call deleted it (or started its deletion, if finalizers remain),
    False when there was nothing to do: absent (404, so repeating a delete is harmless) or
    superseded by a newer version. The delete is preconditioned on the resourceVersion that
    was read; a 409 re-reads and decides again, at most ``max_attempts`` times.
    """
    custom = client.CustomObjectsApi(api)
    for _ in range(max_attempts):
        live = await read_appconfig(
            api, namespace=namespace, name=name, request_timeout_s=request_timeout_s
        )
        if live is None:
            return False
        ceiling = None if row_check is None else await row_check()
        if holds_newer(version_of(live), version=version, ceiling=ceiling):
            log.info(
                "keep %s/%s: v%s is newer than v%s", namespace, name, version_of(live), version
            )
            return False
        options = client.V1DeleteOptions(
            propagation_policy=propagation_policy,
            preconditions=client.V1Preconditions(
                resource_version=live["metadata"]["resourceVersion"]
            ),
        )
        answer = await _call(
            custom.delete_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                name,
                body=options,
                _request_timeout=request_timeout_s,
            ),
            f"delete {namespace}/{name}",
            tolerate=(404, 409),
        )
        if answer is not None:
            return True
        # 404 (deleted meanwhile) or 409 (changed since the read): read and decide again.
    raise TransientKubernetesError(f"delete {namespace}/{name}: still conflicting")


async def update_status(
    api: client.ApiClient,
    *,
    namespace: str,
    name: str,
    status: Mapping[str, Any],
    version: int,
    resource_version: str,
    request_timeout_s: float | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> str | None:
    """Merge ``status`` (describing ``version``) into the object's ``/status`` subresource.

    Fenced like the apply: the patch is preconditioned on ``resource_version`` (what the
    fenced apply of ``version`` returned). When the object changed since (409), it is re-read
    and the status written, pinned to the new resourceVersion, only while the object still
    holds ``version``; so a late attempt never sets ``observedVersion`` back over a newer
    apply. Returns the new resourceVersion, or None when nothing was written: the object is
    gone (404) or holds another version now. Idempotent. Still conflicting after
    ``max_attempts`` tries: a transient error.
    """
    custom = client.CustomObjectsApi(api)
    where = f"{namespace}/{name}"
    for _ in range(max_attempts):
        body = {"metadata": {"resourceVersion": resource_version}, "status": dict(status)}
        patched: dict[str, Any] | None = await _call(
            custom.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                name,
                body,
                **_content(MERGE_PATCH),
                _request_timeout=request_timeout_s,
            ),
            f"update status of {where}",
            tolerate=(404, 409),
        )
        if patched is not None:
            return str(patched["metadata"]["resourceVersion"])
        live = await read_appconfig(
            api, namespace=namespace, name=name, request_timeout_s=request_timeout_s
        )
        if live is None or version_of(live) != version:
            log.info("status of %s v%s not written: v%s is live", where, version, version_of(live))
            return None
        resource_version = live["metadata"]["resourceVersion"]
    raise TransientKubernetesError(f"update status of {where}: still conflicting")
