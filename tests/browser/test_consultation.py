"""A verified resident answers a consultation with every kind of question, in a real browser.

The resident verifies with a voting code on the voting package's page, fills the form (radio
buttons, checkboxes, rank selects, a scale and a text box, no JavaScript needed), first makes a
mistake (the same rank twice) and sees it explained next to the question, then sends the form
and reads the receipt, which matches the stored response.
"""

from __future__ import annotations

import asyncio
import os
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
from consultations.models import ConsultationAnswer, ConsultationResponse
from consultations.service import ConsultationService
from pb.accounts import AccountService, Role
from pb.db import create_engine, make_session_factory, session_scope
from pb.processes import Phase, ProcessService
from pb.settings import Settings
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

PASSWORD = "consultation browser password 1"
EMAIL = "rosa@ask.test"
VERIFIED = "vera@ask.test"  # verified when seeded, for the accessibility check


async def _with_session(settings: Settings, fn: Any) -> Any:
    engine = create_engine(settings)
    try:
        async with session_scope(make_session_factory(engine)) as session:
            return await fn(session)
    finally:
        await engine.dispose()


async def _seed(session: Any, settings: Settings) -> dict[str, Any]:
    accounts = AccountService(session, settings)
    admin = await accounts.create_user("ada@ask.test", PASSWORD, [Role.ADMIN])
    await accounts.create_user(EMAIL, PASSWORD, [], display_name="Rosa Resident")
    vera = await accounts.create_user(VERIFIED, PASSWORD, [], display_name="Vera Verified")
    processes = ProcessService(session, settings)
    process = await processes.create(admin, {"name": "Bay asks", "kind": "consultation"})
    bay = await processes.add_district(admin, process.id, {"name": "Bay", "budget": 0})
    service = ConsultationService(session, settings)
    specs = [
        {"kind": "yes_no", "prompt": "Should the beach be car-free?", "required": "1"},
        {
            "kind": "single",
            "prompt": "Which lifeguard hours?",
            "options": "Mornings\nAfternoons\nAll day",
            "required": "1",
        },
        {
            "kind": "multiple",
            "prompt": "Which facilities do you use?",
            "options": "Showers\nToilets\nKiosk",
            "min": "1",
            "max": "2",
            "required": "1",
        },
        {
            "kind": "ranked",
            "prompt": "Rank the projects for the promenade.",
            "options": "Trees\nBenches\nLights",
            "top_k": "3",
            "required": "1",
        },
        {
            "kind": "scale",
            "prompt": "How clean is the beach?",
            "points": "5",
            "labels": "1 = Dirty\n5 = Spotless",
            "required": "1",
        },
        {"kind": "text", "prompt": "What else should we know?", "max_length": "200"},
    ]
    ids: dict[str, Any] = {}
    for spec in specs:
        q = await service.add_question(admin, process.id, spec)
        ids[spec["kind"]] = q.id
    options = await service.options(process.id)
    labels = {o.label: o.id for opts in options.values() for o in opts}
    await processes.advance_phase(admin, process.id, Phase.OPEN)
    code, other = await verification.generate_codes(session, settings, admin, process.id, bay.id, 2)
    await verification.verify_with_code(session, settings, vera, process.id, code=other, ip="seed")
    draft = await processes.create(admin, {"name": "Bay drafts", "kind": "consultation"})
    await processes.add_district(admin, draft.id, {"name": "Bay", "budget": 0})
    return {"slug": process.slug, "q": ids, "o": labels, "code": code, "draft": draft.id}


@pytest.fixture(scope="module")
def consultation_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, Settings, dict[str, Any]]]:
    reason = _missing_browser()
    if reason:
        pytest.skip(reason)
    from pb import migrate

    directory = tmp_path_factory.mktemp("consultation")
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


