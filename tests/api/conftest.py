"""Fixtures for the REST API: a migrated database (SQLite and PostgreSQL) and clients."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.web.app import create_app
from rendersync.devstack.services.childprocesses import free_port
from tests.support.builders import body
from tests.support.waiting import wait_until

BASE = "/api/v1/namespaces/default/appconfigs"


#: The body of a create request as ``kubectl`` sends it (``apiVersion`` and ``kind`` included).
appconfig = functools.partial(body, typed=True)


@pytest.fixture
def engine(db_engine: Engine) -> Engine:
    return db_engine


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    return create_app(engine=engine, targets=("kubernetes", "git"), ui_url="http://ui.test")


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """The app served by a real uvicorn on a free loopback port, for concurrent clients."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def started() -> bool:
        assert thread.is_alive(), "uvicorn exited during start"
        return bool(server.started)

    wait_until(started, timeout_s=20, what="uvicorn to start")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
