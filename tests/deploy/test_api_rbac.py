"""The API calls the cluster (TokenReview, SubjectAccessReview) only in the overlays that
include deploy/components/kubernetes-auth, and then holds exactly the role those calls need.

Measured as for the worker (test_rbac.py): the API runs as a real process with the auth
settings prod ships and a ServiceAccount token of its own against the emulator; every request
it makes while it authenticates cluster tokens and asks for access is allowed by the shipped
ClusterRole, and that role grants nothing it did not use. Without the component the API has
no role and no token.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from rendersync.devstack.k8semulator import write_kubeconfig
from tests.deploy.conftest import DEPLOY, OVERLAYS, build_overlay
from tests.deploy.objects import Obj, auth_modes, config, mounted_file, named, roles_bound_to
from tests.deploy.rbac import Grant, Rule, allows, grants, used
from tests.support.topology import Topology
from vocabulary import GROUP, PLURAL

Built = dict[str, list[Obj]]
API_TOKEN = "system:serviceaccount:rendersync:rendersync-api"
#: A client's cluster token, which only the emulator's TokenReview knows.
CI_TOKEN = "ci-deployer-service-account-token"
CI_USER = "system:serviceaccount:ci:deployer"
TOKENREVIEW: Grant = ("authentication.k8s.io", "tokenreviews", "create")
SAR: Grant = ("authorization.k8s.io", "subjectaccessreviews", "create")


def needed(objects: list[Obj]) -> set[Grant]:
    """What the overlay's auth settings make the API ask the cluster."""
    authenticators, sar = auth_modes(objects)
    found = {TOKENREVIEW} if "tokenreview" in authenticators else set()
    return found | ({SAR} if sar else set())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_api_holds_a_role_exactly_when_it_calls_the_cluster(built: Built, overlay: str) -> None:
    objects = built[overlay]
    roles = roles_bound_to(objects, "rendersync-api")
    account = named(objects, "ServiceAccount", "rendersync-api")
    pod = named(objects, "Deployment", "rendersync-api")["spec"]["template"]["spec"]
    wanted = needed(objects)
    # dev uses API tokens only; staging and prod include the component.
    assert bool(wanted) is (overlay != "dev"), (overlay, wanted)
    if not wanted:
        assert roles == [], "the API needs no role here"
        kinds = {o["kind"] for o in objects if o["metadata"]["name"] == "rendersync-api"}
        assert not kinds & {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}, kinds
        assert account["automountServiceAccountToken"] is False
        assert pod["automountServiceAccountToken"] is False
        return
    assert [r["kind"] for r in roles] == ["ClusterRole"], "reviews are cluster-scoped"
    assert grants(roles[0]["rules"]) == wanted
    assert account["automountServiceAccountToken"] is True
    assert pod["automountServiceAccountToken"] is True


def api_auth_env(objects: list[Obj], tmp_path: Path) -> dict[str, str]:
    """The overlay's ``RENDERSYNC_AUTH__*`` settings as the API pods get them; the policy
    file is written where this machine can read it, with the content the pods mount."""
    env = {k: v for k, v in config(objects).items() if k.startswith("RENDERSYNC_AUTH__")}
    policy = env.get("RENDERSYNC_AUTH__POLICY_FILE")
    if policy:
        local = tmp_path / "policy.yaml"
        local.write_text(mounted_file(objects, "api", policy), encoding="utf-8")
        env["RENDERSYNC_AUTH__POLICY_FILE"] = str(local)
    return env


def shipped_api_rules(objects: list[Obj]) -> list[Rule]:
    (role,) = roles_bound_to(objects, "rendersync-api")
    binding = named(objects, "ClusterRoleBinding", "rendersync-api")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "rendersync-api", "namespace": "rendersync"}
    ]
    rules: list[Rule] = role["rules"]
    return rules


async def _start(topology: Topology, objects: list[Obj], tmp_path: Path) -> str:
    env = api_auth_env(objects, tmp_path)
    authenticators, sar = auth_modes(objects)
    assert "tokenreview" in authenticators, "prod takes cluster tokens"
    assert sar, "prod asks the cluster for access"
    audiences = json.loads(env.get("RENDERSYNC_AUTH__TOKENREVIEW_AUDIENCES", "[]"))
    reviews = topology.emulator.reviews
    reviews.add_token(CI_TOKEN, username=CI_USER, groups=["ci"], audiences=audiences)
    # The cluster lets the deployer create and get AppConfigs there (not their history).
    for verb in ("create", "get"):
        reviews.add_access(
            user=CI_USER, verb=verb, namespace=topology.ns, group_name=GROUP,
            resource=PLURAL, subresource="", allowed=True,
        )  # fmt: skip
    topology.run_once("db-upgrade", "db", "upgrade")
    kubeconfig = write_kubeconfig(
        tmp_path / "api-kubeconfig", topology.emulator.url, token=API_TOKEN
    )
    return await topology.start_api("api", RENDERSYNC_KUBERNETES__KUBECONFIG=str(kubeconfig), **env)


async def _workload(topology: Topology, http: httpx.AsyncClient) -> None:
    base = f"/api/v1/namespaces/{topology.ns}/appconfigs"
    ci = {"Authorization": f"Bearer {CI_TOKEN}"}
    body = {
        "metadata": {"name": "web"},
        "spec": {"app": "web", "environment": "prod", "replicas": 2},
    }
    who = (await http.get("/api/v1/whoami", headers=ci)).json()["status"]
    assert (who["userInfo"]["username"], who["authenticator"]) == (CI_USER, "tokenreview")
    created = await http.post(base, json=body, headers=ci)
    assert created.status_code == 201, created.text
    assert (await http.get(f"{base}/web", headers=ci)).status_code == 200
    assert (await http.get(f"{base}/web/history", headers=ci)).status_code == 403
    assert (await http.delete(f"{base}/web", headers=ci)).status_code == 403
    unknown = {"Authorization": "Bearer not-a-token-the-cluster-knows"}
    assert (await http.get(base, headers=unknown)).status_code == 401
    # An API token with a local binding is decided without the cluster.
    asked = topology.emulator.reviews.token_reviews, topology.emulator.reviews.access_reviews
    admin = topology.admin_headers()
    assert (await http.get(f"{base}/web/history", headers=admin)).status_code == 200
    reviews = topology.emulator.reviews
    assert (reviews.token_reviews, reviews.access_reviews) == asked


@pytest.mark.timeout(120)
async def test_the_api_uses_exactly_what_its_cluster_role_grants(
    topology: Topology, tmp_path: Path
) -> None:
    objects = build_overlay(DEPLOY / "overlays" / "prod")
    rules = shipped_api_rules(objects)
    url = await _start(topology, objects, tmp_path)
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        await _workload(topology, http)
    requests = topology.emulator.requests.entries()
    assert requests, "the API asked the cluster"
    assert {r.user for r in requests} == {API_TOKEN}, "the API presented its own token"
    denied = sorted({(r.method, r.path, r.verb) for r in requests if not allows(rules, r)})
    assert denied == [], "requests the shipped ClusterRole would refuse"
    assert grants(rules) - used(requests) == set(), "granted but never used"
