"""The console in a real browser: the app built by ``create_app`` with authentication,
served by uvicorn on a loopback port next to the real pipeline, and Debian's Chromium
driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
import uvicorn
from playwright.async_api import BrowserContext, Page, async_playwright

from api.web.app import create_app
from api.web.auth.config import AuthConfig
from api.web.auth.policy import PolicyAuthorizer
from api.web.auth.tokenauth import ApiTokenAuthenticator
from persistence import apitokens
from persistence.rolebindings import USER, Binding
from tests.support.pipeline import Pipeline
from tests.support.waiting import eventually
from worker.redriving import redrive_key

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: the console reads through the same API code on both databases (the API
    suites run both), and the browser tests' time is better spent on the pages."""
    return sqlite_url


@dataclass(frozen=True)
class Console:
    url: str
    admin: str  #: a token bound to the admin role everywhere
    editor: str  #: a token bound to the editor role everywhere


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest_asyncio.fixture
async def console(pipe: Pipeline) -> AsyncIterator[Console]:
    engine = pipe.engine
    auth = AuthConfig(
        authenticators=(ApiTokenAuthenticator(engine),),
        authorizers=(
            PolicyAuthorizer(
                file_bindings=(
                    Binding("admin", "", USER, "admin"),
                    Binding("editor", "", USER, "eve"),
                ),
                engine=engine,
            ),
        ),
    )

    async def replayer(namespace: str, name: str, reason: str) -> tuple[str, int]:
        done = await redrive_key(
            client=pipe.client,
            engine=engine,
            namespace=namespace,
            name=name,
            task_queue=pipe.task_queue,
            options=pipe.options,
            reason=reason,
        )
        return done.action, done.version

    app = create_app(
        engine=engine,
        targets=pipe.options.targets,
        ui_url="http://ui.test",
        auth=auth,
        redriver=replayer,
    )
    port = _free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()  # it failed to start: raise why
        return bool(server.started)

    await eventually(started, timeout_s=30, what="the console's API server to listen")
    admin = apitokens.issue(engine, principal="admin", groups=[], expires_in=None).token
    editor = apitokens.issue(engine, principal="eve", groups=[], expires_in=None).token
    try:
        yield Console(url=f"http://127.0.0.1:{port}", admin=admin, editor=editor)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)


@pytest_asyncio.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
        )
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860},
        )
        context.set_default_timeout(20_000)
        try:
            yield context
        finally:
            await context.close()


async def sign_in(page: Page, console: Console, token: str, user: str) -> None:
    """Paste ``token`` into the page, as a user does."""
    await page.get_by_label("API token").fill(token)
    await page.get_by_role("button", name="Use token").click()
    await page.get_by_text(f"Signed in as {user}").wait_for()
