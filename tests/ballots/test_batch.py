"""Casts stored together (``ballots.batch.CastBatcher``): same guarantees as one transaction each."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from ballots import service
from ballots.batch import CastBatcher
from ballots.models import Ballot
from ballots.verification import receipt_hash
from pb import audit
from pb.audit import AuditEntry
from pb.db import make_session_factory, session_scope
from pb.errors import AlreadyVoted, Conflict
from pb.processes import Phase, ProcessService, WrongPhase
from tests.ballots.voting_city import build_city, import_default_roll, verify


async def _city(engine: AsyncEngine, settings: Any, config: dict[str, Any]) -> Any:
    async with session_scope(make_session_factory(engine)) as session:
        city = await build_city(session, settings, ballot_config=config, tag="batch")
        await import_default_roll(session, settings, city)
        await verify(session, settings, city, city.voters[0], "R-001")  # North
        await verify(session, settings, city, city.voters[1], "R-002")  # North and South
        return city


async def _prepare(engine: AsyncEngine, settings: Any, city: Any, voter: int, raw: Any) -> Any:
    async with session_scope(make_session_factory(engine)) as session:
        return await service.prepare_cast(
            session, settings, process_id=city.process.id, district_id=city.north.id,
            user_id=city.voters[voter].id, raw_ballot=raw,
        )  # fmt: skip


async def _state(engine: AsyncEngine) -> tuple[list[Ballot], list[AuditEntry], list[str]]:
    async with session_scope(make_session_factory(engine)) as session:
        ballots = list((await session.exec(select(Ballot))).all())
        entries = list(
            (await session.exec(select(AuditEntry).where(AuditEntry.action == "ballot.cast"))).all()
        )
        return ballots, entries, await audit.verify_chain(session)


async def _store_all(engine: AsyncEngine, prepared: list[Any]) -> list[Any]:
    batcher = CastBatcher(make_session_factory(engine))
    return list(await asyncio.gather(*(batcher.store(p) for p in prepared), return_exceptions=True))


async def test_concurrent_casts_each_get_a_receipt_and_an_audit_entry(
    engine: AsyncEngine, db_settings: Any
) -> None:
    city = await _city(engine, db_settings, {"format": "knapsack"})
    north = city.projects["north"]
    prepared = [await _prepare(engine, db_settings, city, i % 2, [north[i % 3]]) for i in range(30)]
    results = await _store_all(engine, prepared)
    assert all(isinstance(r, service.CastResult) for r in results), results[:3]
    assert len({r.receipt for r in results}) == 30
    ballots, entries, problems = await _state(engine)
    # One ballot per voter (re-voting replaced), the last stored one; one entry per cast.
    assert len(ballots) == 2 and problems == []
    assert len(entries) == 30
    assert {b.receipt_hash for b in ballots} <= {receipt_hash(r.receipt) for r in results}
    assert all(
        e.data_dict() == {"district_id": city.north.id, "channel": "online"} for e in entries
    )


async def test_without_revote_one_cast_wins_and_the_others_fail_alone(
    engine: AsyncEngine, db_settings: Any
) -> None:
    city = await _city(engine, db_settings, {"format": "knapsack", "revote": False})
    north = city.projects["north"]
    mine = [await _prepare(engine, db_settings, city, 0, [north[i % 3]]) for i in range(10)]
    other = await _prepare(engine, db_settings, city, 1, [north[1]])
    results = await _store_all(engine, [*mine, other])
    wins = [r for r in results[:10] if isinstance(r, service.CastResult)]
    assert len(wins) == 1
    assert all(isinstance(r, AlreadyVoted) for r in results[:10] if r is not wins[0])
    assert isinstance(results[10], service.CastResult)  # same batch, not affected
    ballots, entries, problems = await _state(engine)
    assert len(ballots) == 2 and len(entries) == 2 and problems == []
    mine_stored = next(b for b in ballots if b.voter_pseudonym == mine[0].voter)
    assert mine_stored.receipt_hash == receipt_hash(wins[0].receipt)


async def test_a_cast_checked_before_voting_closed_is_not_stored_after(
    engine: AsyncEngine, db_settings: Any
) -> None:
    city = await _city(engine, db_settings, {"format": "knapsack"})
    prepared = await _prepare(engine, db_settings, city, 0, [city.projects["north"][0]])
    async with session_scope(make_session_factory(engine)) as session:
        await ProcessService(session, db_settings).advance_phase(
            city.admin, city.process.id, Phase.CLOSED
        )
    [result] = await _store_all(engine, [prepared])
    assert isinstance(result, WrongPhase)
    assert await _state(engine) == ([], [], [])


async def test_a_failed_transaction_stores_nothing_of_its_batch(
    engine: AsyncEngine, db_settings: Any
) -> None:
    city = await _city(engine, db_settings, {"format": "knapsack"})
    good = await _prepare(engine, db_settings, city, 0, [city.projects["north"][0]])
    # A district that does not exist: the foreign key refuses the row, the transaction fails.
    broken = replace(good, voter="someone-else", district_id=999_999)
    results = await _store_all(engine, [good, broken])
    assert all(isinstance(r, Conflict) for r in results), results
    assert await _state(engine) == ([], [], [])
    # The batcher keeps working afterwards.
    [again] = await _store_all(engine, [good])
    assert isinstance(again, service.CastResult)
    ballots, entries, problems = await _state(engine)
    assert len(ballots) == 1 and len(entries) == 1 and problems == []
    assert json.loads(ballots[0].content)["projects"] == [city.projects["north"][0]]


async def test_write_casts_keeps_order_per_voter_and_refuses_without_revote(
    engine: AsyncEngine, db_settings: Any
) -> None:
    city = await _city(engine, db_settings, {"format": "knapsack"})
    north = city.projects["north"]
    a1, b1, a2, a3 = [
        await _prepare(engine, db_settings, city, voter, [north[k]])
        for voter, k in ((0, 0), (1, 1), (0, 1), (0, 2))
    ]
    locked = replace(b1, replace=False, content=b1.content.replace(north[1], north[2]))
    async with session_scope(make_session_factory(engine)) as session:
        results = await service.write_casts(session, [a1, b1, a2, locked, a3])
    assert [type(r).__name__ for r in results] == [
        "CastResult", "CastResult", "CastResult", "AlreadyVoted", "CastResult",
    ]  # fmt: skip
    ballots, _, _ = await _state(engine)
    by_voter = {b.voter_pseudonym: b for b in ballots}
    # Voter 0's last cast stands; voter 1's first stands (the second could not replace it).
    assert json.loads(by_voter[a1.voter].content)["projects"] == [north[2]]
    assert by_voter[a1.voter].receipt_hash == receipt_hash(results[4].receipt)
    assert json.loads(by_voter[b1.voter].content)["projects"] == [north[1]]
    assert by_voter[b1.voter].receipt_hash == receipt_hash(results[1].receipt)


@pytest.mark.postgres
async def test_a_database_error_fails_the_batch_with_a_retry_answer(
    engine: AsyncEngine, db_settings: Any, backend: str
) -> None:
    city = await _city(engine, db_settings, {"format": "knapsack"})
    good = await _prepare(engine, db_settings, city, 0, [city.projects["north"][0]])
    # Longer than the column allows: PostgreSQL refuses the statement (not an integrity error).
    too_long = replace(good, voter="x" * 200)
    results = await _store_all(engine, [good, too_long])
    assert all(isinstance(r, Conflict) and "try again" in r.message for r in results), results
    assert await _state(engine) == ([], [], [])


async def test_casts_handed_over_in_quick_succession_share_one_transaction(
    engine: AsyncEngine, db_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch waits ``GATHER_SECONDS`` for more casts before it starts."""
    import ballots.batch as batch_module

    city = await _city(engine, db_settings, {"format": "knapsack"})
    north = city.projects["north"]
    prepared = [await _prepare(engine, db_settings, city, i % 2, [north[i]]) for i in range(3)]
    batcher = CastBatcher(make_session_factory(engine))
    sizes: list[int] = []
    store_batch = batcher._store_batch

    async def counting(batch: Any) -> Any:
        sizes.append(len(batch))
        return await store_batch(batch)

    monkeypatch.setattr(batcher, "_store_batch", counting)
    monkeypatch.setattr(batch_module, "GATHER_SECONDS", 0.2)

    async def later(p: Any, delay: float) -> Any:
        await asyncio.sleep(delay)
        return await batcher.store(p)

    results = await asyncio.gather(*(later(p, 0.02 * i) for i, p in enumerate(prepared)))
    assert all(isinstance(r, service.CastResult) for r in results)
    assert sizes == [3]
