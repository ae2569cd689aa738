"""Shared pieces for every table: the constraint naming convention, aware UTC datetimes, mixins.

Importing this module sets the naming convention on ``SQLModel.metadata``; every models module
imports its mixins from here, so the convention is in place before any table is declared and
migrations get stable, predictable constraint names on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

__all__ = ["NAMING_CONVENTION", "IdMixin", "TZDateTime", "TimestampMixin", "utcnow"]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLModel.metadata.naming_convention = NAMING_CONVENTION


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (microsecond precision, as both databases store)."""
    return datetime.now(UTC)


class TZDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    PostgreSQL stores ``timestamptz``. SQLite has no time zones, so values are stored as naive UTC
    text, which still sorts and compares correctly, and come back marked as UTC. Naive datetimes
    are refused on the way in: they are almost always a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value!r}: use an aware datetime (pb.models.utcnow())"
            )
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class IdMixin(SQLModel):
    """Integer surrogate primary key, assigned by the database."""

    id: int | None = Field(default=None, primary_key=True)


class TimestampMixin(SQLModel):
    """Creation and last-update times (aware UTC)."""

    created_at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime, nullable=False)
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=TZDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )
