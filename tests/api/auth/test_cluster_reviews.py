"""Kubernetes delegation against the emulator: ServiceAccount tokens through TokenReview,
authorization through SubjectAccessReview (cached briefly, failing closed)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from kubernetes_asyncio import client
from sqlalchemy import Engine

from api.web.app import create_app
from api.web.auth.config import AuthConfig
from api.web.auth.installing import close_auth
from api.web.auth.policy import PolicyAuthorizer
from api.web.auth.sar import SubjectAccessReviewAuthorizer
from api.web.auth.tokenauth import ApiTokenAuthenticator
from api.web.auth.tokenreview import TokenReviewAuthenticator
from k8s.client import make_api_client
from rendersync.devstack.k8semulator import Emulator, running_emulator
from tests.api.auth.conftest import appconfig, bearer, items

SA_TOKEN = "eyJhbGciOiJSUzI1NiJ9.sa-token-of-the-cluster.sig"
SA_USER = "system:serviceaccount:ci:deployer"


@pytest_asyncio.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[Emulator]:
    async with running_emulator(kubeconfig_out=tmp_path / "kubeconfig") as emu:
        yield emu


def app_for(engine: Engine, emu: Emulator, *, ttl_s: float = 30.0) -> Any:
    async def kube() -> client.ApiClient:
        return await make_api_client(kubeconfig=emu.kubeconfig_path, context=None)

    config = AuthConfig(
        authenticators=(
            ApiTokenAuthenticator(engine),
            TokenReviewAuthenticator(kube, audiences=()),
        ),
        authorizers=(
            PolicyAuthorizer(file_bindings=(), engine=engine),
            SubjectAccessReviewAuthorizer(kube, ttl_s=ttl_s),
        ),
    )
    return create_app(engine=engine, targets=("kubernetes",), ui_url="http://ui", auth=config)


@contextlib.asynccontextmanager
async def api_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
            yield api
    finally:
        await close_auth(app.state.authentication.config)


async def test_service_account_token_and_sar(engine: Engine, emulator: Emulator) -> None:
    emulator.reviews.add_token(SA_TOKEN, username=SA_USER, groups=["system:serviceaccounts"])
    emulator.reviews.add_access(user=SA_USER, verb="create", namespace="ci", allowed=True)
    emulator.reviews.add_access(
        user=SA_USER, verb="get", namespace="ci", subresource="history", allowed=True
    )
    async with api_client(app_for(engine, emulator)) as api:
        who = (await api.get("/api/v1/whoami", headers=bearer(SA_TOKEN))).json()["status"]
        assert who["userInfo"] == {"username": SA_USER, "groups": ["system:serviceaccounts"]}
        created = await api.post(items("ci"), json=appconfig("web"), headers=bearer(SA_TOKEN))
        assert created.status_code == 201, created.text
        history = await api.get(f"{items('ci')}/web/history", headers=bearer(SA_TOKEN))
        assert history.json()["items"][0]["actor"] == SA_USER
        denied = await api.delete(f"{items('ci')}/web", headers=bearer(SA_TOKEN))
        assert denied.status_code == 403
        elsewhere = await api.post(items("prod"), json=appconfig("web"), headers=bearer(SA_TOKEN))
        assert elsewhere.status_code == 403
        unknown = await api.get(items("ci"), headers=bearer("eyJ.unknown.token"))
        assert unknown.status_code == 401


async def test_sar_answers_are_cached(engine: Engine, emulator: Emulator) -> None:
    emulator.reviews.add_token(SA_TOKEN, username=SA_USER)
    emulator.reviews.add_access(user=SA_USER, verb="list", namespace="ci", allowed=True)
    async with api_client(app_for(engine, emulator, ttl_s=60)) as api:
        for _ in range(3):
            assert (await api.get(items("ci"), headers=bearer(SA_TOKEN))).status_code == 200
        assert emulator.reviews.access_reviews == 1
        emulator.reviews.access.clear()  # revoked in the cluster: still cached
        assert (await api.get(items("ci"), headers=bearer(SA_TOKEN))).status_code == 200


async def test_sar_fails_closed(engine: Engine, emulator: Emulator) -> None:
    emulator.reviews.add_token(SA_TOKEN, username=SA_USER)
    emulator.reviews.add_access(user=SA_USER, allowed=True)
    emulator.faults.add(method="POST", path_regex="subjectaccessreviews", status=500)
    async with api_client(app_for(engine, emulator, ttl_s=60)) as api:
        assert (await api.get(items("ci"), headers=bearer(SA_TOKEN))).status_code == 403
        emulator.faults.clear()
        # A failure is not cached: the next request asks again and is allowed.
        assert (await api.get(items("ci"), headers=bearer(SA_TOKEN))).status_code == 200


async def test_tokenreview_unreachable_is_401(engine: Engine, emulator: Emulator) -> None:
    emulator.reviews.add_token(SA_TOKEN, username=SA_USER)
    emulator.faults.add(method="POST", path_regex="tokenreviews", drop_connection=True)
    async with api_client(app_for(engine, emulator)) as api:
        assert (await api.get(items("ci"), headers=bearer(SA_TOKEN))).status_code == 401


async def test_emulator_review_rules_over_http(emulator: Emulator) -> None:
    async with httpx.AsyncClient(base_url=emulator.url) as http:
        added = await http.post(
            "/_emulator/subjectaccessreviews", json={"user": "u", "verb": "get", "allowed": True}
        )
        assert added.status_code == 201
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": "u", "resourceAttributes": {"verb": "get", "namespace": "x"}},
        }
        answer = await http.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review)
        assert answer.json()["status"]["allowed"] is True
        review["spec"]["resourceAttributes"]["verb"] = "delete"  # type: ignore[index]
        answer = await http.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review)
        assert answer.json()["status"]["allowed"] is False
        assert (await http.get("/_emulator/subjectaccessreviews")).json()["reviews"] == 2
