"""Database engine, session factory, and a session scope for the CLI and background jobs.

SQLite (the embedded default) is tuned for a small web server with a few workers: WAL journal so
readers never wait for the writer, enforced foreign keys, a busy timeout, and ``BEGIN IMMEDIATE``
transactions. The last one means a transaction takes the write lock when it starts, so two
transactions never both read and then fail to upgrade to a write ("database is locked"); writers
queue instead, and anything read inside a transaction stays true until it commits (the audit
chain relies on that). PostgreSQL is reached through asyncpg with a pool per worker, without a
"pre-ping" round trip on every checkout: connections are recycled every half hour, and a
connection found broken (a restarted server) makes SQLAlchemy discard the whole pool, so only
the request that met it fails and the next ones reconnect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

import pb.models  # noqa: F401  (sets the naming convention on SQLModel.metadata)
from pb.settings import Settings

__all__ = ["AsyncSession", "create_engine", "make_session_factory", "metadata", "session_scope"]

metadata = SQLModel.metadata

SQLITE_BUSY_TIMEOUT_MS = 5000
# Per worker: enough for a few dozen concurrent requests (each holds a connection only for its
# own transaction); two workers stay well below PostgreSQL's default max_connections (100).
PG_POOL_SIZE = 16
PG_MAX_OVERFLOW = 8


def create_engine(settings: Settings, **engine_options: Any) -> AsyncEngine:
    """An async engine for ``settings.database_url``; ``engine_options`` override the defaults."""
    if settings.is_sqlite:
        options: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
        options.update(engine_options)
        engine = create_async_engine(settings.database_url, **options)
        _configure_sqlite(engine)
        return engine
    options = {
        "pool_size": PG_POOL_SIZE,
        "max_overflow": PG_MAX_OVERFLOW,
        # No pre-ping: it costs a round trip per checkout (see the module docstring).
        "pool_pre_ping": False,
        "pool_recycle": 1800,
        "connect_args": {"server_settings": {"application_name": "pb"}},
    }
    if "poolclass" in engine_options:  # another pool class may not take the sizing options
        del options["pool_size"], options["max_overflow"]
    options.update(engine_options)
    return create_async_engine(settings.database_url, **options)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (see the
        # module docstring); this also makes SAVEPOINT and transactional DDL behave.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(bind: AsyncEngine | AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit.

    ``bind`` is normally the engine. Given a connection that already has a transaction open (as
    in tests), sessions join it through savepoints, so their commits stay inside it.
    """
    options: dict[str, Any] = {}
    if isinstance(bind, AsyncConnection):
        options["join_transaction_mode"] = "create_savepoint"
    return async_sessionmaker(bind, class_=AsyncSession, expire_on_commit=False, **options)


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the block succeeds, roll back when it raises."""
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
