"""One response per verified resident, even when the same resident sends many at once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool
from sqlmodel import select

from ballots.verification import generate_codes, verify_with_code
from consultations.models import ConsultationAnswer, ConsultationResponse
from consultations.service import ConsultationService, Receipt
from pb.accounts import AccountService, Role
from pb.db import create_engine, make_session_factory, session_scope
from pb.processes import Phase, ProcessService
from tests.consultations.conftest import PASSWORD

CONCURRENT = 24


async def _setup(engine: AsyncEngine, settings: Any) -> dict[str, Any]:
    factory = make_session_factory(engine)
    async with session_scope(factory) as session:
        accounts = AccountService(session, settings)
        admin = await accounts.create_user("admin@race.pb", PASSWORD, {Role.ADMIN})
        rita = await accounts.create_user("rita@race.pb", PASSWORD, set())
        processes = ProcessService(session, settings)
        process = await processes.create(admin, {"name": "Race asks", "kind": "consultation"})
        district = await processes.add_district(admin, process.id, {"name": "All", "budget": 0})
        service = ConsultationService(session, settings)
        question = await service.add_question(
            admin,
            process.id,
            {
                "kind": "single",
                "prompt": "Which colour for the bridge?",
                "options": "\n".join(f"Colour {i}" for i in range(CONCURRENT)),
                "required": "1",
            },
        )
        await processes.advance_phase(admin, process.id, Phase.OPEN)
        options = [o.id for o in (await service.options(process.id))[question.id]]
        [code] = await generate_codes(session, settings, admin, process.id, district.id, 1)
        await verify_with_code(session, settings, rita, process.id, code=code, ip="127.0.0.1")
        return {"process": process.id, "question": question.id, "options": options, "rita": rita.id}


@pytest.mark.postgres
async def test_many_concurrent_responses_by_one_resident_leave_one(
    engine: AsyncEngine, db_settings: Any
) -> None:
    ids = await _setup(engine, db_settings)
    # One connection per request, as separate workers would have (no pool to wait on).
    racing = create_engine(db_settings, poolclass=NullPool)
    factory = make_session_factory(racing)
    start = asyncio.Barrier(CONCURRENT)

    async def send(i: int) -> Receipt | Exception:
        try:
            async with session_scope(factory) as session:
                user = await AccountService(session, db_settings).get(ids["rita"])
                await start.wait()
                return await ConsultationService(session, db_settings).respond(
                    user, ids["process"], {ids["question"]: str(ids["options"][i])}
                )
        except Exception as exc:  # every request must get an answer: collect, then assert
            return exc

    try:
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(send(i) for i in range(CONCURRENT))), timeout=60
        )
    finally:
        await racing.dispose()
    assert all(isinstance(o, Receipt) for o in outcomes), outcomes
    assert sum(1 for o in outcomes if isinstance(o, Receipt) and not o.replaced) == 1
    async with session_scope(factory) as session:
        responses = (await session.exec(select(ConsultationResponse))).all()
        assert len(responses) == 1
        answers = (await session.exec(select(ConsultationAnswer))).all()
        assert len(answers) == 1 and answers[0].response_id == responses[0].id
        # The stored answer is the one sent with the receipt that was kept.
        kept = next(
            i
            for i, o in enumerate(outcomes)
            if isinstance(o, Receipt) and o.sha256 == responses[0].receipt_hash
        )
        assert json.loads(answers[0].value) == ids["options"][kept]
