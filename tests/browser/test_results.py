"""A counted vote in a real browser: the result page, its chart, and "why did it lose?"."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from pb.db import create_engine, make_session_factory, session_scope
from results.service import ResultService, run_tally
from tests.browser.conftest import LiveServer
from tests.browser.steps import sign_in
from tests.results.city import PASSWORD, voted_city

pytestmark = pytest.mark.browser


def _seed_counted_vote(server: LiveServer) -> dict[str, Any]:
    settings = server.settings

    async def seed() -> dict[str, Any]:
        engine = create_engine(settings)
        try:
            factory = make_session_factory(engine)
            async with session_scope(factory) as session:
                voted = await voted_city(session, settings, tag="browser")
                await ResultService(session, settings).close_voting(
                    voted.city.admin, voted.process_id
                )
            await run_tally(factory, settings, voted.process_id)
            return {
                "slug": voted.city.process.slug,
                "north": voted.city.projects["north"],
                "process_id": voted.process_id,
                "admin": voted.city.admin.email,
            }
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:  # Playwright's sync API holds this loop
        return pool.submit(lambda: asyncio.run(seed())).result()


@pytest.fixture(scope="module")
def counted(live_server: LiveServer) -> dict[str, Any]:
    return _seed_counted_vote(live_server)


def test_result_page_and_why_it_lost(
    page: Any, live_server: LiveServer, counted: dict[str, Any]
) -> None:
    slug, north = counted["slug"], counted["north"]
    page.goto(f"{live_server.url}/results/{slug}")
    assert page.locator("h1").inner_text().startswith("Results:")
    assert page.locator("svg.chart title").first.text_content().startswith("Budget used in")
    page.get_by_role(
        "link", name="All projects, votes and the count round by round in North"
    ).click()
    page.wait_for_url(f"**/results/{slug}/north")
    assert page.get_by_role("table", name="Each step of the count in North").is_visible()
    # North project 2 (cost 30, no votes) lost: its explanation opens in place.
    link = page.get_by_role("link", name="Why did it lose? (North project 2)")
    link.click()
    box = page.locator(f"#why-{north[1]}")
    box.get_by_text("was not funded").wait_for()
    assert "North project 2" in box.inner_text()
    assert page.url.endswith(f"/results/{slug}/north")  # swapped in place, no navigation


def test_why_link_works_without_javascript(
    new_page: Callable[..., Any], live_server: LiveServer, counted: dict[str, Any]
) -> None:
    page = new_page(java_script_enabled=False)
    page.goto(f"{live_server.url}/results/{counted['slug']}/north")
    page.get_by_role("link", name="Why did it lose? (North project 2)").click()
    page.wait_for_url(f"**/why/{counted['north'][1]}")
    assert page.locator("h1").inner_text() == "Why did this project lose?"
    assert "was not funded" in page.locator("main").inner_text()


def test_result_pages_have_no_serious_accessibility_violations(
    new_page: Callable[..., Any],
    live_server: LiveServer,
    counted: dict[str, Any],
    axe_source: str,
) -> None:
    from tests.browser.test_accessibility import violations

    slug, north = counted["slug"], counted["north"]
    page = new_page(bypass_csp=True)  # let the checker script in
    problems = {}
    for path in (
        "/results",
        f"/results/{slug}",
        f"/results/{slug}/north",
        f"/results/{slug}/north/why/{north[1]}",
        "/results/receipt",
        "/results/public-key",
    ):
        page.goto(live_server.url + path)
        problems[path] = violations(page, axe_source)
    page.goto(live_server.url + "/results/receipt")
    page.get_by_label("Receipt code").fill("ZZZZ-ZZZZ-ZZZZ")
    page.get_by_role("button", name="Check").click()
    page.get_by_text("No published ballot has this receipt").wait_for()
    problems["/results/receipt (not found)"] = violations(page, axe_source)
    # The council page: status, rule comparison tables, certification forms.
    sign_in(page, live_server, counted["admin"], PASSWORD)
    page.goto(f"{live_server.url}/admin/results/{counted['process_id']}")
    assert page.get_by_role("button", name="Sign off this result").is_visible()
    problems["/admin/results/ID"] = violations(page, axe_source)
    assert {path: found for path, found in problems.items() if found} == {}
