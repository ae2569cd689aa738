"""Alembic environment: async engine from ``Settings``, metadata from every models module.

Callers (``pb.migrate``) put the ``Settings`` in ``config.attributes["settings"]``; a caller that
already holds a synchronous connection may pass it as ``config.attributes["connection"]``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from pb.db import create_engine
from pb.migrate import load_models
from pb.models import TZDateTime
from pb.settings import Settings

config = context.config
settings: Settings = config.attributes.get("settings") or Settings.from_env()
# Models matter only when comparing (autogenerate); plain upgrades run without importing them.
target_metadata = load_models() if config.attributes.get("load_models", True) else None


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write portable SQLAlchemy types into migration files, not our Python classes."""
    if type_ == "type" and isinstance(obj, TZDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**options: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=render_item,
        **options,
    )


def run_migrations_offline() -> None:
    _configure(url=settings.database_url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _pragma(connection: Connection, pragma: str) -> None:
    """Run a PRAGMA on the raw connection, outside any transaction SQLAlchemy would begin."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def do_run_migrations(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    # SQLite "batch" migrations copy and drop tables; with foreign keys enforced, dropping a
    # parent table would cascade into its children. Switch enforcement off around the migration
    # (possible only outside a transaction) and check integrity before committing.
    toggle_fks = sqlite and not connection.in_transaction()
    if toggle_fks:
        _pragma(connection, "foreign_keys=OFF")
    try:
        _configure(connection=connection, render_as_batch=sqlite)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left {len(broken)} rows violating foreign keys")
    finally:
        if toggle_fks:
            _pragma(connection, "foreign_keys=ON")


async def run_async_migrations() -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
