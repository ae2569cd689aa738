"""A Litestar ``Store`` kept in the database, so every worker sees the same web sessions.

Keys (session tokens from cookies) are stored only as their SHA-256, so reading the table does not
let anyone take over a session. Values are UTF-8 text (Litestar stores session data as JSON).
Expired rows count as missing; ``delete_expired`` removes them in bulk. The user a session signs in
(``SESSION_USER_KEY`` in its data) is also kept in a column, so a query can join a session to its
user.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from litestar.stores.base import Store
from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from pb.accounts import WebSession
from pb.db import session_scope
from pb.models import utcnow
from pb.security import token_hash

__all__ = ["READ_STATEMENT", "SESSION_USER_KEY", "DatabaseStore", "live_value"]

# The key of the signed-in user's id in the session data; also stored in ``WebSession.user_id``.
SESSION_USER_KEY = "uid"

# Built once: every signed-in request runs it (parameter ``id``: the token's hash).
READ_STATEMENT = select(WebSession.data, WebSession.expires_at).where(
    col(WebSession.id) == bindparam("id")
)


def _expiry(expires_in: int | timedelta | None) -> datetime | None:
    if expires_in is None:
        return None
    if not isinstance(expires_in, timedelta):
        expires_in = timedelta(seconds=expires_in)
    return utcnow() + expires_in


def _live(expires_at: datetime | None) -> bool:
    return expires_at is None or expires_at > utcnow()


def _user_of(data: str) -> int | None:
    """The user id the session data names (``SESSION_USER_KEY``), if any."""
    try:
        decoded = json.loads(data)
    except ValueError:
        return None
    user_id = decoded.get(SESSION_USER_KEY) if isinstance(decoded, dict) else None
    return user_id if isinstance(user_id, int) and not isinstance(user_id, bool) else None


def live_value(row: Any) -> bytes | None:
    """The value of a row whose first columns are a session's data and expiry (as
    ``READ_STATEMENT`` reads them); None for no row, no session (an outer join) or an expired one."""
    if row is None or row[0] is None or not _live(row[1]):
        return None
    return row[0].encode("utf-8")  # type: ignore[no-any-return]


class DatabaseStore(Store):
    """Key/value store on the ``web_session`` table; each call is its own short transaction."""

    __slots__ = ("_factory",)

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = session_factory

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        data = value.decode("utf-8") if isinstance(value, bytes) else value
        row = {
            "id": token_hash(key),
            "data": data,
            "expires_at": _expiry(expires_in),
            "user_id": _user_of(data),
        }
        async with session_scope(self._factory) as session:
            dialect = session.get_bind().dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            statement = insert(WebSession).values(**row)
            statement = statement.on_conflict_do_update(
                index_elements=[WebSession.id],
                set_={
                    "data": statement.excluded.data,
                    "expires_at": statement.excluded.expires_at,
                    "user_id": statement.excluded.user_id,
                },
            )
            await session.exec(statement)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        async with session_scope(self._factory) as session:
            row = await session.get(WebSession, token_hash(key))
            if row is None:
                return None
            if not _live(row.expires_at):
                await session.delete(row)
                return None
            if renew_for and row.expires_at is not None:
                row.expires_at = _expiry(renew_for)
                session.add(row)
            return row.data.encode("utf-8")

    async def read(self, session: AsyncSession, key: str) -> bytes | None:
        """The live value of ``key`` read on ``session`` (one statement, no transaction of its own).

        The web app reads the session this way on the request's own database session, so a
        request costs one transaction, not two. Expired rows count as missing and are left to
        ``delete_expired``.
        """
        result = await session.exec(READ_STATEMENT, params={"id": token_hash(key)})
        return live_value(result.first())

    async def delete(self, key: str) -> None:
        async with session_scope(self._factory) as session:
            await session.exec(delete(WebSession).where(col(WebSession.id) == token_hash(key)))

    async def delete_all(self) -> None:
        async with session_scope(self._factory) as session:
            await session.exec(delete(WebSession))

    async def delete_expired(self) -> int:
        """Remove every expired row; returns how many."""
        async with session_scope(self._factory) as session:
            result = await session.exec(
                delete(WebSession).where(col(WebSession.expires_at) <= utcnow())
            )
            return result.rowcount or 0

    async def exists(self, key: str) -> bool:
        found, expires_at = await self._lookup(key)
        return found and _live(expires_at)

    async def expires_in(self, key: str) -> int | None:
        """Seconds left; None if the key is missing, expired, or never expires."""
        found, expires_at = await self._lookup(key)
        if not found or expires_at is None:
            return None
        seconds = int((expires_at - utcnow()).total_seconds())
        return seconds if seconds > 0 else None

    async def _lookup(self, key: str) -> tuple[bool, datetime | None]:
        async with session_scope(self._factory) as session:
            result = await session.exec(
                select(WebSession.expires_at).where(col(WebSession.id) == token_hash(key))
            )
            rows = result.all()
        return (True, rows[0]) if rows else (False, None)
