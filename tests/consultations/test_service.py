"""The consultation service: builder lock, answering rules, replacement, results and moderation."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from sqlmodel import func, select

from consultations.models import ConsultationAnswer, ConsultationResponse
from pb.audit import AuditEntry
from pb.errors import Forbidden, InvalidInput, NotEligible
from pb.processes import Phase, WrongPhase
from pb.settings import Settings
from tests.consultations.conftest import Survey, full_answers


async def _count(db_session: Any, model: Any) -> int:
    return int((await db_session.exec(select(func.count()).select_from(model))).one())


async def test_builder_orders_and_reorders(
    db_session: Any, settings: Settings, survey: Survey
) -> None:
    service = survey.service(db_session, settings)
    ids = [q.id for q in await service.questions(survey.process.id)]
    assert ids[:2] == [survey.q["park"].id, survey.q["day"].id]
    await service.move_question(survey.users["admin"], survey.process.id, survey.q["day"].id, "up")
    ids = [q.id for q in await service.questions(survey.process.id)]
    assert ids[:2] == [survey.q["day"].id, survey.q["park"].id]
    with pytest.raises(InvalidInput, match="already first"):
        await service.move_question(survey.users["admin"], survey.process.id, ids[0], "up")


async def test_conditional_question_cannot_move_above_its_condition(
    db_session: Any, settings: Settings, survey: Survey
) -> None:
    service = survey.service(db_session, settings)
    admin = survey.users["admin"]
    # Move "why" up until it sits just after "park", then once more must fail.
    while True:
        ids = [q.id for q in await service.questions(survey.process.id)]
        if ids.index(survey.q["why"].id) == ids.index(survey.q["park"].id) + 1:
            break
        await service.move_question(admin, survey.process.id, survey.q["why"].id, "up")
    with pytest.raises(Exception, match="must stay after"):
        await service.move_question(admin, survey.process.id, survey.q["why"].id, "up")
    with pytest.raises(Exception, match="depends on this question"):
        await service.delete_question(admin, survey.process.id, survey.q["park"].id)


async def test_builder_refuses_bad_questions(
    db_session: Any, settings: Settings, survey: Survey
) -> None:
    service = survey.service(db_session, settings)
    admin, pid = survey.users["admin"], survey.process.id
    cases = [
        ({"kind": "single", "prompt": "Pick one", "options": "Only one"}, "at least two options"),
        ({"kind": "single", "prompt": "Pick one", "options": "A\na"}, "listed twice"),
        ({"kind": "multiple", "prompt": "Pick", "options": "A\nB", "min": "3"}, "from 0 to 2"),
        (
            {"kind": "multiple", "prompt": "Pick", "options": "A\nB\nC", "min": "2", "max": "1"},
            "above the maximum",
        ),
        ({"kind": "scale", "prompt": "Rate it", "points": "20"}, "from 2 to 11"),
        ({"kind": "text", "prompt": "Say", "max_length": "0"}, "from 1 to 5000"),
        ({"kind": "riddle", "prompt": "Say"}, "kind of question"),
        ({"kind": "text", "prompt": ""}, "Write the question"),
        (
            {
                "kind": "text",
                "prompt": "Why?",
                "condition_question_id": str(survey.q["park"].id),
                "condition_option_id": str(survey.o["day"]["Sunday"].id),
            },
            "answer of the question",
        ),
        (
            {
                "kind": "text",
                "prompt": "Why?",
                "condition_question_id": str(survey.q["why"].id),
                "condition_option_id": str(survey.o["park"]["No"].id),
            },
            "one level",
        ),
    ]
    for values, message in cases:
        with pytest.raises(InvalidInput, match=message):
            await service.add_question(admin, pid, values)
    with pytest.raises(Forbidden):
        await service.add_question(survey.users["alice"], pid, {"kind": "text", "prompt": "Hello?"})


async def test_editing_after_opening_is_refused(
    db_session: Any, settings: Settings, survey: Survey, advance: Any
) -> None:
    service = survey.service(db_session, settings)
    admin, pid = survey.users["admin"], survey.process.id
    edited = await service.update_question(
        admin,
        pid,
        survey.q["day"].id,
        {
            "kind": "single",
            "prompt": "Which market day?",
            "options": "Sunday\nSaturday\nFriday",
            "required": "1",
        },
    )
    assert edited.prompt == "Which market day?"
    options = (await service.options(pid))[survey.q["day"].id]
    # Options are matched by position: ids are kept, labels follow the new text.
    assert [o.label for o in options] == ["Sunday", "Saturday", "Friday"]
    assert options[0].id == survey.o["day"]["Saturday"].id
    await advance(Phase.OPEN)
    before = await _count(db_session, AuditEntry)
    for call in (
        service.add_question(admin, pid, {"kind": "text", "prompt": "Late question"}),
        service.update_question(
            admin, pid, survey.q["day"].id, {"kind": "text", "prompt": "Changed"}
        ),
        service.move_question(admin, pid, survey.q["day"].id, "up"),
        service.delete_question(admin, pid, survey.q["comment"].id),
    ):
        with pytest.raises(WrongPhase, match="locked"):
            await call
    assert await _count(db_session, AuditEntry) == before


async def test_answering_outside_the_open_phase_is_refused(
    db_session: Any, settings: Settings, survey: Survey, advance: Any
) -> None:
    service = survey.service(db_session, settings)
    alice = survey.users["alice"]
    with pytest.raises(WrongPhase, match="only while the consultation is open"):
        await service.respond(alice, survey.process.id, full_answers(survey))
    await advance(Phase.CLOSED)
    with pytest.raises(WrongPhase, match="only while the consultation is open"):
        await service.respond(alice, survey.process.id, full_answers(survey))
    assert await _count(db_session, ConsultationResponse) == 0


async def test_respond_replace_and_receipt(
    db_session: Any, settings: Settings, survey: Survey, advance: Any
) -> None:
    await advance(Phase.OPEN)
    service = survey.service(db_session, settings)
    alice = survey.users["alice"]
    first = await service.respond(alice, survey.process.id, full_answers(survey))
    assert not first.replaced and len(first.sha256) == 64
    assert await service.receipt_counted(survey.process.id, first.code)
    answers = full_answers(survey)
    answers[survey.q["day"].id] = str(survey.o["day"]["Wednesday"].id)
    del answers[survey.q["comment"].id]
    second = await service.respond(alice, survey.process.id, answers)
    assert second.replaced and second.code != first.code
    assert not await service.receipt_counted(survey.process.id, first.code)
    assert await _count(db_session, ConsultationResponse) == 1
    assert await _count(db_session, ConsultationAnswer) == len(answers)
    # The audit log records the response without naming the resident.
    entries = (
        await db_session.exec(
            select(AuditEntry).where(AuditEntry.action.like("consultation.response%"))
        )
    ).all()
    assert [e.action for e in entries] == [
        "consultation.response_recorded",
        "consultation.response_replaced",
    ]
    assert all(e.actor_id is None and "pseudonym" not in e.data for e in entries)


async def test_eligibility_and_bad_answers_store_nothing(
    db_session: Any, settings: Settings, survey: Survey, advance: Any
) -> None:
    await advance(Phase.OPEN)
    service = survey.service(db_session, settings)
    pid = survey.process.id
    with pytest.raises(NotEligible):
        await service.respond(survey.users["dave"], pid, full_answers(survey))
    with pytest.raises(NotEligible):
        await service.respond(None, pid, full_answers(survey))
    bob = survey.users["bob"]  # South: the North-only question is not his
    with pytest.raises(InvalidInput, match="not asked in your district"):
        await service.respond(bob, pid, full_answers(survey, north=True))
    bad: list[tuple[dict[int, Any], str]] = []
    missing = full_answers(survey, north=False)
    del missing[survey.q["priorities"].id]
    bad.append((missing, "Question 4 is required"))
    other = full_answers(survey, north=False)
    other[survey.q["day"].id] = str(survey.o["park"]["Yes"].id)
    bad.append((other, "choose one of the options of this question"))
    scale = full_answers(survey, north=False)
    scale[survey.q["satisfaction"].id] = "6"
    bad.append((scale, "from 1 to 5"))
    ranks = full_answers(survey, north=False)
    ranks[survey.q["priorities"].id] = {
        str(survey.o["priorities"]["Trees"].id): "1",
        str(survey.o["priorities"]["Lights"].id): "1",
    }
    bad.append((ranks, "rank 1 is given to more than one option"))
    text = full_answers(survey, north=False)
    text[survey.q["comment"].id] = "x" * 41
    bad.append((text, "the limit is 40"))
    condition = full_answers(survey, north=False)
    condition[survey.q["park"].id] = str(survey.o["park"]["No"].id)
    bad.append((condition, "Question 7 is required"))
    unmet = full_answers(survey, north=False)
    unmet[survey.q["why"].id] = "Because."
    bad.append((unmet, "applies only after another answer"))
    many = full_answers(survey, north=False)
    many[survey.q["sports"].id] = [str(o.id) for o in survey.o["sports"].values()]
    bad.append((many, "at most 2 options"))
    for answers, message in bad:
        with pytest.raises(InvalidInput, match=message):
            await service.respond(bob, pid, answers)
    assert await _count(db_session, ConsultationResponse) == 0
    # Met condition: the follow-up is accepted.
    good = full_answers(survey, north=False)
    good[survey.q["park"].id] = str(survey.o["park"]["No"].id)
    good[survey.q["why"].id] = "Too noisy."
    await service.respond(bob, pid, good)
    assert await _count(db_session, ConsultationResponse) == 1


async def test_results_hidden_before_close_then_exact(
    db_session: Any, settings: Settings, survey: Survey, advance: Any
) -> None:
    service = survey.service(db_session, settings)
    pid = survey.process.id
    await advance(Phase.OPEN)
    await service.respond(survey.users["alice"], pid, full_answers(survey))
    bob = full_answers(survey, north=False)
    bob[survey.q["park"].id] = str(survey.o["park"]["No"].id)
    bob[survey.q["why"].id] = "Too noisy."
    bob[survey.q["satisfaction"].id] = "1"
    bob[survey.q["priorities"].id] = {str(survey.o["priorities"]["Benches"].id): "1"}
    await service.respond(survey.users["bob"], pid, bob)
    carol = full_answers(survey)
    carol[survey.q["satisfaction"].id] = "2"
    carol[survey.q["comment"].id] = "You are all idiots"
    await service.respond(survey.users["carol"], pid, carol)
    with pytest.raises(WrongPhase, match="when the consultation closes"):
        await service.results(pid)
    with pytest.raises(WrongPhase):
        await service.anonymised_responses(pid)
    await advance(Phase.CLOSED)
    results = await service.results(pid)
    assert results.responses == 3
    park = results.question(survey.q["park"].id)
    assert [(o.label, o.count, o.share) for o in park.options] == [
        ("Yes", 2, Fraction(200, 3)),
        ("No", 1, Fraction(100, 3)),
    ]
    assert park.count is not None and park.count.winner == "Yes"
    sat = results.question(survey.q["satisfaction"].id)
    assert sat.average == Fraction(7, 3)
    assert [p.count for p in sat.distribution] == [1, 1, 0, 1, 0]
    assert sat.distribution[0].label == "Not at all"
    north_only = results.question(survey.q["north_only"].id)
    assert north_only.answered == 2  # Bob (South) was not asked
    pri = results.question(survey.q["priorities"].id)
    assert pri.instant_runoff is not None and pri.instant_runoff.winner == "Trees"
    assert pri.schulze is not None and pri.schulze.ranking[0] == "Trees"
    # Moderation: hide the abusive comment; it stays counted but is not published.
    texts = await service.text_answers(survey.users["moderator"], pid)
    abusive = next(t for t in texts if t.text.startswith("You are"))
    with pytest.raises(Forbidden):
        await service.moderate_text(survey.users["alice"], pid, abusive.id, hide=True, reason="x")
    with pytest.raises(InvalidInput, match="Say why"):
        await service.moderate_text(survey.users["moderator"], pid, abusive.id, hide=True)
    await service.moderate_text(
        survey.users["moderator"], pid, abusive.id, hide=True, reason="Insult"
    )
    comment = (await service.results(pid)).question(survey.q["comment"].id)
    assert comment.texts == ("More buses at night.", "More buses at night.")
    assert comment.hidden == 1 and comment.answered == 3
    logged = (
        await db_session.exec(
            select(AuditEntry).where(AuditEntry.action == "consultation.text_hidden")
        )
    ).all()
    assert len(logged) == 1 and logged[0].actor_id == survey.users["moderator"].id
    dump = await service.anonymised_responses(pid)
    assert all("pseudonym" not in str(r) for r in dump)
    assert sum(1 for r in dump if r["hidden"]) == 1
