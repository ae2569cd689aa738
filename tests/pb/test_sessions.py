from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import text

from pb.db import make_session_factory
from pb.security import token_hash
from pb.sessions import DatabaseStore


async def test_two_workers_share_sessions(engine):
    # Two stores with their own session factories, as two uvicorn workers would have.
    worker_a = DatabaseStore(make_session_factory(engine))
    worker_b = DatabaseStore(make_session_factory(engine))
    await worker_a.set("token-1", b'{"user_id": 7}', expires_in=3600)
    assert await worker_b.get("token-1") == b'{"user_id": 7}'
    assert await worker_b.exists("token-1")
    assert 3590 <= (await worker_b.expires_in("token-1")) <= 3600

    await worker_b.set("token-1", '{"user_id": 8}', expires_in=timedelta(hours=2))
    assert await worker_a.get("token-1") == b'{"user_id": 8}'

    await worker_a.delete("token-1")
    assert await worker_b.get("token-1") is None
    assert not await worker_b.exists("token-1")
    await worker_b.delete("token-1")  # deleting a missing key is fine


async def test_keys_are_stored_hashed(session_factory):
    store = DatabaseStore(session_factory)
    await store.set("secret-token", b"{}", expires_in=60)
    async with session_factory() as session:
        ids = (await session.exec(text("SELECT id FROM web_session"))).scalars().all()
    assert ids == [token_hash("secret-token")]


async def test_expired_values_are_missing(session_factory):
    store = DatabaseStore(session_factory)
    await store.set("old", b"{}", expires_in=timedelta(milliseconds=50))
    await store.set("forever", b"{}")
    await asyncio.sleep(0.1)
    assert await store.get("old") is None
    assert not await store.exists("old")
    assert await store.expires_in("old") is None
    assert await store.get("forever") == b"{}"
    assert await store.expires_in("forever") is None


async def test_renew_on_get(session_factory):
    store = DatabaseStore(session_factory)
    await store.set("k", b"{}", expires_in=10)
    assert await store.get("k", renew_for=1000) == b"{}"
    assert await store.expires_in("k") > 900
    await store.set("never", b"{}")
    await store.get("never", renew_for=1000)
    assert await store.expires_in("never") is None  # no expiry stays no expiry


async def test_delete_expired_and_delete_all(session_factory):
    store = DatabaseStore(session_factory)
    await store.set("a", b"{}", expires_in=timedelta(seconds=-1))
    await store.set("b", b"{}", expires_in=60)
    await store.set("c", b"{}")
    assert await store.delete_expired() == 1
    assert await store.exists("b") and await store.exists("c")
    await store.delete_all()
    assert not await store.exists("b") and not await store.exists("c")


async def test_read_on_a_given_session_sees_only_live_values(session_factory):
    store = DatabaseStore(session_factory)
    await store.set("live", "one", expires_in=60)
    await store.set("old", "two", expires_in=timedelta(seconds=-1))
    await store.set("forever", "three")
    async with session_factory() as session:
        assert await store.read(session, "live") == b"one"
        assert await store.read(session, "forever") == b"three"
        assert await store.read(session, "old") is None
        assert await store.read(session, "missing") is None
    # Reading neither renews nor removes anything: the expired row waits for delete_expired.
    assert await store.delete_expired() == 1


async def test_the_signed_in_user_is_kept_beside_the_data(session_factory, db_settings):
    from pb.accounts import AccountService

    async with session_factory() as session:
        user = await AccountService(session, db_settings).create_user(
            "sam@example.org", "a long enough passphrase 7", display_name="Sam"
        )
        await session.commit()
    store = DatabaseStore(session_factory)
    await store.set("visitor", '{"flash": []}', expires_in=60)
    await store.set("member", f'{{"uid": {user.id}, "pwf": "x"}}', expires_in=60)
    await store.set("odd", '{"uid": true}', expires_in=60)
    await store.set("broken", "not json", expires_in=60)

    async def user_of(key: str) -> int | None:
        async with session_factory() as session:
            result = await session.exec(
                text("SELECT user_id FROM web_session WHERE id = :id"),
                params={"id": token_hash(key)},
            )
            return result.scalar_one()

    assert [await user_of(k) for k in ("visitor", "member", "odd", "broken")] == [
        None, user.id, None, None
    ]  # fmt: skip
    await store.set("member", '{"flash": []}', expires_in=60)  # signed out: no user any more
    assert await user_of("member") is None