def test_answer_every_question_type(consultation_server: Any) -> None:
    from playwright.sync_api import expect, sync_playwright

    server, settings, seeded = consultation_server
    q, o = seeded["q"], seeded["o"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(10_000)
            page.goto(server.url + "/login")
            page.get_by_label("E-mail address").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(server.url + "/")

            answer = f"{server.url}/processes/{seeded['slug']}/consultation"
            page.goto(answer)
            # Not verified yet: the page points to the voting package's verification.
            page.get_by_role("link", name="Verify your residence for this consultation").click()
            page.get_by_role("textbox", name="Voting code").fill(seeded["code"])
            page.get_by_role("button", name="Verify with my code").click()
            expect(page.get_by_text("Your account is verified")).to_be_visible()

            page.goto(answer)
            car_free = page.get_by_role("group", name="Question 1. Should the beach be car-free?")
            car_free.get_by_label("Yes").check()
            page.get_by_role("group", name="Question 2.").get_by_label("All day").check()
            facilities = page.get_by_role("group", name="Question 3.")
            facilities.get_by_label("Showers").check()
            facilities.get_by_label("Kiosk").check()
            ranking = page.get_by_role("group", name="Question 4.")
            ranking.get_by_label("Lights").select_option("1")
            ranking.get_by_label("Trees").select_option("1")  # a mistake: rank 1 twice
            page.get_by_role("group", name="Question 5.").get_by_label("4").check()
            page.get_by_label("Your answer").fill("Please add more bins.")
            page.get_by_role("button", name="Send my answers").click()

            summary = page.locator("#form-errors")
            expect(summary).to_contain_text("rank 1 is given to more than one option")
            expect(page.locator(f"#error-q{q['ranked']}")).to_be_visible()
            # Everything else the resident gave is still there.
            expect(page.get_by_label("Kiosk")).to_be_checked()
            expect(page.get_by_label("Your answer")).to_have_value("Please add more bins.")
            page.get_by_role("group", name="Question 4.").get_by_label("Trees").select_option("2")
            page.get_by_role("button", name="Send my answers").click()

            expect(page.get_by_role("heading", name="Thank you for answering")).to_be_visible()
            receipt = page.locator(".receipt-code code").inner_text()
            page.reload()
            expect(page.get_by_role("heading", name="No receipt to show")).to_be_visible()
        finally:
            browser.close()

    async def stored(session: Any) -> tuple[list[ConsultationResponse], list[ConsultationAnswer]]:
        return (
            list((await session.exec(select(ConsultationResponse))).all()),
            list((await session.exec(select(ConsultationAnswer))).all()),
        )

    responses, answers = asyncio.run(_with_session(settings, stored))
    assert len(responses) == 1
    assert responses[0].receipt_hash == verification.receipt_hash(receipt)
    values = {a.question_id: a.value for a in answers}
    assert values == {
        q["yes_no"]: str(o["Yes"]),
        q["single"]: str(o["All day"]),
        q["multiple"]: f"[{min(o['Showers'], o['Kiosk'])},{max(o['Showers'], o['Kiosk'])}]",
        q["ranked"]: f"[{o['Lights']},{o['Trees']}]",
        q["scale"]: "4",
        q["text"]: '"Please add more bins."',
    }


def test_consultation_pages_have_no_serious_accessibility_violations(
    consultation_server: Any, axe_source: str
) -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser.test_accessibility import violations

    server, settings, seeded = consultation_server
    problems: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(10_000)
            page.goto(server.url + "/login")
            page.get_by_label("E-mail address").fill("ada@ask.test")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(server.url + "/")
            page.goto(f"{server.url}/processes/{seeded['slug']}")
            page.get_by_role("link", name="Edit the questions").click()
            problems["builder"] = violations(page, axe_source)
            page.get_by_role("link", name="Preview").click()
            problems["preview"] = violations(page, axe_source)
            page.goto(f"{server.url}/processes/{seeded['slug']}/consultation")
            problems["answer page (not verified)"] = violations(page, axe_source)
            resident = browser.new_context().new_page()
            resident.goto(server.url + "/login")
            resident.get_by_label("E-mail address").fill(VERIFIED)
            resident.get_by_label("Password").fill(PASSWORD)
            resident.get_by_role("button", name="Sign in").click()
            resident.wait_for_url(server.url + "/")
            resident.goto(f"{server.url}/processes/{seeded['slug']}/consultation")
            resident.get_by_role("button", name="Send my answers").click()
            resident.locator("#form-errors").wait_for()
            problems["answer form with errors"] = violations(resident, axe_source)
        finally:
            browser.close()
    assert problems == {key: [] for key in problems}


def test_builder_with_htmx(consultation_server: Any) -> None:
    """Add, edit and reorder questions in place (no page load), then preview them."""
    from playwright.sync_api import expect, sync_playwright

    server, settings, seeded = consultation_server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(10_000)
            page.goto(server.url + "/login")
            page.get_by_label("E-mail address").fill("ada@ask.test")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(server.url + "/")
            page.goto(f"{server.url}/admin/processes/{seeded['draft']}/consultation")
            page.evaluate("window.stillHere = true")  # lost if the page were reloaded

            page.get_by_label("Kind of question").select_option("single")
            page.get_by_label("Question", exact=True).fill("Which bench colour?")
            page.get_by_label("Options, one per line").fill("Green\nBlue")
            page.get_by_role("button", name="Add the question").click()
            items = page.locator(".question-item")
            expect(items).to_have_count(1)
            expect(page.locator("#messages")).to_contain_text("added")

            page.get_by_label("Kind of question").select_option("yes_no")
            page.get_by_label("Question", exact=True).fill("Paint the railings too?")
            page.get_by_role("button", name="Add the question").click()
            expect(items).to_have_count(2)

            # A mistake is explained in place.
            page.get_by_label("Kind of question").select_option("multiple")
            page.get_by_label("Question", exact=True).fill("Pick some")
            page.get_by_label("Options, one per line").fill("Only one")
            page.get_by_role("button", name="Add the question").click()
            expect(page.locator("#form-errors")).to_contain_text("at least two options")

            page.get_by_role("button", name="Move up “Paint the railings too?”").click()
            expect(items.first).to_contain_text("Paint the railings too?")

            page.get_by_role("link", name="Edit “Which bench colour?”").click()
            expect(page.get_by_role("heading", name="Edit the question")).to_be_visible()
            expect(page.get_by_label("Options, one per line")).to_have_value("Green\nBlue")
            page.get_by_label("Question", exact=True).fill("Which colour for the benches?")
            page.get_by_role("button", name="Save the question").click()
            expect(items.nth(1)).to_contain_text("Which colour for the benches?")
            assert page.evaluate("window.stillHere") is True

            page.get_by_role("link", name="Preview").click()
            expect(page.get_by_role("group", name="Question 2.")).to_contain_text("Blue")
            expect(page.get_by_label("Green")).to_be_disabled()
        finally:
            browser.close()
