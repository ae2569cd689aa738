"""Verify with a code, fill a knapsack ballot watching the budget meter, cast, read the receipt."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from ballots import verification
from ballots.models import Ballot
from pb.db import create_engine, make_session_factory, session_scope
from pb.settings import Settings
from tests.ballots.voting_city import PASSWORD, build_city
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    SECRET,
    LiveServer,
    _free_port,
    _missing_browser,
)

pytestmark = pytest.mark.browser


async def _with_session(settings: Settings, fn: Any) -> Any:
    engine = create_engine(settings)
    try:
        async with session_scope(make_session_factory(engine)) as session:
            return await fn(session)
    finally:
        await engine.dispose()


async def _seed(session: Any, settings: Settings) -> dict[str, Any]:
    city = await build_city(session, settings, tag="browser")
    codes = await verification.generate_codes(
        session, settings, city.admin, city.process.id, city.north.id, 2
    )
    return {
        "slug": city.process.slug,
        "north": city.north.id,
        "email": city.voters[0].email,
        "code": codes[0],
        "email2": city.voters[1].email,
        "code2": codes[1],
    }


@pytest.fixture(scope="module")
def voting_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, Settings, dict[str, Any]]]:
    reason = _missing_browser()
    if reason:
        pytest.skip(reason)
    from pb import migrate

    directory = tmp_path_factory.mktemp("voting")
    env_values = {
        "PB_ENV": "test",
        "PB_DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'pb.sqlite3'}",
        "PB_SECRET_KEY": SECRET,
        "PB_ARGON2_TIME_COST": "1",
        "PB_ARGON2_MEMORY_COST": "64",
        "PB_MEDIA_DIR": str(directory / "media"),
    }
    settings = Settings.from_env(env_values)
    migrate.upgrade(settings)
    seeded = asyncio.run(_with_session(settings, lambda s: _seed(s, settings)))
    port = _free_port()
    log_path = directory / "server.log"
    env = {**os.environ, **env_values, "PYTHONPATH": str(ROOT)}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "web.asgi:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("server did not start:\n" + log_path.read_text(errors="replace"))
            time.sleep(0.1)
        yield LiveServer(url, log_path), settings, seeded
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_verify_fill_knapsack_cast_and_receipt(voting_server: Any) -> None:
    from playwright.sync_api import expect, sync_playwright

    server, settings, seeded = voting_server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(10_000)
            page.goto(server.url + "/login")
            page.get_by_label("E-mail address").fill(seeded["email"])
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(server.url + "/")

            page.goto(f"{server.url}/processes/{seeded['slug']}/vote")
            page.get_by_role("textbox", name="Voting code").fill(
                seeded["code"].lower().replace("-", " ")
            )
            page.get_by_role("button", name="Verify with my code").click()
            expect(page.get_by_text("Your account is verified")).to_be_visible()
            page.get_by_role("link", name="Vote in North").click()

            meter = page.locator("#ballot-meter")
            expect(meter).to_contain_text("0 EUR of 1 EUR used")
            page.get_by_label("North project 1").check()  # costs 60 of 100
            expect(meter).to_contain_text("0.40 EUR left")
            expect(page.locator("#budget-meter")).to_have_attribute("value", "60")
            page.get_by_label("North project 2").check()  # 30 more
            expect(meter).to_contain_text("0.10 EUR left")
            page.get_by_label("North project 3").check()  # 20 more: over budget
            expect(meter).to_contain_text("over budget")
            page.get_by_label("North project 2").uncheck()
            expect(meter).to_contain_text("0.20 EUR left")

            page.get_by_role("button", name="Review my ballot").click()
            expect(page.get_by_role("heading", name="Review your ballot: North")).to_be_visible()
            expect(page.locator("table.review-table")).to_contain_text("North project 3")
            page.get_by_role("button", name="Cast my ballot").click()
            code = page.locator("#receipt-code")
            expect(code).to_be_visible()
            receipt = code.inner_text()
            assert re.fullmatch(r"([2-9A-HJ-NP-Z]{4}-){3}[2-9A-HJ-NP-Z]{4}", receipt)
            page.reload()
            expect(page.get_by_text("Receipt already shown")).to_be_visible()
        finally:
            browser.close()

    async def stored(session: Any) -> list[Ballot]:
        return list((await session.exec(select(Ballot))).all())

    rows = asyncio.run(_with_session(settings, stored))
    assert len(rows) == 1
    assert rows[0].receipt_hash == verification.receipt_hash(receipt)
    assert rows[0].channel == "online"


def test_voting_pages_have_no_serious_accessibility_violations(
    voting_server: Any, axe_source: str
) -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser.test_accessibility import violations

    server, _, seeded = voting_server
    problems: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # The page's CSP forbids injected scripts; the checker is let in for this context.
            page = browser.new_context(bypass_csp=True).new_page()
            page.set_default_timeout(10_000)
            page.goto(server.url + "/login")
            page.get_by_label("E-mail address").fill(seeded["email2"])
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(server.url + "/")
            home = f"{server.url}/processes/{seeded['slug']}/vote"
            page.goto(home)
            problems["verify"] = violations(page, axe_source)
            page.get_by_role("textbox", name="Voting code").fill("AAAA-BBBB")
            page.get_by_role("button", name="Verify with my code").click()
            page.locator(".error-summary").wait_for()
            problems["verify (errors)"] = violations(page, axe_source)
            page.get_by_role("textbox", name="Voting code").fill(seeded["code2"])
            page.get_by_role("button", name="Verify with my code").click()
            page.get_by_role("link", name="Vote in North").click()
            page.get_by_label("North project 1").check()
            page.locator("#ballot-meter").get_by_text("0.40 EUR left").wait_for()
            problems["ballot"] = violations(page, axe_source)
            page.get_by_role("button", name="Review my ballot").click()
            problems["review"] = violations(page, axe_source)
            page.get_by_role("button", name="Cast my ballot").click()
            page.locator("#receipt-code").wait_for()
            problems["receipt"] = violations(page, axe_source)
        finally:
            browser.close()
    assert {name: found for name, found in problems.items() if found} == {}
