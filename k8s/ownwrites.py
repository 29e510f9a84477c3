"""The states of AppConfig objects this process wrote, so its drift watch can tell its own
writes without reading the database.

A resourceVersion names one state of one object. This process remembers, per state it wrote
(a create, an apply, a status write), the object it rendered. A watch event of such a state
whose object still holds what was rendered is no drift: it was rendered from the row at a
version the row held when the write was fenced, and a newer version of the row is then on its
way (see ``worker.driftrepair``). Such an event is skipped without reading the row; every
other event (a hand edit, another worker's write, a state that no longer holds the render) is
checked as before. Bounded: an entry goes once its event was seen, the oldest first when the
watch falls far behind.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from .manifests import holds_rendered

#: States remembered at most: far more than a watch lags behind the writes of one process.
CAPACITY = 2_000


class OwnWrites:
    """The rendered object of each state this process wrote, by namespace, name and
    resourceVersion, oldest first."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._written: OrderedDict[tuple[str, str, str], Mapping[str, Any]] = OrderedDict()

    def add(self, rendered: Mapping[str, Any], resource_version: str) -> None:
        """``rendered`` (the object sent) was written and is live at ``resource_version``."""
        meta = rendered["metadata"]
        self._written[(meta["namespace"], meta["name"], resource_version)] = rendered
        while len(self._written) > self.capacity:
            self._written.popitem(last=False)

    def seen(self, live: Mapping[str, Any]) -> bool:
        """Whether ``live`` (a watched object) is a state this process wrote and still holds
        what it rendered; the state is forgotten either way (its event is being handled)."""
        meta = live.get("metadata", {})
        key = (meta.get("namespace", ""), meta.get("name", ""), meta.get("resourceVersion", ""))
        rendered = self._written.pop(key, None)
        return rendered is not None and holds_rendered(rendered, live)
