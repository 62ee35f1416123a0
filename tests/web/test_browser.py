"""A person's path through the app in Debian's headless Chromium (Playwright, no downloaded browser):
sign in, open the inbox, open an issue, change its status, see the history entry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from webtests import ROOT, create_issue, server_fixture, store_fixture, tokens_fixture, world_fixture

FIXTURES = (server_fixture, store_fixture, tokens_fixture, world_fixture)  # pytest finds them here by name
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUT = ROOT / "test-output" / "web"

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI is set but /usr/bin/chromium is missing (.ci/run installs the chromium package)")
        pytest.skip("no /usr/bin/chromium on this machine (apt-get install chromium); CI installs it")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def test_triage_an_issue_in_the_browser(browser, web_server, web_tokens, web_store):
    issue_id = create_issue(web_store, priority="P0", title="Photo share of impressions down 34% in JP")
    OUT.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    offsite: list[str] = []
    page.on("request", lambda req: offsite.append(req.url) if not req.url.startswith(web_server.url) else None)

    page.goto(f"{web_server.url}/issues")
    assert page.url.endswith("/login?next=/issues")
    page.fill("input[name=token]", web_tokens["analyst"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{web_server.url}/issues")
    inbox = page.get_by_test_id("inbox")
    assert inbox.get_by_text("Photo share of impressions down 34% in JP").count() == 1
    page.screenshot(path=str(OUT / "inbox.png"), full_page=True)

    page.get_by_role("link", name="Photo share of impressions down 34% in JP").click()
    page.wait_for_selector("#plot-series .main-svg")  # Plotly drew the chart from the app's own JS
    assert page.get_by_test_id("status").inner_text().startswith("new")
    page.select_option("select[name=status]", "investigating")
    page.fill("input[name=note]", "checking the JP policy change")
    page.get_by_role("button", name="Change status").click()
    page.wait_for_load_state()
    history = page.get_by_test_id("history")
    history.get_by_text("checking the JP policy change").wait_for()
    assert "web:analyst-user" in history.inner_text()
    assert "new → investigating" in history.inner_text()
    assert page.get_by_test_id("status").inner_text().startswith("investigating")
    page.screenshot(path=str(OUT / f"issue-{issue_id}.png"), full_page=True)

    page.goto(f"{web_server.url}/")
    page.wait_for_selector("#plot-formats .main-svg")
    page.screenshot(path=str(OUT / "overview.png"), full_page=True)
    page.close()
    assert errors == []
    assert offsite == [], f"the app loaded {offsite[:3]} from elsewhere"
    assert (OUT / "inbox.png").stat().st_size > 10_000
