"""In-memory object storage: one server-wide resourceVersion counter and a bounded event log.

Every write gets the next resourceVersion (a string of an increasing int, like etcd's
revision) and appends an event that watchers read. Only the last ``event_window`` events are
kept; a watch that asks for an older resourceVersion gets 410 Gone, as it would after etcd
compaction. All methods are synchronous: the server runs on one event loop, so a write is
atomic with respect to every other request.
"""

from __future__ import annotations

import asyncio
import copy
from collections import deque
from dataclasses import dataclass
from typing import Any

Key = tuple[str, str, str]  # (resource key "group/plural", namespace, name)


@dataclass(frozen=True)
class Event:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    resource: str
    namespace: str
    obj: dict[str, Any]
    #: The object before this change (None for ADDED); lets selector-filtered watches
    #: turn a MODIFIED that leaves or enters the selection into DELETED/ADDED.
    prev: dict[str, Any] | None


class ExpiredError(Exception):
    """The requested resourceVersion is older than the retained event window."""


class Store:
    def __init__(self, *, event_window: int = 1000) -> None:
        self._objects: dict[Key, dict[str, Any]] = {}
        self._events: deque[Event] = deque()
        self._window = event_window
        self._rv = 0
        self._compacted_rv = 0
        self._wakeup = asyncio.Event()
        self.closed = False

    @property
    def rv(self) -> int:
        return self._rv

    @property
    def compacted_rv(self) -> int:
        return self._compacted_rv

    @property
    def wakeup(self) -> asyncio.Event:
        """Set on the next write; take it *before* reading events to never miss one."""
        return self._wakeup

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        found = self._objects.get((resource, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def list_objects(self, resource: str, namespace: str | None) -> list[dict[str, Any]]:
        keys = sorted(k for k in self._objects if k[0] == resource and namespace in (None, k[1]))
        return [copy.deepcopy(self._objects[k]) for k in keys]

    def put(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` under a new resourceVersion; returns the stored copy."""
        meta = obj["metadata"]
        key = (resource, meta.get("namespace", ""), meta["name"])
        prev = self._objects.get(key)
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        self._objects[key] = copy.deepcopy(obj)
        self._record("MODIFIED" if prev else "ADDED", key, obj, prev)
        return copy.deepcopy(obj)

    def remove(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        """Delete an object; the DELETED event carries the deletion's resourceVersion."""
        key = (resource, namespace, name)
        prev = self._objects.pop(key, None)
        if prev is None:
            return None
        self._rv += 1
        gone = copy.deepcopy(prev)
        gone["metadata"]["resourceVersion"] = str(self._rv)
        self._record("DELETED", key, gone, prev)
        return copy.deepcopy(gone)

    def events_after(self, rv: int) -> list[Event]:
        """Events with a resourceVersion greater than ``rv``; raises :class:`ExpiredError`."""
        if rv < self._compacted_rv:
            raise ExpiredError(f"too old resource version: {rv} ({self._compacted_rv})")
        return [e for e in self._events if e.rv > rv]

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _record(
        self, kind: str, key: Key, obj: dict[str, Any], prev: dict[str, Any] | None
    ) -> None:
        self._events.append(
            Event(self._rv, kind, key[0], key[1], copy.deepcopy(obj), copy.deepcopy(prev))
        )
        while len(self._events) > self._window:
            self._compacted_rv = self._events.popleft().rv
        self._wake()

    def _wake(self) -> None:
        woken, self._wakeup = self._wakeup, asyncio.Event()
        woken.set()
