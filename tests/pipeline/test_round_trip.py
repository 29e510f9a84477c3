"""Create, update, delete and recreate flow through relay, bridge and workflow to both targets."""

from __future__ import annotations

from tests.support.builders import body
from tests.support.pipeline import Pipeline, version_in_yaml
from tests.support.waiting import eventually


async def synced(pipe: Pipeline, name: str, version: int) -> bool:
    cr = await pipe.live_cr(name)
    text = pipe.git_file(name)
    if cr is None or text is None:
        return False
    return int(cr["metadata"]["annotations"]["rendersync.dev/version"]) == version and (
        version_in_yaml(text) == version
    )


async def test_create_update_delete_recreate(pipe: Pipeline) -> None:
    created = (await pipe.api.post(pipe.base, json=body("web", replicas=2))).json()
    v1 = int(created["metadata"]["resourceVersion"])
    await eventually(lambda: synced(pipe, "web", v1), what="create applied to both targets")
    cr = await pipe.live_cr("web")
    assert cr is not None
    assert cr["spec"]["replicas"] == 2
    assert cr["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "rendersync"

    status = (
        await pipe.api.get(f"{pipe.base}/web", params={"wait": "synced", "timeout": "20s"})
    ).json()
    assert status["status"]["phase"] == "Synced"
    assert status["status"]["appliedVersion"] == v1
    assert status["status"]["targets"]["git"]["commit"]

    updated = await pipe.api.patch(
        f"{pipe.base}/web",
        json={"spec": {"replicas": 5}},
        headers={"content-type": "application/merge-patch+json"},
        params={"wait": "synced", "timeout": "30s"},
    )
    assert updated.status_code == 200, updated.text
    v2 = int(updated.json()["metadata"]["resourceVersion"])
    assert updated.json()["status"]["appliedVersion"] == v2
    cr = await pipe.live_cr("web")
    assert cr is not None
    assert cr["spec"]["replicas"] == 5
    assert cr["status"]["observedVersion"] == v2

    deleted = await pipe.api.delete(f"{pipe.base}/web", params={"wait": "synced", "timeout": "30s"})
    assert deleted.status_code == 200, deleted.text

    async def gone() -> bool:
        return await pipe.live_cr("web") is None and pipe.git_file("web") is None

    await eventually(gone, what="CR and Git file removed")
    statuses = await pipe.api.get(f"{pipe.base}/web")
    assert statuses.status_code == 404

    recreated = (await pipe.api.post(pipe.base, json=body("web", replicas=1))).json()
    v4 = int(recreated["metadata"]["resourceVersion"])
    await eventually(lambda: synced(pipe, "web", v4), what="recreate applied")
    assert pipe.git_versions("web") == [v1, v2, v4]
