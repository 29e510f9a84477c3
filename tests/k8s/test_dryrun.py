"""Dry runs (``?dryRun=All``): the emulator answers as the write would and stores nothing;
``k8s.dryrun`` shows what an apply would change, a hand edit it would revert included."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from k8s.applying import apply_appconfig, read_appconfig
from k8s.dryrun import dry_run_apply
from k8s.errors import PermanentKubernetesError
from k8s.manifests import version_of
from tests.k8s.conftest import Cluster
from tests.k8s.helpers import appconfig, custom, get
from vocabulary import GROUP, PLURAL, VERSION

pytestmark = pytest.mark.realcluster

MERGE: dict[str, Any] = {"_content_type": "application/merge-patch+json"}


async def test_dry_run_apply_of_a_missing_object_creates_nothing(cluster: Cluster) -> None:
    cr = appconfig(cluster.namespace, "web", seq=3)
    answer = await dry_run_apply(cluster.api, cr=cr)
    assert answer.live is None
    assert answer.result["spec"] == cr["spec"]
    assert version_of(answer.result) == 3
    assert await read_appconfig(cluster.api, namespace=cluster.namespace, name="web") is None


async def test_dry_run_apply_reverts_a_hand_edit_without_writing(cluster: Cluster) -> None:
    await apply_appconfig(cluster.api, cr=appconfig(cluster.namespace, "web", seq=1))
    await custom(cluster.api).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        cluster.namespace,
        PLURAL,
        "web",
        {"spec": {"replicas": 9}},
        field_manager="kubectl-edit",
        **MERGE,
    )
    edited = await get(cluster.api, cluster.namespace, "web")
    answer = await dry_run_apply(cluster.api, cr=appconfig(cluster.namespace, "web", seq=2))
    assert answer.live is not None
    assert answer.live["spec"]["replicas"] == 9
    assert answer.result["spec"]["replicas"] == 1
    assert version_of(answer.result) == 2
    after = await get(cluster.api, cluster.namespace, "web")
    assert after["metadata"]["resourceVersion"] == edited["metadata"]["resourceVersion"]
    assert (after["spec"]["replicas"], version_of(after)) == (9, 1)


async def test_dry_run_apply_of_an_invalid_object_is_refused(cluster: Cluster) -> None:
    bad = appconfig(cluster.namespace, "web", spec={"app": "web", "environment": "nowhere"})
    with pytest.raises(PermanentKubernetesError) as refused:
        await dry_run_apply(cluster.api, cr=bad)
    assert refused.value.status == 422


async def test_dry_run_create_and_delete_store_nothing(cluster: Cluster) -> None:
    api = custom(cluster.api)
    cr = appconfig(cluster.namespace, "web")
    made = await api.create_namespaced_custom_object(
        GROUP, VERSION, cluster.namespace, PLURAL, cr, dry_run="All"
    )
    assert made["metadata"]["uid"]
    assert made["spec"] == cr["spec"]
    assert await read_appconfig(cluster.api, namespace=cluster.namespace, name="web") is None
    await apply_appconfig(cluster.api, cr=cr)
    await api.delete_namespaced_custom_object(
        GROUP, VERSION, cluster.namespace, PLURAL, "web", dry_run="All"
    )
    assert await read_appconfig(cluster.api, namespace=cluster.namespace, name="web")


async def test_an_unknown_dry_run_value_is_a_bad_request(cluster: Cluster) -> None:
    with pytest.raises(ApiException) as refused:
        await custom(cluster.api).create_namespaced_custom_object(
            GROUP,
            VERSION,
            cluster.namespace,
            PLURAL,
            appconfig(cluster.namespace, "web"),
            dry_run="Some",
        )
    assert refused.value.status == 400
    assert await read_appconfig(cluster.api, namespace=cluster.namespace, name="web") is None
