"""Migrations build exactly the schema the models describe, and come down cleanly."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from pb import migrate
from pb.db import create_engine


async def _schema_differences(settings) -> list:
    metadata = migrate.load_models()
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                )
            )
    finally:
        await engine.dispose()


async def _tables(settings) -> set[str]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


@pytest.fixture
def fresh_database(backend, settings, migrated_databases, tmp_path):
    """An empty SQLite file, or the PostgreSQL test database taken down to base first."""
    if backend == "sqlite":
        return replace(settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}")
    db = replace(settings, database_url=migrated_databases.url("postgres"))
    migrate.downgrade(db, "base")
    return db


async def test_upgrade_from_empty_matches_the_models_then_downgrades(fresh_database):
    assert (await _tables(fresh_database)) - {"alembic_version"} == set()
    migrate.upgrade(fresh_database)
    assert migrate.current_revision(fresh_database) == migrate.head_revision()
    differences = await _schema_differences(fresh_database)
    assert differences == [], (
        f"models and migrations differ; add a migration (`pb db revision -m ...`): {differences}"
    )
    tables = await _tables(fresh_database)
    assert {"user", "user_role", "login_attempt", "web_session", "audit_entry"} <= tables

    migrate.downgrade(fresh_database, "base")
    assert migrate.current_revision(fresh_database) is None
    assert (await _tables(fresh_database)) - {"alembic_version"} == set()

    migrate.upgrade(fresh_database)  # leave the shared PostgreSQL database as we found it
    assert migrate.current_revision(fresh_database) == migrate.head_revision()


def test_migration_files_are_date_prefixed_and_import_sqlmodel():
    files = sorted((migrate.MIGRATIONS_DIR / "versions").glob("*.py"))
    files = [f for f in files if f.name != "__init__.py"]
    assert files
    for path in files:
        assert re.match(r"^\d{4}_\d{2}_\d{2}_\d{4}-[0-9a-f]+_\w+\.py$", path.name), path.name
    template = (migrate.MIGRATIONS_DIR / "script.py.mako").read_text()
    assert "import sqlmodel" in template


def test_upgrade_works_from_inside_a_running_event_loop(settings, tmp_path: Path):
    import asyncio

    db = replace(settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'loop.sqlite3'}")

    async def inside() -> None:
        migrate.upgrade(db)

    asyncio.run(inside())
    assert migrate.current_revision(db) == migrate.head_revision()


async def test_existing_sessions_get_their_user_when_the_column_arrives(fresh_database):
    """Revision c7d4e5f60704 fills ``web_session.user_id`` from each session's data."""
    from sqlalchemy import text

    migrate.upgrade(fresh_database, "c6c3f4050603")
    sessions = {
        "member": '{"uid":1,"pwf":"x"}',
        "spaced": '{"flash": [], "uid": 1}',
        "gone": '{"uid":99}',
        "visitor": '{"flash":[]}',
        "odd": '{"uid":true}',
        "text": '{"flash":[{"message":"\\"uid\\": 1"}]}',
    }
    engine = create_engine(fresh_database)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    'INSERT INTO "user" (id, email, display_name, password_hash, is_active, '
                    "created_at, updated_at) VALUES (1, 'a@example.org', 'A', 'h', true, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            for key, data in sessions.items():
                await connection.execute(
                    text("INSERT INTO web_session (id, data) VALUES (:id, :data)"),
                    {"id": key, "data": data},
                )
    finally:
        await engine.dispose()
    migrate.upgrade(fresh_database)
    engine = create_engine(fresh_database)
    try:
        async with engine.connect() as connection:
            rows = dict(
                (await connection.execute(text("SELECT id, user_id FROM web_session"))).all()
            )
            await connection.execute(text("DELETE FROM web_session"))
            await connection.execute(text('DELETE FROM "user"'))
            await connection.commit()
    finally:
        await engine.dispose()
    assert rows == {
        "member": 1,
        "spaced": 1,
        "gone": None,
        "visitor": None,
        "odd": None,
        "text": None,
    }
