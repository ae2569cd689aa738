"""A verified resident answers a consultation with every kind of question, in a real browser.

The resident verifies with a voting code on the voting package's page, fills the form (radio
buttons, checkboxes, rank selects, a scale and a text box, no JavaScript needed), first makes a
mistake (the same rank twice) and sees it explained next to the question, then sends the form
and reads the receipt, which matches the stored response.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import select

from ballots import verification
from consultations.models import ConsultationAnswer, ConsultationResponse
from consultations.service import ConsultationService
from pb.accounts import AccountService, Role
from pb.processes import Phase, ProcessService
from pb.settings import Settings
from tests.browser.conftest import SeededServer, in_thread, running_server
from tests.browser.steps import sign_in, submit_voting_code

pytestmark = pytest.mark.browser

PASSWORD = "consultation browser password 1"
EMAIL = "rosa@ask.test"
VERIFIED = "vera@ask.test"  # verified when seeded, for the accessibility check


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
def consultation_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededServer]:
    with running_server(tmp_path_factory.mktemp("consultation"), _seed) as started:
        yield started


def test_answer_every_question_type(consultation_server: SeededServer, page: Any) -> None:
    from playwright.sync_api import expect

    server, seeded = consultation_server
    q, o = seeded["q"], seeded["o"]
    sign_in(page, server, EMAIL, PASSWORD)

    answer = f"{server.url}/processes/{seeded['slug']}/consultation"
    page.goto(answer)
    # Not verified yet: the page points to the voting package's verification.
    page.get_by_role("link", name="Verify your residence for this consultation").click()
    submit_voting_code(page, seeded["code"])
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

    async def stored(session: Any) -> tuple[list[ConsultationResponse], list[ConsultationAnswer]]:
        return (
            list((await session.exec(select(ConsultationResponse))).all()),
            list((await session.exec(select(ConsultationAnswer))).all()),
        )

    responses, answers = in_thread(server.settings, stored)
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
    consultation_server: SeededServer,
    new_page: Callable[..., Any],
    axe_source: str,
) -> None:
    from tests.browser.test_accessibility import violations

    server, seeded = consultation_server
    problems: dict[str, list[str]] = {}
    page = new_page()
    sign_in(page, server, "ada@ask.test", PASSWORD)
    page.goto(f"{server.url}/processes/{seeded['slug']}")
    page.get_by_role("link", name="Edit the questions").click()
    problems["builder"] = violations(page, axe_source)
    page.get_by_role("link", name="Preview").click()
    problems["preview"] = violations(page, axe_source)
    page.goto(f"{server.url}/processes/{seeded['slug']}/consultation")
    problems["answer page (not verified)"] = violations(page, axe_source)
    resident = new_page()
    sign_in(resident, server, VERIFIED, PASSWORD)
    resident.goto(f"{server.url}/processes/{seeded['slug']}/consultation")
    resident.get_by_role("button", name="Send my answers").click()
    resident.locator("#form-errors").wait_for()
    problems["answer form with errors"] = violations(resident, axe_source)
    assert problems == {key: [] for key in problems}


def test_builder_with_htmx(consultation_server: SeededServer, page: Any) -> None:
    """Add, edit and reorder questions in place (no page load), then preview them."""
    from playwright.sync_api import expect

    server, seeded = consultation_server
    sign_in(page, server, "ada@ask.test", PASSWORD)
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
