"""Concurrent writers through the real HTTP server: no lost update, seq in commit order."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine

from persistence.reading import list_revisions
from tests.api.checks import assert_tables_consistent
from tests.api.conftest import BASE, appconfig

WRITERS = 50
MERGE = {"content-type": "application/merge-patch+json"}


def _patch_writer(base_url: str, index: int) -> int:
    """Adds its own data key with a merge patch (the server re-applies it on a race)."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        response = client.patch(
            f"{BASE}/shared", json={"spec": {"data": {f"w{index}": str(index)}}}, headers=MERGE
        )
        assert response.status_code == 200, response.text
        return int(response.json()["metadata"]["resourceVersion"])


def _if_match_writer(base_url: str, index: int) -> int:
    """Read-modify-write with If-Match, retrying on 412 as a careful client does."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for _ in range(200):
            current = client.get(f"{BASE}/shared").json()
            body = {"metadata": current["metadata"], "spec": current["spec"]}
            body["spec"]["featureFlags"][f"f{index}"] = True
            etag = f'"{current["metadata"]["resourceVersion"]}"'
            response = client.put(f"{BASE}/shared", json=body, headers={"if-match": etag})
            if response.status_code == 200:
                return int(response.json()["metadata"]["resourceVersion"])
            assert response.status_code == 412, response.text
    raise AssertionError("writer never got its turn")


def test_fifty_writers_on_one_key_lose_nothing(live_url: str, engine: Engine) -> None:
    with httpx.Client(base_url=live_url) as client:
        assert client.post(BASE, json=appconfig("shared")).status_code == 201
    with ThreadPoolExecutor(WRITERS) as pool:
        patches = [pool.submit(_patch_writer, live_url, i) for i in range(WRITERS // 2)]
        puts = [pool.submit(_if_match_writer, live_url, i) for i in range(WRITERS // 2)]
        versions = [f.result() for f in patches + puts]

    assert len(set(versions)) == WRITERS, "two accepted writes share a version"
    revisions = list_revisions(engine, namespace="default", name="shared")
    assert len(revisions) == WRITERS + 1
    assert set(versions) <= {r.seq for r in revisions}
    with httpx.Client(base_url=live_url) as client:
        final = client.get(f"{BASE}/shared").json()["spec"]
    assert set(final["data"]) == {f"w{i}" for i in range(WRITERS // 2)}
    assert set(final["featureFlags"]) == {f"f{i}" for i in range(WRITERS // 2)}
    assert_tables_consistent(engine)


def _key_writer(base_url: str, index: int) -> None:
    name = f"key-{index}"
    with httpx.Client(base_url=base_url, timeout=60) as client:
        assert client.post(BASE, json=appconfig(name)).status_code == 201
        for replicas in range(2, 5):
            response = client.patch(
                f"{BASE}/{name}", json={"spec": {"replicas": replicas}}, headers=MERGE
            )
            assert response.status_code == 200, response.text
        if index % 5 == 0:
            assert client.delete(f"{BASE}/{name}").status_code == 200


def test_fifty_writers_on_many_keys(live_url: str, engine: Engine) -> None:
    with ThreadPoolExecutor(WRITERS) as pool:
        for future in [pool.submit(_key_writer, live_url, i) for i in range(WRITERS)]:
            future.result()
    for index in range(WRITERS):
        revisions = list_revisions(engine, namespace="default", name=f"key-{index}")
        assert len(revisions) == (5 if index % 5 == 0 else 4)
    assert_tables_consistent(engine)
