"""Watching managed AppConfig objects: list, then watch from the list's resourceVersion.

The iterator first yields ADDED for every listed object, then each change. A watch that ends
(server timeout, dropped connection) resumes from the last resourceVersion seen. When the
server answers 410 Gone (the resourceVersion was compacted away) it lists afresh and yields
what changed meanwhile: ADDED/MODIFIED for objects new or changed, DELETED for objects that
disappeared (carrying only their namespace, name and last resourceVersion), so a consumer
never misses a final state. Between events the watch keeps a resourceVersion per object, not
the objects: a drift watch over 10,000 keys would otherwise hold every rendered config.
Transient failures are retried here with capped exponential backoff; permanent ones (no CRD,
forbidden) are raised.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from vocabulary import GROUP, PLURAL, VERSION

from .errors import KubernetesError, kubernetes_failure_kind, wrap
from .manifests import MANAGED_SELECTOR

log = logging.getLogger(__name__)

_PAGE = 500
_BACKOFF_START_S = 0.1


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED
    object: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        return _key(self.object)


class _GoneError(Exception):
    """The watch's resourceVersion is too old: list again."""


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj["metadata"]
    return meta.get("namespace", ""), meta["name"]


async def watch_appconfigs(
    api: client.ApiClient,
    *,
    namespace: str | None = None,
    label_selector: str = MANAGED_SELECTOR,
    timeout_s: int = 300,
    backoff_max_s: float = 5.0,
) -> AsyncIterator[WatchEvent]:
    """Yield changes of AppConfigs matching ``label_selector`` (all namespaces when None)."""
    custom = client.CustomObjectsApi(api)
    known: dict[tuple[str, str], str] = {}  # the resourceVersion of every object seen
    rv: str | None = None
    delay = _BACKOFF_START_S
    while True:
        try:
            if rv is None:
                items, rv = await _list(custom, namespace, label_selector)
                listed = deque(_reconcile(known, items))
                del items  # each listed object lives until its event is consumed, no longer
                while listed:
                    yield listed.popleft()
            stream = _stream(custom, namespace, label_selector, rv, timeout_s)
            async with aclosing(stream) as events:
                async for kind, obj in events:
                    rv = obj["metadata"]["resourceVersion"]
                    if kind == "BOOKMARK":
                        continue
                    if kind == "DELETED":
                        known.pop(_key(obj), None)
                    else:
                        known[_key(obj)] = rv
                    yield WatchEvent(kind, obj)
            delay = _BACKOFF_START_S
        except _GoneError:
            log.info("watch resourceVersion %s expired; listing again", rv)
            rv = None
        except KubernetesError as exc:
            if kubernetes_failure_kind(exc) == "permanent":
                raise
            log.warning("watch interrupted, retrying in %.1fs: %s", delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, backoff_max_s)


def _reconcile(known: dict[tuple[str, str], str], items: list[dict[str, Any]]) -> list[WatchEvent]:
    """Events that move ``known`` (the resourceVersion of each object) to the listed state,
    and update ``known``. An object gone meanwhile is known by its key and last
    resourceVersion alone, so its DELETED event carries only that metadata."""
    listed = {_key(o): o for o in items}
    events = [
        WatchEvent("DELETED", _tombstone(k, known.pop(k))) for k in sorted(set(known) - set(listed))
    ]
    for key, obj in sorted(listed.items()):
        before = known.get(key)
        version = obj["metadata"]["resourceVersion"]
        if before is None:
            events.append(WatchEvent("ADDED", obj))
        elif before != version:
            events.append(WatchEvent("MODIFIED", obj))
        known[key] = version
    return events


def _tombstone(key: tuple[str, str], resource_version: str) -> dict[str, Any]:
    namespace, name = key
    meta = {"namespace": namespace, "name": name, "resourceVersion": resource_version}
    return {"metadata": meta}


async def list_appconfigs(
    api: client.ApiClient, *, namespace: str | None = None, label_selector: str = MANAGED_SELECTOR
) -> list[dict[str, Any]]:
    """Every AppConfig matching ``label_selector`` (in ``namespace``, or all), all pages."""
    items, _ = await _list(client.CustomObjectsApi(api), namespace, label_selector)
    return items


