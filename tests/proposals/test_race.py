"""Two moderators deciding the same proposal at the same moment: one wins, one gets a conflict."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select

from pb import audit
from pb.accounts import AccountService, Role
from pb.audit import AuditEntry
from pb.db import make_session_factory, session_scope
from pb.errors import Conflict
from pb.processes import Phase, ProcessService
from proposals.models import Proposal, ProposalEvent
from proposals.service import CONFLICT_MESSAGE, ProposalService
from tests.proposals.conftest import PASSWORD


async def _setup(engine: AsyncEngine, settings: Any) -> dict[str, int]:
    """Commit a process, two moderators, a proposer and one submitted proposal."""
    factory = make_session_factory(engine)
    async with session_scope(factory) as session:
        accounts = AccountService(session, settings)
        admin = await accounts.create_user("admin@race.pb", PASSWORD, {Role.ADMIN})
        m1 = await accounts.create_user("m1@race.pb", PASSWORD, {Role.MODERATOR})
        m2 = await accounts.create_user("m2@race.pb", PASSWORD, {Role.MODERATOR})
        alice = await accounts.create_user("alice@race.pb", PASSWORD, set())
        processes = ProcessService(session, settings)
        process = await processes.create(admin, {"name": "Race city"})
        district = await processes.add_district(admin, process.id, {"name": "All", "budget": 10})
        await processes.advance_phase(admin, process.id, Phase.SUBMISSION)
        proposal = await ProposalService(session, settings, alice).create(
            process.id,
            {
                "title": "One bench by the pond",
                "summary": "A single bench facing the pond, for people who walk slowly.",
                "description": "There is nowhere to sit between the bus stop and the clinic.",
                "district_id": district.id,
                "estimated_cost": 5,
            },
            submit=True,
        )
        return {"m1": m1.id, "m2": m2.id, "proposal": proposal.id, "version": proposal.version}


async def _race(
    engine: AsyncEngine, settings: Any, ids: dict[str, int], *, explicit_version: bool
) -> list[Any]:
    """Both moderators read the proposal, then both decide; each in its own transaction."""
    factory = make_session_factory(engine)
    both_read = asyncio.Barrier(2)

    async def decide(moderator_key: str, action: str, reason: str) -> Any:
        try:
            async with session_scope(factory) as session:
                accounts = AccountService(session, settings)
                user = await accounts.get(ids[moderator_key])
                service = ProposalService(session, settings, user)
                seen = await service.get(ids["proposal"])
                await both_read.wait()
                version = ids["version"] if explicit_version else seen.version
                result = await service.decide(
                    ids["proposal"], action, {"reason": reason, "version": version}
                )
                return result.status
        except Conflict as exc:
            return exc

    return list(
        await asyncio.gather(
            decide("m1", "approve", ""),
            decide("m2", "reject", "Duplicate of the pond proposal."),
        )
    )


async def _check_one_winner(engine: AsyncEngine, ids: dict[str, int], outcomes: list[Any]) -> None:
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert str(losers[0]) == CONFLICT_MESSAGE
    assert losers[0].status_code == 409
    async with session_scope(make_session_factory(engine)) as session:
        proposal = await session.get(Proposal, ids["proposal"])
        assert proposal.status == winners[0]
        assert proposal.version == ids["version"] + 1
        decisions = (
            await session.exec(
                select(func.count())
                .select_from(ProposalEvent)
                .where(
                    ProposalEvent.proposal_id == ids["proposal"],
                    ProposalEvent.action.in_(["approve", "reject"]),
                )
            )
        ).one()
        assert decisions == 1
        entries = (
            await session.exec(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action.in_(["proposal.approve", "proposal.reject"]))
            )
        ).one()
        assert entries == 1
        assert not await audit.verify_chain(session)


@pytest.mark.postgres
async def test_moderation_race_on_postgres(engine: AsyncEngine, settings: Any) -> None:
    ids = await _setup(engine, settings)
    outcomes = await _race(engine, settings, ids, explicit_version=False)
    await _check_one_winner(engine, ids, outcomes)


@pytest.mark.postgres
async def test_moderation_race_with_page_versions_on_postgres(
    engine: AsyncEngine, settings: Any
) -> None:
    ids = await _setup(engine, settings)
    outcomes = await _race(engine, settings, ids, explicit_version=True)
    await _check_one_winner(engine, ids, outcomes)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_moderation_race_with_page_versions(
    engine: AsyncEngine, settings: Any, backend: str
) -> None:
    """The same on either database, as the pages do it: each form carries the version it showed.

    SQLite serialises the two transactions, so the second reads the first one's result and
    fails on the version it was sent (PostgreSQL runs them truly at once, see above)."""
    ids = await _setup(engine, settings)
    factory = make_session_factory(engine)
    outcomes = []
    for moderator, action, reason in (("m1", "approve", ""), ("m2", "reject", "Duplicate.")):
        try:
            async with session_scope(factory) as session:
                user = await AccountService(session, settings).get(ids[moderator])
                service = ProposalService(session, settings, user)
                result = await service.decide(
                    ids["proposal"], action, {"reason": reason, "version": ids["version"]}
                )
                outcomes.append(result.status)
        except Conflict as exc:
            outcomes.append(exc)
    await _check_one_winner(engine, ids, outcomes)
