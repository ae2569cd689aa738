"""200 concurrent casts by one voter, each on its own connection: one ballot, every request answered."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from ballots import service
from ballots.models import Ballot
from ballots.verification import receipt_hash
from pb.db import create_engine, make_session_factory, session_scope
from pb.errors import AlreadyVoted
from tests.ballots.voting_city import build_city, import_default_roll, verify

CASTS = 200


async def _setup(engine: AsyncEngine, settings: Any, config: dict[str, Any]) -> Any:
    async with session_scope(make_session_factory(engine)) as session:
        city = await build_city(session, settings, ballot_config=config, tag="race")
        await import_default_roll(session, settings, city)
        await verify(session, settings, city, city.voters[0], "R-001")
        return city


async def _storm(db_settings: Any, city: Any) -> list[Any]:
    """Each cast in its own session and transaction (30 connections), all released at once."""
    north = city.projects["north"]
    ballots = [[north[i % 3]] for i in range(CASTS)]
    engine = create_engine(db_settings, pool_size=30, max_overflow=0, pool_timeout=120)
    factory = make_session_factory(engine)
    start = asyncio.Event()

    async def one(raw: list[str]) -> Any:
        await start.wait()
        try:
            async with session_scope(factory) as session:
                return await service.cast_ballot(
                    session, db_settings, process_id=city.process.id,
                    district_id=city.north.id, user_id=city.voters[0].id, raw_ballot=raw,
                )  # fmt: skip
        except AlreadyVoted as exc:
            return exc

    tasks = [asyncio.create_task(one(raw)) for raw in ballots]
    await asyncio.sleep(0.05)
    start.set()
    try:
        return list(await asyncio.wait_for(asyncio.gather(*tasks), timeout=120))
    finally:
        await engine.dispose()


async def _rows(engine: AsyncEngine) -> list[Ballot]:
    async with session_scope(make_session_factory(engine)) as session:
        return list((await session.exec(select(Ballot))).all())


@pytest.mark.postgres
async def test_concurrent_revotes_leave_one_ballot_the_last_receipt(
    engine: AsyncEngine, db_settings: Any, backend: str
) -> None:
    city = await _setup(engine, db_settings, {"format": "knapsack"})
    results = await _storm(db_settings, city)
    assert len(results) == CASTS
    assert all(isinstance(r, service.CastResult) for r in results), results[:3]
    [row] = await _rows(engine)
    # The stored ballot carries the receipt of one of the casts, and its content.
    receipts = {receipt_hash(r.receipt) for r in results}
    assert row.receipt_hash in receipts
    assert json.loads(row.content)["projects"][0] in city.projects["north"]


@pytest.mark.postgres
async def test_concurrent_casts_without_revote_leave_exactly_the_first(
    engine: AsyncEngine, db_settings: Any, backend: str
) -> None:
    city = await _setup(engine, db_settings, {"format": "knapsack", "revote": False})
    results = await _storm(db_settings, city)
    assert len(results) == CASTS
    won = [r for r in results if isinstance(r, service.CastResult)]
    lost = [r for r in results if isinstance(r, AlreadyVoted)]
    assert len(won) == 1 and len(lost) == CASTS - 1
    [row] = await _rows(engine)
    assert row.receipt_hash == receipt_hash(won[0].receipt)
