"""Failure classification and fault injection: transient errors retry, permanent ones fail
fast, through both the Python and the HTTP fault API of the emulator."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config.config_exception import ConfigException

from k8s.applying import apply_appconfig, read_appconfig
from k8s.errors import PermanentKubernetesError, TransientKubernetesError, kubernetes_failure_kind
from rendersync.devstack.k8semulator import Emulator
from tests.k8s.helpers import appconfig

T = TypeVar("T")


async def _retrying(op: Callable[[], Awaitable[T]], *, attempts: int = 5) -> tuple[T, int]:
    """What the workflow's retry policy does, minus the backoff."""
    for attempt in range(1, attempts + 1):
        try:
            return await op(), attempt
        except Exception as exc:
            if kubernetes_failure_kind(exc) == "permanent" or attempt == attempts:
                raise
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (500, "transient"),
        (503, "transient"),
        (504, "transient"),
        (429, "transient"),
        (409, "transient"),
        (410, "transient"),
        (400, "permanent"),
        (401, "permanent"),
        (403, "permanent"),
        (404, "permanent"),
        (422, "permanent"),
    ],
)
def test_classify_statuses(status: int, expected: str) -> None:
    assert kubernetes_failure_kind(ApiException(status=status)) == expected


def test_classify_other_failures() -> None:
    assert kubernetes_failure_kind(TimeoutError()) == "transient"
    assert kubernetes_failure_kind(aiohttp.ServerDisconnectedError()) == "transient"
    assert kubernetes_failure_kind(ConnectionRefusedError()) == "transient"
    assert kubernetes_failure_kind(ConfigException("no kubeconfig")) == "permanent"
    assert kubernetes_failure_kind(TransientKubernetesError("x")) == "transient"
    assert kubernetes_failure_kind(PermanentKubernetesError("x")) == "permanent"


async def test_500_then_success(emulator: Emulator, api: client.ApiClient) -> None:
    fault = emulator.faults.add(method="PATCH", path_regex="/appconfigs/web", status=500, count=1)
    outcome, attempts = await _retrying(
        lambda: apply_appconfig(api, cr=appconfig("default", "web"))
    )
    assert (outcome.version, attempts, fault.hits) == (1, 2, 1)


async def test_invalid_object_fails_fast(api: client.ApiClient) -> None:
    bad = appconfig("default", "web", spec={"app": "web", "environment": "prod", "replicas": 1})
    with pytest.raises(PermanentKubernetesError, match=r"spec\.replicas") as caught:
        await _retrying(lambda: apply_appconfig(api, cr=bad))
    assert caught.value.status == 422


async def test_dropped_connection_and_timeout_are_transient(
    emulator: Emulator, api: client.ApiClient
) -> None:
    # aiohttp silently retries an idempotent request once when a pooled connection drops.
    emulator.faults.add(method="GET", path_regex="/appconfigs/", drop_connection=True, count=2)
    with pytest.raises(TransientKubernetesError):
        await read_appconfig(api, namespace="default", name="web")
    emulator.faults.add(method="GET", path_regex="/appconfigs/", latency_s=1.0, count=1)
    with pytest.raises(TransientKubernetesError):
        await read_appconfig(api, namespace="default", name="web", request_timeout_s=0.2)
    assert await read_appconfig(api, namespace="default", name="web") is None


async def test_http_fault_api(emulator: Emulator, api: client.ApiClient) -> None:
    async with aiohttp.ClientSession(base_url=emulator.url) as http:
        spec = {"method": "GET", "path_regex": "/appconfigs/web", "status": 503, "count": 2}
        async with http.post("/_emulator/faults", json=spec) as resp:
            assert resp.status == 201
        result, attempts = await _retrying(
            lambda: read_appconfig(api, namespace="default", name="web")
        )
        assert (result, attempts) == (None, 3)
        async with http.post("/_emulator/faults", json={"status": 403}) as resp:
            assert resp.status == 201
        with pytest.raises(PermanentKubernetesError):
            await read_appconfig(api, namespace="default", name="web")
        async with http.delete("/_emulator/faults") as resp:
            assert resp.status == 200
        async with http.get("/_emulator/faults") as resp:
            assert await resp.json() == []
