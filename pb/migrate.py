"""Alembic, driven from code: used by ``pb db …`` and by the tests.

The configuration lives here rather than in an ``alembic.ini`` so the database URL always comes
from ``Settings``. Migration files are date-prefixed: ``YYYY_MM_DD_HHMM-<rev>_<slug>.py``.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData

from pb.settings import Settings

__all__ = [
    "MIGRATIONS_DIR",
    "MODEL_MODULES",
    "alembic_config",
    "downgrade",
    "head_revision",
    "load_models",
    "revision",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Every module that declares tables.
MODEL_MODULES = (
    "pb.accounts",
    "pb.audit",
    "pb.processes",
    "proposals.models",
    "ballots.models",
    "results.models",
    "consultations.models",
)
FILE_TEMPLATE = "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s"

T = TypeVar("T")


def load_models() -> MetaData:
    """Import every models module and return the metadata they filled."""
    for name in MODEL_MODULES:
        importlib.import_module(name)  # every one exists: a missing one is a broken install
    from pb.db import metadata

    return metadata


def alembic_config(settings: Settings, *, with_models: bool = False) -> Config:
    """Alembic configuration for ``settings``; ``with_models`` imports every models module."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.set_main_option("timezone", "UTC")
    config.set_main_option("truncate_slug_length", "40")
    config.attributes["settings"] = settings
    config.attributes["load_models"] = with_models
    return config


def _run(fn: Callable[[], T]) -> T:
    """Run an Alembic command; env.py starts its own event loop, so leave a running one alone."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Migrate the database up to ``revision``."""
    _run(lambda: command.upgrade(alembic_config(settings), revision))


def downgrade(settings: Settings, revision: str) -> None:
    """Migrate the database down to ``revision`` (``base`` empties it)."""
    _run(lambda: command.downgrade(alembic_config(settings), revision))


def revision(settings: Settings, message: str, autogenerate: bool = True) -> str:
    """Write a new migration file (compared against the database when ``autogenerate``)."""
    script = _run(
        lambda: command.revision(
            alembic_config(settings, with_models=autogenerate),
            message=message,
            autogenerate=autogenerate,
        )
    )
    scripts = script if isinstance(script, list) else [script]
    return ", ".join(s.path for s in scripts if s is not None)


def head_revision() -> str | None:
    """The newest revision id among the migration files."""
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def current_revision(settings: Settings) -> str | None:
    """The revision the database is at (None when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    from pb.db import create_engine

    async def read() -> str | None:
        engine = create_engine(settings)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: MigrationContext.configure(sync).get_current_revision()
                )
        finally:
            await engine.dispose()

    return _run(lambda: asyncio.run(read()))
