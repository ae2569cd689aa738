"""The demo consultations: every question kind, answered results, and seeding twice is harmless."""

from __future__ import annotations

from typing import Any

from sqlmodel import func, select

from consultations.demo import CLOSED_SLUG, OPEN_SLUG, seed_consultations
from consultations.models import ConsultationQuestion, ConsultationResponse
from consultations.questions import QuestionKind
from consultations.service import ConsultationService
from pb.accounts import AccountService, Role
from pb.processes import Phase
from pb.settings import Settings
from tests.consultations.conftest import PASSWORD


async def test_demo_consultations(db_session: Any, settings: Settings) -> None:
    accounts = AccountService(db_session, settings)
    users = {"admin": await accounts.create_user("admin@demo.test", PASSWORD, {Role.ADMIN})}
    for name in ("resident", "amara", "jonas", "lucia"):
        users[name] = await accounts.create_user(f"{name}@demo.test", PASSWORD, set())
    first = await seed_consultations(db_session, settings, users)
    assert "one open" in first and "one closed" in first
    assert (
        await seed_consultations(db_session, settings, users)
        == "demo consultations already present"
    )
    service = ConsultationService(db_session, settings)
    opened = await service.process_by_slug(OPEN_SLUG)
    closed = await service.process_by_slug(CLOSED_SLUG)
    assert (opened.phase, closed.phase) == (Phase.OPEN, Phase.CLOSED)
    kinds = (
        await db_session.exec(
            select(ConsultationQuestion.kind).where(ConsultationQuestion.process_id == opened.id)
        )
    ).all()
    assert set(kinds) == {k.value for k in QuestionKind}
    # The demo resident can answer the open one straight away.
    right = await service.voter_right(users["resident"], opened.id)
    assert right.districts
    count = (
        await db_session.exec(
            select(func.count())
            .select_from(ConsultationResponse)
            .where(ConsultationResponse.process_id == closed.id)
        )
    ).one()
    assert count == 4
    results = await service.results(closed.id)
    assert any(q.instant_runoff and q.instant_runoff.winner for q in results.questions)
