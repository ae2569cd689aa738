"""Append-only, hash-chained audit log.

Each entry stores the SHA-256 of its own canonical content plus the previous entry's hash, so
editing, inserting or deleting a past entry breaks the chain and ``verify_chain`` names the
entry. Appends are serialised (a PostgreSQL advisory lock; on SQLite the write lock every
transaction takes) and ``prev_hash`` is unique, so the chain cannot fork. There is no update or
delete API, and database triggers reject UPDATE, DELETE (and on PostgreSQL TRUNCATE) on the table.

What the chain cannot show by itself is the removal of the newest entries; publish
``head_hash`` with certified results so that can be checked too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import Text, func, text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from pb.models import TZDateTime, utcnow

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "PendingEntry",
    "append",
    "append_many",
    "canonical_json",
    "count_entries",
    "entry_hash",
    "head_hash",
    "list_entries",
    "verify_chain",
]

GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock key for "the audit chain": the bytes of "pb:audit" as a 64-bit integer.
AUDIT_LOCK_KEY = int.from_bytes(b"pb:audit", "big")
_VERIFY_BATCH = 1000


class AuditEntry(SQLModel, table=True):
    """One audited action. Never updated or deleted."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=TZDateTime, nullable=False, index=True)
    actor_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=64, index=True)
    subject: str = Field(default="", max_length=200, index=True)
    data: str = Field(default="{}", sa_type=Text)
    prev_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64, unique=True)

    def data_dict(self) -> dict[str, Any]:
        """The entry's data, decoded."""
        return json.loads(self.data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return _jsonable(value.value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (Decimal, Fraction, UUID)):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot record {type(value).__name__} in the audit log")


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 text; sets, enums, datetimes converted."""
    return json.dumps(
        _jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(
    *, at: datetime, actor_id: int | None, action: str, subject: str, data: str, prev_hash: str
) -> str:
    """SHA-256 hex over the entry's canonical fields (``data`` is already canonical text)."""
    payload = canonical_json(
        {
            "v": 1,
            "at": _timestamp(at),
            "actor_id": actor_id,
            "action": action,
            "subject": subject,
            "data": data,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


_LOCK_STATEMENT = text("SELECT pg_advisory_xact_lock(:key)")
_HEAD_STATEMENT = select(AuditEntry.hash).order_by(col(AuditEntry.id).desc()).limit(1)
_INSERT_STATEMENT = sa.insert(AuditEntry.__table__)  # type: ignore[attr-defined]
_INSERT_RETURNING_ID = _INSERT_STATEMENT.returning(AuditEntry.__table__.c.id)  # type: ignore[attr-defined]


async def _lock_chain(session: AsyncSession) -> None:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        await session.exec(_LOCK_STATEMENT, params={"key": AUDIT_LOCK_KEY})
    # SQLite: pb.db begins every transaction with BEGIN IMMEDIATE, so this transaction already
    # holds the database's single write lock.


async def head_hash(session: AsyncSession) -> str:
    """Hash of the newest entry (``GENESIS_HASH`` for an empty log)."""
    result = await session.exec(_HEAD_STATEMENT)
    return result.first() or GENESIS_HASH


@dataclass(frozen=True)
class PendingEntry:
    """An entry to append with ``append_many``: the same fields as ``append`` takes."""

    action: str
    actor_id: int | None = None
    subject: str = ""
    data: Mapping[str, Any] | None = None


async def append(
    session: AsyncSession,
    action: str,
    *,
    actor_id: int | None = None,
    subject: str = "",
    data: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry at the head of the chain, inside the caller's transaction.

    The chain stays locked until that transaction ends, so append late in a unit of work.
    ``action`` is a dotted name (``user.roles_changed``); ``subject`` names what was acted on
    (``user:17``); ``data`` must be JSON-like (sets, enums, datetimes are converted).
    """
    entries = await append_many(session, [PendingEntry(action, actor_id, subject, data)])
    return entries[0]


async def append_many(
    session: AsyncSession, pending: Sequence[PendingEntry], *, entries: bool = True
) -> list[AuditEntry]:
    """Add several entries at the head of the chain, in order, inside the caller's transaction.

    One lock, one read of the head and one multi-row insert, however many entries: a unit of
    work that stores many actions at once (casts stored together, see ``ballots.batch``) holds
    the chain only for that. Returns the stored entries, or nothing with ``entries=False``
    (spares building the objects for a caller that does not look at them).
    """
    if any(not p.action for p in pending):
        raise ValueError("audit action must not be empty")
    texts = [canonical_json(dict(p.data or {})) for p in pending]
    if not pending:
        return []
    await _lock_chain(session)
    prev = await head_hash(session)
    rows: list[dict[str, Any]] = []
    for p, data_text in zip(pending, texts, strict=True):
        at = utcnow()
        digest = entry_hash(
            at=at,
            actor_id=p.actor_id,
            action=p.action,
            subject=p.subject,
            data=data_text,
            prev_hash=prev,
        )
        rows.append(
            {
                "at": at,
                "actor_id": p.actor_id,
                "action": p.action,
                "subject": p.subject,
                "data": data_text,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    if not entries:
        # With RETURNING, SQLAlchemy sends the rows as one multi-row INSERT (its "insertmanyvalues"
        # mode) instead of one execution per row.
        await session.exec(_INSERT_RETURNING_ID, params=rows)
        return []
    # Ids in chain order: verify_chain reads the chain by id.
    statement = _INSERT_STATEMENT.returning(
        AuditEntry.__table__.c.id,  # type: ignore[attr-defined]
        sort_by_parameter_order=True,
    )
    ids = (await session.exec(statement, params=rows)).scalars().all()
    return [AuditEntry(id=i, **row) for i, row in zip(ids, rows, strict=True)]


async def verify_chain(session: AsyncSession) -> list[str]:
    """Check every entry in order; return one message per broken entry (empty list = intact)."""
    problems: list[str] = []
    expected_prev = GENESIS_HASH
    last_id = 0
    columns = (
        AuditEntry.id,
        AuditEntry.at,
        AuditEntry.actor_id,
        AuditEntry.action,
        AuditEntry.subject,
        AuditEntry.data,
        AuditEntry.prev_hash,
        AuditEntry.hash,
    )
    while True:
        # Plain column rows, not ORM objects: read what is stored, not what the session cached.
        result = await session.exec(
            select(*columns)
            .where(col(AuditEntry.id) > last_id)
            .order_by(col(AuditEntry.id))
            .limit(_VERIFY_BATCH)
        )
        rows = result.all()
        if not rows:
            return problems
        for row in rows:
            if row.prev_hash != expected_prev:
                problems.append(
                    f"entry {row.id}: chain broken (an earlier entry was deleted, inserted or rehashed)"
                )
            recomputed = entry_hash(
                at=row.at,
                actor_id=row.actor_id,
                action=row.action,
                subject=row.subject,
                data=row.data,
                prev_hash=row.prev_hash,
            )
            if recomputed != row.hash:
                problems.append(f"entry {row.id}: hash mismatch (row edited)")
            expected_prev = row.hash
            last_id = row.id


async def count_entries(session: AsyncSession) -> int:
    result = await session.exec(select(func.count()).select_from(AuditEntry))
    return int(result.one())


async def list_entries(
    session: AsyncSession,
    *,
    action: str | None = None,
    subject: str | None = None,
    actor_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> list[AuditEntry]:
    """Newest first, optionally filtered (exact ``action``/``subject``/``actor_id``)."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).offset(offset).limit(limit)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if subject is not None:
        query = query.where(AuditEntry.subject == subject)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    result = await session.exec(query)
    return list(result.all())
