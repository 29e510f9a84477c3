"""What the drift watch may skip: a state this process wrote that still holds its render."""

from __future__ import annotations

import copy
from typing import Any

from k8s.manifests import render_appconfig
from k8s.ownwrites import OwnWrites


def rendered(replicas: int = 2) -> dict[str, Any]:
    return render_appconfig(
        namespace="shop",
        name="web",
        spec={"app": "web", "environment": "dev", "replicas": replicas},
        labels={"team": "a"},
        annotations={},
        seq=7,
    )


def live(cr: dict[str, Any], resource_version: str, **spec: Any) -> dict[str, Any]:
    """``cr`` as the server shows it at ``resource_version``, with ``spec`` fields changed."""
    shown = copy.deepcopy(cr)
    shown["metadata"] |= {"resourceVersion": resource_version, "uid": "u-1"}
    shown["metadata"]["labels"]["added-by-server"] = "yes"
    shown["spec"] |= spec
    shown["status"] = {"observedVersion": 7}
    return shown


def test_a_state_written_here_is_seen_once() -> None:
    writes, cr = OwnWrites(), rendered()
    writes.add(cr, "41")
    assert writes.seen(live(cr, "41"))
    assert not writes.seen(live(cr, "41"))  # forgotten: a later relist checks it


def test_a_state_not_written_here_is_not_seen() -> None:
    writes, cr = OwnWrites(), rendered()
    writes.add(cr, "41")
    assert not writes.seen(live(cr, "42"))
    other = rendered()
    other["metadata"]["name"] = "api"
    assert not writes.seen(live(other, "41"))


def test_a_written_state_that_no_longer_holds_the_render_is_not_seen() -> None:
    """A state written on top of a hand edit (a status write after a re-read, say) carries
    the edit: the watch must check it."""
    writes, cr = OwnWrites(), rendered(replicas=2)
    writes.add(cr, "41")
    assert not writes.seen(live(cr, "41", replicas=42))


def test_the_oldest_states_go_first_beyond_the_capacity() -> None:
    writes, cr = OwnWrites(capacity=2), rendered()
    for resource_version in ("1", "2", "3"):
        writes.add(cr, resource_version)
    assert not writes.seen(live(cr, "1"))
    assert writes.seen(live(cr, "2"))
    assert writes.seen(live(cr, "3"))
