"""Secrets stay out: canary values sent through every input that could carry one (a refused
secret-looking data key, an API token, JWTs, a spoofed identity header) appear nowhere the
pipeline writes: the database, Kafka, the Git repository, the custom resource, the logs."""

from __future__ import annotations

import json
import logging
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import Engine, inspect, text

from api.web.auth.oidc import KeyCache, OidcAuthenticator, OidcOptions, file_source
from api.web.auth.tokenauth import ApiTokenAuthenticator
from tests.api.auth.conftest import (
    AUDIENCE,
    ISSUER,
    Issuer,
    appconfig,
    auth_app,
    bearer,
    token_for,
    user,
)
from tests.support.pipeline import Pipeline
from tests.support.waiting import eventually


def database_text(engine: Engine) -> str:
    with engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        rows = [str(r) for t in tables for r in conn.execute(text(f'SELECT * FROM "{t}"'))]
    return "\n".join(rows)


async def kafka_text(pipe: Pipeline) -> str:
    consumer = AIOKafkaConsumer(
        pipe.topic, bootstrap_servers=pipe.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=5_000, max_records=1000)
    finally:
        await consumer.stop()
    records = [r for batch in batches.values() for r in batch]
    assert records, "no change event was read"
    return "\n".join(f"{r.key!r} {r.value!r} {r.headers!r}" for r in records)


def git_text(remote: Path) -> str:
    argv = ["git", "--git-dir", str(remote), "log", "-p", "--all", "--format=%H %an %ae %B"]
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout


async def cluster_text(pipe: Pipeline) -> str:
    async with httpx.AsyncClient(base_url=pipe.emulator.url) as http:
        return (await http.get("/apis/rendersync.dev/v1alpha1/appconfigs")).text


@pytest.mark.timeout(180)
async def test_canaries_appear_nowhere(
    pipe: Pipeline, issuer: Issuer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = f"canary{uuid.uuid4().hex}"
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(issuer.jwks()))
    oidc = OidcAuthenticator(
        OidcOptions(issuer=ISSUER, audience=AUDIENCE, algorithms=("RS256",)),
        KeyCache(file_source(jwks), min_refresh_s=0),
    )
    app = auth_app(
        pipe.engine,
        authenticators=(ApiTokenAuthenticator(pipe.engine), oidc),
        bindings=(user("editor", "alice"), user("editor", "carol")),
    )
    token = token_for(pipe.engine, "alice")
    base = pipe.base
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
        secretish = appconfig("leak", data={"DB_PASSWORD": canary})
        assert (await api.post(base, json=secretish, headers=bearer(token))).status_code == 422
        for credential in (
            f"rst_{uuid.uuid4().hex[:12]}_{canary}",
            issuer.token(sub=canary, exp=1_000_000, iat=999_000),
            issuer.token(aud=canary),
            canary,
        ):
            assert (await api.get(base, headers=bearer(credential))).status_code == 401
        spoofed = {**bearer(token), "x-remote-user": canary, "x-remote-group": canary}
        created = await api.post(base, json=appconfig("web"), headers=spoofed)
        assert created.status_code == 201, created.text
        with_claim = issuer.token(note=canary)  # a valid JWT carrying a canary claim
        patched = await api.patch(
            f"{base}/web",
            json={"spec": {"replicas": 3}},
            headers={**bearer(with_claim), "content-type": "application/merge-patch+json"},
        )
        assert patched.status_code == 200, patched.text
    version = int(patched.json()["metadata"]["resourceVersion"])
    await eventually(lambda: pipe.converged("web", version), what="web synced to both targets")

    places = {
        "database": database_text(pipe.engine),
        "kafka": await kafka_text(pipe),
        "git": git_text(pipe.remote),
        "custom resource": await cluster_text(pipe),
        "logs": "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records),
    }
    assert "alice" in places["database"]
    assert "carol" in places["database"]
    assert "web" in places["custom resource"]
    assert "web" in places["git"]
    leaked = [where for where, content in places.items() if canary in content]
    assert leaked == []
