"""Verify with a code, fill a knapsack ballot watching the budget meter, cast, read the receipt;
the same with the keyboard alone, every focused control showing its focus, and without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import select

from ballots import verification
from ballots.models import Ballot
from pb.settings import Settings
from tests.ballots.voting_city import PASSWORD, build_city
from tests.browser.conftest import SeededServer, in_thread, running_server
from tests.browser.steps import sign_in, submit_voting_code

pytestmark = pytest.mark.browser


async def _seed(session: Any, settings: Settings) -> dict[str, Any]:
    city = await build_city(session, settings, tag="browser")
    codes = await verification.generate_codes(
        session, settings, city.admin, city.process.id, city.north.id, 4
    )
    return {
        "slug": city.process.slug,
        "north": city.north.id,
        "email": city.voters[0].email,
        "code": codes[0],
        "email2": city.voters[1].email,
        "code2": codes[1],
        "email3": city.voters[2].email,
        "code3": codes[2],
        "email4": city.voters[3].email,
        "code4": codes[3],
    }


@pytest.fixture(scope="module")
def voting_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededServer]:
    with running_server(tmp_path_factory.mktemp("voting"), _seed) as started:
        yield started


def test_verify_fill_knapsack_cast_and_receipt(voting_server: SeededServer, page: Any) -> None:
    from playwright.sync_api import expect

    server, seeded = voting_server
    sign_in(page, server, seeded["email"], PASSWORD)

    page.goto(f"{server.url}/processes/{seeded['slug']}/vote")
    submit_voting_code(page, seeded["code"].lower().replace("-", " "))
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

    async def stored(session: Any) -> list[Ballot]:
        return list((await session.exec(select(Ballot))).all())

    rows = in_thread(server.settings, stored)
    assert len(rows) == 1
    assert rows[0].receipt_hash == verification.receipt_hash(receipt)
    assert rows[0].channel == "online"


def test_voting_pages_have_no_serious_accessibility_violations(
    voting_server: SeededServer,
    new_page: Callable[..., Any],
    axe_source: str,
) -> None:
    from tests.browser.test_accessibility import violations

    server, seeded = voting_server
    problems: dict[str, list[str]] = {}
    # The page's CSP forbids injected scripts; the checker is let in for this context.
    page = new_page(bypass_csp=True)
    sign_in(page, server, seeded["email2"], PASSWORD)
    page.goto(f"{server.url}/processes/{seeded['slug']}/vote")
    problems["verify"] = violations(page, axe_source)
    submit_voting_code(page, "AAAA-BBBB")
    page.locator(".error-summary").wait_for()
    problems["verify (errors)"] = violations(page, axe_source)
    submit_voting_code(page, seeded["code2"])
    page.get_by_role("link", name="Vote in North").click()
    page.get_by_label("North project 1").check()
    page.locator("#ballot-meter").get_by_text("0.40 EUR left").wait_for()
    problems["ballot"] = violations(page, axe_source)
    page.get_by_role("button", name="Review my ballot").click()
    problems["review"] = violations(page, axe_source)
    page.get_by_role("button", name="Cast my ballot").click()
    page.locator("#receipt-code").wait_for()
    problems["receipt"] = violations(page, axe_source)
    assert {name: found for name, found in problems.items() if found} == {}


def _tab_to(page: Any, name: str, limit: int = 80) -> None:
    """Press Tab until the focused control's accessible text contains ``name``; its focus must
    be visible (an outline or a shadow), as a keyboard user needs to see where they are."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const e = document.activeElement;
                const label = e.labels && e.labels.length ? e.labels[0].textContent : "";
                const s = getComputedStyle(e);
                const ring = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0)
                    || s.boxShadow !== "none";
                return [(e.textContent || "") + " " + label + " " + (e.value || ""), ring];
            }"""
        )
        if name in focused[0]:
            assert focused[1], f"no visible focus on {name!r}"
            return
    raise AssertionError(f"{name!r} not reached with Tab")


def test_a_ballot_can_be_cast_with_the_keyboard_alone(
    voting_server: SeededServer, page: Any
) -> None:
    from playwright.sync_api import expect

    server, seeded = voting_server
    page.goto(server.url + "/login")
    _tab_to(page, "E-mail address")
    page.keyboard.type(seeded["email3"])
    _tab_to(page, "Password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(server.url + "/")

    page.goto(f"{server.url}/processes/{seeded['slug']}/vote")
    _tab_to(page, "Voting code")
    page.keyboard.type(seeded["code3"])
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your account is verified")).to_be_visible()
    _tab_to(page, "Vote in North")
    page.keyboard.press("Enter")

    expect(page.locator("#ballot-meter")).to_contain_text("0 EUR of 1 EUR used")
    _tab_to(page, "North project 1")
    page.keyboard.press("Space")
    expect(page.locator("#ballot-meter")).to_contain_text("0.40 EUR left")
    _tab_to(page, "Review my ballot")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Review your ballot: North")).to_be_visible()
    _tab_to(page, "Cast my ballot")
    page.keyboard.press("Enter")
    expect(page.locator("#receipt-code")).to_be_visible()


def test_a_ballot_can_be_cast_without_javascript(
    voting_server: SeededServer, new_page: Callable[..., Any]
) -> None:
    """htmx only enhances: plain form posts verify, total the ballot, review and cast it."""
    from playwright.sync_api import expect

    server, seeded = voting_server
    page = new_page(java_script_enabled=False)
    sign_in(page, server, seeded["email4"], PASSWORD)
    page.goto(f"{server.url}/processes/{seeded['slug']}/vote")
    submit_voting_code(page, seeded["code4"])
    expect(page.get_by_text("Your account is verified")).to_be_visible()
    page.get_by_role("link", name="Vote in North").click()

    page.get_by_label("North project 1").check()
    page.get_by_label("North project 3").check()
    page.get_by_role("button", name="Update totals").click()  # the server totals the choice
    expect(page.locator("#ballot-meter")).to_contain_text("0.20 EUR left")
    expect(page.get_by_label("North project 1")).to_be_checked()
    page.get_by_label("North project 2").check()  # over budget: the review refuses it
    page.get_by_role("button", name="Review my ballot").click()
    expect(page.locator(".error-summary")).to_contain_text("budget")
    page.get_by_label("North project 2").uncheck()
    page.get_by_role("button", name="Review my ballot").click()
    expect(page.get_by_role("heading", name="Review your ballot: North")).to_be_visible()
    page.get_by_role("button", name="Cast my ballot").click()
    receipt = page.locator("#receipt-code").inner_text()

    async def stored(session: Any) -> list[Ballot]:
        digest = verification.receipt_hash(receipt)
        return list((await session.exec(select(Ballot).where(Ballot.receipt_hash == digest))).all())

    [ballot] = in_thread(server.settings, stored)
    assert ballot.channel == "online"
