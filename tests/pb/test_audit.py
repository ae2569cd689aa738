from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from enum import Enum

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from pb import audit
from pb.audit import GENESIS_HASH, append, canonical_json, count_entries, head_hash, verify_chain
from pb.db import make_session_factory, session_scope


async def _three(session):
    entries = [
        await append(
            session, "process.created", actor_id=1, subject="process:1", data={"name": "2025"}
        ),
        await append(
            session, "phase.changed", actor_id=1, subject="process:1", data={"to": "voting"}
        ),
        await append(session, "ballot.cast", subject="process:1"),
    ]
    await session.flush()
    return entries


async def _lift_guard(session, backend):
    """Simulate someone with direct database access removing the append-only guard."""
    if backend == "postgres":
        await session.exec(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
    else:
        await session.exec(text("DROP TRIGGER audit_entry_no_update"))
        await session.exec(text("DROP TRIGGER audit_entry_no_delete"))


async def test_empty_log(db_session):
    assert await verify_chain(db_session) == []
    assert await head_hash(db_session) == GENESIS_HASH
    assert await count_entries(db_session) == 0


async def test_appends_form_a_chain(db_session):
    first, second, third = await _three(db_session)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert len({first.hash, second.hash, third.hash}) == 3
    assert await head_hash(db_session) == third.hash
    assert await verify_chain(db_session) == []
    assert await count_entries(db_session) == 3
    assert first.data == '{"name":"2025"}' and third.data == "{}"
    assert first.at.tzinfo is not None
    latest = await audit.list_entries(db_session, subject="process:1", limit=2)
    assert [e.id for e in latest] == [third.id, second.id]


def test_canonical_json_is_deterministic():
    class Colour(Enum):
        RED = "red"

    value = {
        "b": {3, 1, 2},
        "a": Colour.RED,
        "é": datetime(2024, 1, 1, tzinfo=UTC),
    }
    assert canonical_json(value) == '{"a":"red","b":[1,2,3],"é":"2024-01-01T00:00:00.000000+00:00"}'
    with pytest.raises(TypeError):
        canonical_json({"x": object()})
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


async def test_edited_row_is_detected(db_session, backend):
    first, second, third = await _three(db_session)
    await _lift_guard(db_session, backend)
    await db_session.exec(
        text("UPDATE audit_entry SET data = :d WHERE id = :id"),
        params={"d": '{"to":"closed"}', "id": second.id},
    )
    assert await verify_chain(db_session) == [f"entry {second.id}: hash mismatch (row edited)"]


async def test_edited_and_rehashed_row_breaks_the_next_link(db_session, backend):
    first, second, third = await _three(db_session)
    await _lift_guard(db_session, backend)
    forged = audit.entry_hash(
        at=second.at,
        actor_id=2,
        action=second.action,
        subject=second.subject,
        data=second.data,
        prev_hash=second.prev_hash,
    )
    await db_session.exec(
        text("UPDATE audit_entry SET actor_id = 2, hash = :h WHERE id = :id"),
        params={"h": forged, "id": second.id},
    )
    problems = await verify_chain(db_session)
    assert len(problems) == 1 and problems[0].startswith(f"entry {third.id}: chain broken")


async def test_deleted_row_is_detected(db_session, backend):
    first, second, third = await _three(db_session)
    await _lift_guard(db_session, backend)
    await db_session.exec(text("DELETE FROM audit_entry WHERE id = :id"), params={"id": second.id})
    problems = await verify_chain(db_session)
    assert len(problems) == 1 and problems[0].startswith(f"entry {third.id}: chain broken")


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_entry SET action = 'x'", "DELETE FROM audit_entry"]
)
async def test_database_rejects_update_and_delete(session_factory, statement):
    async with session_factory() as session:
        await _three(session)
        await session.commit()
    async with session_factory() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.exec(text(statement))
        await session.rollback()
    async with session_factory() as session:
        assert await count_entries(session) == 3
        assert await verify_chain(session) == []


@pytest.mark.postgres
async def test_postgres_rejects_truncate(db_session):
    await _three(db_session)
    with pytest.raises(DBAPIError, match="append-only"):
        await db_session.exec(text("TRUNCATE audit_entry"))


async def test_concurrent_appends_stay_one_chain(engine):
    factory = make_session_factory(engine)

    async def one(i: int) -> None:
        async with session_scope(factory) as session:
            await append(session, "test.concurrent", subject=f"n:{i}", data={"i": i})
            await asyncio.sleep(0)  # hold the transaction open a moment

    results = await asyncio.gather(*(one(i) for i in range(20)), return_exceptions=True)
    assert [r for r in results if r is not None] == []
    async with session_scope(factory) as session:
        assert await count_entries(session) == 20
        assert await verify_chain(session) == []


async def test_append_many_chains_in_order_with_one_head_read(db_session):
    first = await append(db_session, "process.created", actor_id=1, subject="process:1")
    batch = await audit.append_many(
        db_session,
        [
            audit.PendingEntry("ballot.cast", subject="process:1", data={"district_id": d})
            for d in (3, 1, 2)
        ],
    )
    assert [e.prev_hash for e in batch] == [first.hash, batch[0].hash, batch[1].hash]
    assert [e.data_dict()["district_id"] for e in batch] == [3, 1, 2]
    # Stored in chain order: ids follow the chain, and the whole log verifies.
    assert [e.id for e in batch] == sorted(e.id for e in batch) and batch[0].id > first.id
    assert await head_hash(db_session) == batch[-1].hash
    assert await verify_chain(db_session) == []
    assert await audit.append_many(db_session, []) == []
    assert await count_entries(db_session) == 4


async def test_append_many_refuses_an_empty_action_before_writing(db_session):
    with pytest.raises(ValueError):
        await audit.append_many(
            db_session, [audit.PendingEntry("ballot.cast"), audit.PendingEntry("")]
        )
    assert await count_entries(db_session) == 0
