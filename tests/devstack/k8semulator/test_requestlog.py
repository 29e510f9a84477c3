"""The emulator's request log: each request is named by verb and resource as RBAC names it,
with the bearer token that tells clients apart, from Python and over HTTP."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from kubernetes_asyncio import client

from k8s.applying import apply_appconfig, delete_appconfig
from k8s.client import make_api_client
from k8s.reviews import AccessQuestion, review_access, review_token
from k8s.watching import list_appconfigs
from rendersync.devstack.k8semulator import Emulator, write_kubeconfig
from tests.k8s.helpers import appconfig
from vocabulary import GROUP


def _seen(emulator: Emulator, user: str) -> list[tuple[str, str, str | None]]:
    return [
        (r.verb, r.resource, r.subresource) for r in emulator.requests.entries() if r.user == user
    ]


async def test_verbs_and_resources_are_recorded_per_token(
    emulator: Emulator, api: client.ApiClient, tmp_path: Path
) -> None:
    other = write_kubeconfig(tmp_path / "other", emulator.url, token="someone-else")
    async with await make_api_client(kubeconfig=other, context=None) as second:
        await client.CoreV1Api(second).list_namespace()
    emulator.requests.clear()
    cr = appconfig("default", "web")
    await apply_appconfig(api, cr=cr)
    await list_appconfigs(api, namespace=None)
    await delete_appconfig(api, namespace="default", name="web", version=1)
    seen = _seen(emulator, "emulator")
    assert ("create", "appconfigs", None) in seen, seen
    assert ("patch", "appconfigs", None) in seen, seen
    assert ("get", "appconfigs", None) in seen, seen
    assert ("list", "appconfigs", None) in seen, seen
    assert ("delete", "appconfigs", None) in seen, seen
    assert {r.group for r in emulator.requests.entries()} == {GROUP}
    assert not _seen(emulator, "someone-else"), "clear() keeps nothing"


async def test_watch_status_and_non_resource_urls(emulator: Emulator) -> None:
    base = f"{emulator.url}/apis/{GROUP}/v1alpha1"
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer t1"}) as http:
        await (await http.get(f"{emulator.url}/version")).read()
        async with http.get(f"{base}/appconfigs?watch=true&timeoutSeconds=1") as watch:
            await watch.read()
        await (await http.patch(f"{base}/namespaces/ns/appconfigs/x/status", json={})).read()
        listing = await (await http.get(f"{emulator.url}/_emulator/requests")).json()
    seen = [(e["verb"], e["resource"], e["subresource"], e["namespace"]) for e in listing]
    assert seen == [
        ("get", "", None, None),
        ("watch", "appconfigs", None, None),
        ("patch", "appconfigs", "status", "ns"),
    ], listing
    assert {e["user"] for e in listing} == {"t1"}


async def test_reviews_are_recorded_as_the_resources_rbac_grants(
    emulator: Emulator, tmp_path: Path
) -> None:
    """TokenReview and SubjectAccessReview are ``create`` on cluster-scoped resources, as the
    API server names them (a ClusterRole grants them that way)."""
    config = write_kubeconfig(tmp_path / "reviewer", emulator.url, token="reviewer")
    async with await make_api_client(kubeconfig=config, context=None) as reviewer:
        await review_token(reviewer, token="t", audiences=())
        question = AccessQuestion("u", (), "get", "ns", GROUP, "appconfigs", "history")
        await review_access(reviewer, question)
    seen = [
        (r.verb, r.group, r.resource, r.subresource, r.namespace)
        for r in emulator.requests.entries()
        if r.user == "reviewer"
    ]
    assert seen == [
        ("create", "authentication.k8s.io", "tokenreviews", None, None),
        ("create", "authorization.k8s.io", "subjectaccessreviews", None, None),
    ]
