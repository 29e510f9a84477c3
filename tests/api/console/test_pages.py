"""The console driven in Chromium against the real pipeline: forms with the API's field
errors, live phase badges, stale edits, history diffs, delete, and a failure replayed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page, expect

from tests.api.console.conftest import Console, sign_in
from tests.support.builders import body
from tests.support.pipeline import Pipeline

#: The labels of the AppConfigs the console tests create.
SHOP = {"team": "shop"}
DOCS_IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"
CR_PATH = "/apis/rendersync.dev/v1alpha1/namespaces/.*/appconfigs"


async def open_console(context: BrowserContext, console: Console, fragment: str = "#/") -> Page:
    page = await context.new_page()
    await page.goto(f"{console.url}/ui/{fragment}")
    return page


def row(page: Page, pipe: Pipeline, name: str) -> Any:
    return page.locator(f'tr[data-key="{pipe.ns}/{name}"]')


async def test_create_watch_edit_stale_diff_delete(
    pipe: Pipeline, console: Console, browser: BrowserContext
) -> None:
    page = await open_console(browser, console, f"#/new?namespace={pipe.ns}")
    await sign_in(page, console, console.admin, "admin")
    await page.get_by_label("Name", exact=True).fill("web")
    await page.get_by_label("App", exact=True).fill("web")
    await page.get_by_label("Environment").select_option("prod")
    await page.get_by_label("Replicas").fill("1")
    await page.get_by_label("Labels").fill("team=shop\ntier=frontend")
    await page.get_by_role("button", name="Create").click()
    replicas_error = page.locator('[data-field="replicas"] .field-error')
    await expect(replicas_error).to_be_visible()
    await expect(replicas_error).to_contain_text("prod")
    await expect(page.get_by_label("Replicas")).to_have_attribute("aria-invalid", "true")

    await page.get_by_label("Replicas").fill("3")
    await page.get_by_role("button", name="Create").click()
    await expect(page.get_by_text("synced to every target")).to_be_visible()
    await expect(page.locator("h1")).to_have_text(f"{pipe.ns}/web")

    for name, env in (("api", "staging"), ("worker", "dev")):
        await pipe.api.post(pipe.base, json=body(name, labels=SHOP, environment=env, replicas=2))
    await page.goto(f"{console.url}/ui/#/?namespace={pipe.ns}")
    await expect(row(page, pipe, "worker").locator(".badge")).to_have_text("Synced")
    await page.evaluate("window.notReloaded = true")

    # Another writer (an API without the console, as another replica would be), with the
    # worker stopped: the badge follows the database, not this page's own writes.
    await pipe.stop("worker")
    changed = await pipe.api.patch(
        f"{pipe.base}/web",
        json={"spec": {"replicas": 4}},
        headers={"content-type": "application/merge-patch+json"},
    )
    assert changed.status_code == 200
    badge = row(page, pipe, "web").locator(".badge")
    await expect(badge).to_have_text("Syncing")
    pipe.start_worker()
    await expect(badge).to_have_text("Synced", timeout=30_000)
    assert await page.evaluate("window.notReloaded") is True
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(DOCS_IMAGES / "console-list.png"))

    # A stale edit: someone else writes while the form is open.
    await row(page, pipe, "web").get_by_role("link", name="web").click()
    await page.get_by_role("link", name="Edit").click()
    await expect(page.get_by_label("Replicas")).to_have_value("4")
    await pipe.api.patch(
        f"{pipe.base}/web",
        json={"spec": {"replicas": 5}},
        headers={"content-type": "application/merge-patch+json"},
    )
    await page.get_by_label("Replicas").fill("6")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("changed since you opened it")).to_be_visible()
    await page.get_by_role("button", name="Load the current version").click()
    await expect(page.get_by_label("Replicas")).to_have_value("5")
    await page.get_by_label("Replicas").fill("6")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("synced to every target")).to_be_visible()

    # The detail: history by who, a diff of the last two versions, targets, the timeline.
    history = page.locator("form.history tbody tr")
    await expect(history).to_have_count(4)
    await expect(history.nth(0)).to_contain_text("admin")
    await expect(history.nth(1)).to_contain_text("system:anonymous")
    await page.get_by_role("button", name="Show diff").click()
    await expect(page.locator(".diff del")).to_contain_text(["replicas: 5"])
    await expect(page.locator(".diff ins")).to_contain_text(["replicas: 6"])
    await page.get_by_label("Compare from version", exact=False).last.check()
    await page.get_by_role("button", name="Show diff").click()
    await expect(page.locator(".diff del")).to_contain_text(["replicas: 3"])
    await expect(page.locator('tr[data-target="kubernetes"]')).to_contain_text("resourceVersion")
    await expect(page.locator('tr[data-target="git"]')).to_contain_text("commit")
    latest = (await pipe.api.get(f"{pipe.base}/web")).json()["metadata"]["resourceVersion"]
    await expect(page.locator("svg.timeline")).to_have_attribute(
        "aria-label",
        f"4 version(s) committed; git holds version {latest} (synced); "
        f"kubernetes holds version {latest} (synced)",
    )
    await expect(page.get_by_role("link", name="in the Temporal Web UI")).to_have_attribute(
        "href", f"http://ui.test/namespaces/default/workflows/appconfig%3A{pipe.ns}%2Fweb"
    )
    await expect(page.locator("pre.command").first).to_contain_text("curl -s -H")
    await page.screenshot(path=str(DOCS_IMAGES / "console-detail.png"), full_page=True)

    await page.get_by_role("button", name="Delete", exact=True).click()
    await page.get_by_role("button", name="Delete for good").click()
    await expect(page.get_by_text(f"Deleted {pipe.ns}/web")).to_be_visible()
    await expect(row(page, pipe, "web")).to_have_count(0)
    await expect(row(page, pipe, "api")).to_have_count(1)


async def test_a_failure_is_shown_and_replayed_by_an_admin(
    pipe: Pipeline, console: Console, browser: BrowserContext
) -> None:
    pipe.emulator.faults.add(method="POST", path_regex=CR_PATH, status=422, count=1)
    created = await pipe.api.post(pipe.base, json=body("strict", labels=SHOP))
    assert created.status_code == 201
    page = await open_console(browser, console, f"#/appconfigs/{pipe.ns}/strict")
    await sign_in(page, console, console.editor, "eve")
    title_badge = page.locator(".title .badge")
    await expect(title_badge).to_have_text("Failed", timeout=30_000)
    kube = page.locator('tr[data-target="kubernetes"]')
    await expect(kube).to_contain_text("422")
    await expect(kube.locator("td").last).to_have_text("1")

    await page.get_by_role("button", name="Replay sync").click()
    await expect(page.get_by_text("Replay needs the admin role")).to_be_visible()
    await expect(title_badge).to_have_text("Failed")

    await sign_in(page, console, console.admin, "admin")
    await page.get_by_role("button", name="Replay sync").click()
    await expect(page.get_by_text("Replay: retry signalled.")).to_be_visible()
    await expect(title_badge).to_have_text("Synced", timeout=30_000)
    await expect(kube).not_to_contain_text("422")