async def appconfig_pages(
    api: client.ApiClient, *, namespace: str | None = None, label_selector: str = MANAGED_SELECTOR
) -> AsyncIterator[list[dict[str, Any]]]:
    """The AppConfigs matching ``label_selector`` (in ``namespace``, or all), one page of
    ``_PAGE`` at a time: a reader that keeps a little of each object holds a page or two (the
    one it reads while the next is fetched), not every object at once."""
    async for items, _ in _pages(client.CustomObjectsApi(api), namespace, label_selector):
        yield items


async def probe_appconfigs(api: client.ApiClient, *, timeout_s: float) -> None:
    """One cheap read of the API server: list at most one AppConfig (all namespaces), each
    request bounded by ``timeout_s``. A server that cannot be reached or refuses (no CRD,
    forbidden) raises the classified ``KubernetesError``."""
    custom = client.CustomObjectsApi(api)
    try:
        await custom.list_cluster_custom_object(
            GROUP, VERSION, PLURAL, limit=1, _request_timeout=timeout_s
        )
    except Exception as exc:
        raise wrap(exc, "list appconfigs") from exc


async def _list(
    custom: client.CustomObjectsApi, namespace: str | None, selector: str
) -> tuple[list[dict[str, Any]], str]:
    """Every page's objects, and the list's resourceVersion (the last page's)."""
    items: list[dict[str, Any]] = []
    resource_version = ""
    async for page, page_version in _pages(custom, namespace, selector):
        items += page
        resource_version = page_version
    return items, resource_version


async def _pages(
    custom: client.CustomObjectsApi, namespace: str | None, selector: str
) -> AsyncGenerator[tuple[list[dict[str, Any]], str], None]:
    """Each page of the list (followed by its continue token) and its resourceVersion."""
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"label_selector": selector, "limit": _PAGE}
        if token:
            kwargs["_continue"] = token
        try:
            if namespace is None:
                page = await custom.list_cluster_custom_object(GROUP, VERSION, PLURAL, **kwargs)
            else:
                page = await custom.list_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURAL, **kwargs
                )
        except Exception as exc:
            raise wrap(exc, "list appconfigs") from exc
        token = page["metadata"].get("continue")
        yield page.get("items") or [], str(page["metadata"]["resourceVersion"])
        if not token:
            return


async def _stream(
    custom: client.CustomObjectsApi,
    namespace: str | None,
    selector: str,
    rv: str,
    timeout_s: int,
) -> AsyncGenerator[tuple[str, dict[str, Any]], None]:
    kwargs: dict[str, Any] = {
        "label_selector": selector,
        "watch": True,
        "resource_version": rv,
        "timeout_seconds": timeout_s,
        "allow_watch_bookmarks": True,
        "_preload_content": False,
    }
    try:
        if namespace is None:
            resp = await custom.list_cluster_custom_object(GROUP, VERSION, PLURAL, **kwargs)
        else:
            resp = await custom.list_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, **kwargs
            )
    except Exception as exc:
        raise wrap(exc, "watch appconfigs") from exc
    try:
        if resp.status == 410:
            raise _GoneError()
        if resp.status >= 300:
            raise _http_error(resp.status, (await resp.read()).decode(errors="replace"))
        async for line in _lines(resp):
            event = json.loads(line)
            if event.get("type") == "ERROR":
                raise _event_error(event.get("object") or {})
            yield event["type"], event["object"]
    finally:
        resp.release()


async def _lines(resp: Any) -> AsyncIterator[bytes]:
    try:
        async for line in resp.content:
            if line.strip():
                yield line
    except Exception as exc:
        raise wrap(exc, "watch appconfigs") from exc


def _event_error(status: dict[str, Any]) -> Exception:
    code = int(status.get("code") or 0)
    if code == 410:
        return _GoneError()
    return _http_error(code, str(status.get("message", "")))


def _http_error(code: int, message: str) -> KubernetesError:
    return wrap(ApiException(status=code, reason=message), "watch appconfigs")
