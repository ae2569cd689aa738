"""Fixtures shared by every package's tests.

Database tests run on SQLite and, when ``PB_TEST_DATABASE_URL`` is set, on PostgreSQL too: any
test that uses a database fixture is parametrised over ``backend`` ("sqlite", "postgres").
A test marked ``@pytest.mark.postgres`` runs on PostgreSQL only. PostgreSQL cases skip with the
reason "PB_TEST_DATABASE_URL not set" when there is no server. The schema comes from running the
Alembic migrations once per database per test session, so the migrations are exercised too.

Which fixture to take:

- ``settings``: test settings (cheap argon2, a temporary SQLite file that is *not* migrated).
- ``db_session``: an ``AsyncSession`` inside a transaction that is rolled back after the test;
  code under test may ``commit()`` (that only releases a savepoint). The usual choice.
- ``session_factory``: a session factory whose sessions share that rolled-back transaction (for
  code that opens its own sessions, e.g. ``DatabaseStore``); use the sessions one at a time.
- ``engine``: a real engine on the migrated database, for tests that need several connections
  (concurrency, CLI-like code). Data it commits is removed after the test.
- ``db_settings``: ``settings`` pointing at the migrated database that ``engine`` uses.

Warning: the database named by ``PB_TEST_DATABASE_URL`` is wiped at the start of the session.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from pb.db import AsyncSession, create_engine, make_session_factory
from pb.settings import Settings

PG_URL_VARIABLE = "PB_TEST_DATABASE_URL"
PG_SKIP_REASON = "PB_TEST_DATABASE_URL not set"
TEST_SECRET_KEY = "test-secret-key-5f0c1e9a7b3d42e8a6c1f0b9d8e7a6c5"

T = TypeVar("T")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give every database test a ``backend``: both, or PostgreSQL only when marked so."""
    if "backend" not in metafunc.fixturenames:
        return
    if any(
        "backend" in marker.args[0] for marker in metafunc.definition.iter_markers("parametrize")
    ):
        return
    params = [pytest.param("postgres", marks=pytest.mark.postgres, id="postgres")]
    if metafunc.definition.get_closest_marker("postgres") is None:
        params.insert(0, pytest.param("sqlite", id="sqlite"))
    metafunc.parametrize("backend", params)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") is not None and not os.environ.get(PG_URL_VARIABLE):
        pytest.skip(PG_SKIP_REASON)


def _blocking(fn: Callable[[], T]) -> T:
    """Run ``fn`` (which may start its own event loop) even if a loop is running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def make_test_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'pb.sqlite3'}",
        "secret_key": TEST_SECRET_KEY,
        "argon2_time_cost": 1,
        "argon2_memory_cost": 64,
        "media_dir": str(tmp_path / "media"),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def _reset_postgres(url: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            await connection.exec_driver_sql("CREATE SCHEMA public")
    finally:
        await engine.dispose()


async def truncate_postgres(engine: AsyncEngine) -> None:
    """Empty every table but ``alembic_version`` (the audit log's guard is lifted for this)."""
    async with engine.begin() as connection:
        result = await connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
        )
        names = list(result.scalars())
        if not names:
            return
        guarded = "audit_entry" in names
        if guarded:
            await connection.exec_driver_sql("ALTER TABLE audit_entry DISABLE TRIGGER USER")
        tables = ", ".join(f'"{name}"' for name in names)
        await connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        if guarded:
            await connection.exec_driver_sql("ALTER TABLE audit_entry ENABLE TRIGGER USER")


class MigratedDatabases:
    """One migrated database per backend per test session, made on first use."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._urls: dict[str, str] = {}

    def url(self, backend: str) -> str:
        if backend not in self._urls:
            self._urls[backend] = _blocking(lambda: self._prepare(backend))
        return self._urls[backend]

    def _prepare(self, backend: str) -> str:
        from pb import migrate

        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{self.directory / 'template.sqlite3'}"
        else:
            url = os.environ[PG_URL_VARIABLE]
            asyncio.run(_reset_postgres(url))
        migrate.upgrade(make_test_settings(self.directory, database_url=url))
        return url


@pytest.fixture(scope="session")
def migrated_databases(tmp_path_factory: pytest.TempPathFactory) -> MigratedDatabases:
    return MigratedDatabases(tmp_path_factory.mktemp("databases"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_test_settings(tmp_path)


@pytest.fixture
def database_url(backend: str, migrated_databases: MigratedDatabases, tmp_path: Path) -> str:
    """A migrated database: a fresh copy of the SQLite template, or the PostgreSQL test database."""
    template = migrated_databases.url(backend)
    if backend != "sqlite":
        return template
    source = Path(template.split("///", 1)[1])
    target = tmp_path / "migrated.sqlite3"
    shutil.copyfile(source, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def db_settings(settings: Settings, database_url: str) -> Settings:
    return replace(settings, database_url=database_url)


@pytest.fixture
async def engine(db_settings: Settings, backend: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_settings)
    try:
        yield engine
        if backend == "postgres":
            await truncate_postgres(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def db_connection(db_settings: Settings) -> AsyncIterator[AsyncConnection]:
    engine = create_engine(db_settings, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            try:
                yield connection
            finally:
                if transaction.is_active:
                    await transaction.rollback()
    finally:
        await engine.dispose()


@pytest.fixture
def session_factory(db_connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(db_connection)


@pytest.fixture
async def db_session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session
