"""Consultation pages: builder (plain and htmx), answering with a receipt, results, moderation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select

from ballots.verification import generate_codes, verify_with_code
from consultations.models import ConsultationResponse
from consultations.service import ConsultationService
from pb.accounts import Role, User
from pb.db import make_session_factory, session_scope
from pb.processes import Phase, ProcessService
from pb.settings import Settings
from tests.web.conftest import WebClient, make_user


@dataclass
class Setup:
    admin: User
    rita: User
    mo: User
    process_id: int
    slug: str
    q: dict[str, int]
    o: dict[str, int]


async def run(engine: AsyncEngine, fn: Any) -> Any:
    async with session_scope(make_session_factory(engine)) as session:
        return await fn(session)


@pytest.fixture
async def setup(engine: AsyncEngine, web_settings: Settings) -> Setup:
    admin = await make_user(engine, web_settings, "admin@ask.test", [Role.ADMIN], name="Ada")
    rita = await make_user(engine, web_settings, "rita@ask.test", name="Rita")
    mo = await make_user(engine, web_settings, "mo@ask.test", [Role.MODERATOR], name="Mo")

    async def build(session: Any) -> Setup:
        processes = ProcessService(session, web_settings)
        process = await processes.create(admin, {"name": "Harbour asks", "kind": "consultation"})
        await processes.add_district(admin, process.id, {"name": "Harbour", "budget": 0})
        service = ConsultationService(session, web_settings)
        park = await service.add_question(
            admin, process.id, {"kind": "yes_no", "prompt": "A park on the pier?", "required": "1"}
        )
        note = await service.add_question(
            admin, process.id, {"kind": "text", "prompt": "Any comment?", "max_length": "50"}
        )
        options = await service.options(process.id)
        return Setup(
            admin,
            rita,
            mo,
            process.id,
            process.slug,
            {"park": park.id, "note": note.id},
            {o.label: o.id for o in options[park.id]},
        )

    return await run(engine, build)


async def open_and_verify(engine: AsyncEngine, settings: Settings, s: Setup) -> None:
    async def go(session: Any) -> None:
        processes = ProcessService(session, settings)
        await processes.advance_phase(s.admin, s.process_id, Phase.OPEN)
        district = (await processes.districts(s.process_id))[0]
        [code] = await generate_codes(session, settings, s.admin, s.process_id, district.id, 1)
        rita = await session.get(User, s.rita.id)
        await verify_with_code(session, settings, rita, s.process_id, code=code, ip="127.0.0.1")

    await run(engine, go)


async def close(engine: AsyncEngine, settings: Settings, s: Setup) -> None:
    await run(
        engine,
        lambda session: ProcessService(session, settings).advance_phase(
            s.admin, s.process_id, Phase.CLOSED
        ),
    )


async def responses(engine: AsyncEngine) -> int:
    return await run(
        engine,
        lambda session: _scalar(session, select(func.count()).select_from(ConsultationResponse)),
    )


async def _scalar(session: Any, stmt: Any) -> int:
    return int((await session.exec(stmt)).one())


async def test_builder_plain_htmx_and_locked(
    client: WebClient, engine: AsyncEngine, web_settings: Settings, setup: Setup
) -> None:
    base = f"/admin/processes/{setup.process_id}/consultation"
    await client.login("rita@ask.test")
    assert (await client.get(base)).status_code == 403
    await client.login("admin@ask.test")
    page = await client.get(base)
    assert page.status_code == 200 and "A park on the pier?" in page.text
    response = await client.post_form(
        f"{base}/questions",
        {
            "kind": "single",
            "prompt": "Best day for the market?",
            "options": "Monday\nFriday",
            "required": "1",
        },
    )
    assert response.status_code == 303
    fragment = await client.post_form(
        f"{base}/questions",
        {
            "kind": "scale",
            "prompt": "Rate the ferry",
            "points": "5",
            "labels": "1 = Poor\n5 = Great",
        },
        htmx=True,
    )
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="question-builder">')
    assert "Rate the ferry" in fragment.text and "<html" not in fragment.text
    bad = await client.post_form(
        f"{base}/questions", {"kind": "single", "prompt": "Pick", "options": "Only"}, htmx=True
    )
    assert bad.status_code == 422 and "at least two options" in bad.text
    moved = await client.post_form(
        f"{base}/questions/{setup.q['note']}/move", {"direction": "up"}, htmx=True
    )
    assert moved.status_code == 200
    assert moved.text.index("Any comment?") < moved.text.index("A park on the pier?")
    preview = await client.get(f"{base}/preview")
    assert preview.status_code == 200 and "disabled" in preview.text
    await open_and_verify(engine, web_settings, setup)
    refused = await client.post_form(f"{base}/questions", {"kind": "text", "prompt": "Too late?"})
    assert refused.status_code == 409 and "locked" in refused.text
    edit = await client.post_form(
        f"{base}/questions/{setup.q['park']}", {"kind": "yes_no", "prompt": "Changed?"}
    )
    assert edit.status_code == 409
    page = await client.get(base)
    assert "Add a question" not in page.text and "locked" in page.text


async def test_answer_receipt_results_and_moderation(
    client: WebClient, engine: AsyncEngine, web_settings: Settings, setup: Setup
) -> None:
    answer = f"/processes/{setup.slug}/consultation"
    await client.login("rita@ask.test")
    # Not open yet (draft is hidden from residents).
    assert (await client.get(answer)).status_code == 404
    await open_and_verify(engine, web_settings, setup)
    page = await client.get(answer)
    assert page.status_code == 200 and f'name="q{setup.q["park"]}"' in page.text
    missing = await client.post_form(answer, {f"q{setup.q['note']}": "Hello"})
    assert missing.status_code == 422 and "Question 1 is required" in missing.text
    assert "Hello" in missing.text  # what was typed is kept
    too_long = await client.post_form(
        answer, {f"q{setup.q['park']}": str(setup.o["Yes"]), f"q{setup.q['note']}": "x" * 51}
    )
    assert too_long.status_code == 422 and "the limit is 50" in too_long.text
    assert await responses(engine) == 0
    done = await client.post_form(
        answer,
        {f"q{setup.q['park']}": str(setup.o["Yes"]), f"q{setup.q['note']}": "Shut up, idiots"},
    )
    assert done.status_code == 303 and done.headers["location"].endswith("/consultation/receipt")
    receipt = await client.get(f"{answer}/receipt")
    assert "shown only this once" in receipt.text and receipt.headers["cache-control"] == "no-store"
    code = receipt.text.split('<p class="receipt-code"><strong><code>')[1].split("<")[0]
    checked = await client.post_form(f"{answer}/receipt-check", {"receipt": code.lower()})
    assert "it is counted" in checked.text
    wrong = await client.post_form(f"{answer}/receipt-check", {"receipt": "AAAA-BBBB-CCCC-DDDD"})
    assert "No stored response has this receipt" in wrong.text
    empty = await client.post_form(f"{answer}/receipt-check", {"receipt": " "})
    assert empty.status_code == 422
    again = await client.get(f"{answer}/receipt")
    assert "No receipt to show" in again.text
    assert "already answered" in (await client.get(answer)).text
    # Results and exports stay hidden until the close.
    early = await client.get(f"{answer}/results")
    assert early.status_code == 409 and "published when the consultation closes" in early.text
    assert (await client.get(f"{answer}/export/results.json")).status_code == 409
    assert (await client.get(f"{answer}/export/questions/1/csv")).status_code == 409
    await close(engine, web_settings, setup)
    late = await client.post_form(answer, {f"q{setup.q['park']}": str(setup.o["No"])})
    assert late.status_code == 409 and await responses(engine) == 1
    results = await client.get(f"{answer}/results")
    assert results.status_code == 200 and "<svg" in results.text and "100.0 %" in results.text
    assert "Shut up, idiots" in results.text
    csv = await client.get(f"{answer}/export/questions/1/csv")
    assert csv.text.splitlines() == ["option,count,percentage", "Yes,1,100", "No,0,0"]
    # A moderator hides the abusive comment.
    await client.login("mo@ask.test")
    queue = await client.get(f"/moderation/consultations/{setup.process_id}")
    assert queue.status_code == 200 and "Shut up, idiots" in queue.text
    answer_id = int(queue.text.split('id="answer-')[1].split('"')[0])
    no_reason = await client.post_form(
        f"/moderation/consultations/{setup.process_id}/answers/{answer_id}", {"action": "hide"}
    )
    assert no_reason.status_code == 422 and "Say why" in no_reason.text
    hidden = await client.post_form(
        f"/moderation/consultations/{setup.process_id}/answers/{answer_id}",
        {"action": "hide", "reason": "Insult"},
    )
    assert hidden.status_code == 303
    results = await client.get(f"{answer}/results")
    assert "Shut up, idiots" not in results.text and "1 answer hidden by moderators" in results.text
    await client.login("rita@ask.test")
    assert (await client.get(f"/moderation/consultations/{setup.process_id}")).status_code == 403
    # The administrator certifies; the package downloads.
    await client.login("admin@ask.test")
    certified = await client.post_form(f"/admin/processes/{setup.process_id}/consultation/certify")
    assert certified.status_code == 303
    package = await client.get(f"{answer}/package.zip")
    assert package.status_code == 200 and package.content[:2] == b"PK"


async def test_unverified_resident_is_sent_to_verification(
    client: WebClient, engine: AsyncEngine, web_settings: Settings, setup: Setup
) -> None:
    await open_and_verify(engine, web_settings, setup)
    await make_user(engine, web_settings, "otto@ask.test", name="Otto")
    await client.login("otto@ask.test")
    page = await client.get(f"/processes/{setup.slug}/consultation")
    assert f"/processes/{setup.slug}/vote" in page.text and "not verified" in page.text
    refused = await client.post_form(
        f"/processes/{setup.slug}/consultation", {f"q{setup.q['park']}": str(setup.o["Yes"])}
    )
    assert refused.status_code == 403 and await responses(engine) == 0
