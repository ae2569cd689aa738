from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from pb.accounts import LoginAttempt
from pb.db import create_engine, make_session_factory, metadata, session_scope
from pb.models import NAMING_CONVENTION, utcnow


def test_metadata_has_the_naming_convention():
    assert metadata.naming_convention == NAMING_CONVENTION


def test_utcnow_is_aware():
    assert utcnow().tzinfo is UTC


async def test_sqlite_connections_are_tuned(db_settings, backend):
    if backend != "sqlite":
        pytest.skip("SQLite pragmas")
    engine = create_engine(db_settings)
    try:
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 5000
    finally:
        await engine.dispose()


async def test_datetimes_come_back_aware_utc(db_session):
    local = datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    attempt = LoginAttempt(email="a@b.org", ip="1.2.3.4", succeeded=False, at=local)
    db_session.add(attempt)
    await db_session.commit()
    db_session.expunge_all()
    loaded = await db_session.get(LoginAttempt, attempt.id)
    assert loaded is not None
    assert loaded.at == local
    assert loaded.at.tzinfo is not None and loaded.at.utcoffset() == timedelta(0)


async def test_naive_datetimes_are_refused(db_session):
    db_session.add(LoginAttempt(email="a@b.org", ip="x", succeeded=False, at=datetime(2024, 1, 1)))
    with pytest.raises(Exception, match="naive datetime"):
        await db_session.flush()


async def test_session_scope_commits_or_rolls_back(engine):
    factory = make_session_factory(engine)
    async with session_scope(factory) as session:
        session.add(LoginAttempt(email="kept@b.org", ip="x", succeeded=True))
    with pytest.raises(RuntimeError):
        async with session_scope(factory) as session:
            session.add(LoginAttempt(email="lost@b.org", ip="x", succeeded=True))
            await session.flush()
            raise RuntimeError("boom")
    async with session_scope(factory) as session:
        emails = (await session.exec(text("SELECT email FROM login_attempt"))).scalars().all()
    assert emails == ["kept@b.org"]


async def test_foreign_keys_are_enforced(db_session):
    from sqlalchemy.exc import IntegrityError

    from pb.accounts import UserRole

    db_session.add(UserRole(user_id=999_999, role="resident"))
    with pytest.raises(IntegrityError):
        await db_session.flush()
