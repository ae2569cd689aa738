"""Storing online casts together: many concurrent casts share one transaction and one commit.

Every cast appends an entry to the hash-chained audit log, whose appends are serialised: the
chain's lock is held until the transaction commits, and a commit waits for the write-ahead log to
reach the disk (about 5 ms on a small server). Stored one per transaction, casts would therefore
queue behind each other's disk flushes, at a few hundred per second at most. ``CastBatcher`` is
group commit done by the application: the requests of one worker check their ballots on their
own (phase, eligibility, format, in ``prepare_cast``) and hand them over; one task stores every
ballot handed over meanwhile in one transaction (one ``INSERT … ON CONFLICT`` each, then their
audit entries with one lock of the chain and one multi-row insert) and commits once.

Nothing is weaker than one transaction per cast:

- each ballot and its audit entry commit together, or neither does; a receipt is given only
  after the commit;
- one ballot per (process, district, pseudonym) is still the database's unique constraint;
- the voting phase is checked again inside the transaction, with the process rows locked
  against a concurrent phase change (``FOR SHARE`` on PostgreSQL; SQLite's write lock covers it),
  so no ballot is stored after voting closed, even by a request that checked just before;
- a ballot refused while storing (``AlreadyVoted``, the phase) fails alone; if the transaction
  itself fails (a receipt hash clash, a lost connection), every cast in it fails, nothing is
  stored and each voter is asked to try again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ballots.service import CastResult, PreparedCast, cast_audit_entry, write_cast
from pb import audit
from pb.errors import AlreadyVoted, DomainError
from pb.processes import Process, ProcessKind, WrongPhase, voting_phase

__all__ = ["MAX_BATCH", "CastBatcher"]

# Casts per transaction at most: bounds the time one transaction holds the audit chain.
MAX_BATCH = 64

_Pending = tuple[PreparedCast, "asyncio.Future[CastResult]"]


class CastBatcher:
    """Stores prepared online casts in shared transactions; one per event loop and database.

    ``store`` returns the cast's result once its transaction has committed, or raises what
    storing it raised. No task outlives the work: a storing task starts with the first waiting
    cast and ends when none is left.
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = session_factory
        self._pending: list[_Pending] = []
        self._task: asyncio.Task[None] | None = None
        self.loop = asyncio.get_running_loop()

    async def store(self, prepared: PreparedCast) -> CastResult:
        future: asyncio.Future[CastResult] = self.loop.create_future()
        self._pending.append((prepared, future))
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self._run())
        # A request that goes away still has its ballot stored (as a single transaction would
        # have): only its wait is cancelled, not the shared work.
        return await asyncio.shield(future)

    async def _run(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                outcomes = await self._store_batch([p for p, _ in batch])
            except BaseException as exc:  # the transaction failed: every cast in it failed
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, DomainError):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    async def _store_batch(
        self, batch: Sequence[PreparedCast]
    ) -> list[CastResult | DomainError]:
        outcomes: list[CastResult | DomainError] = []
        async with self._factory() as session:
            try:
                open_ids = await _open_processes(session, {p.process_id for p in batch})
                stored: list[PreparedCast] = []
                for prepared in batch:
                    if prepared.process_id not in open_ids:
                        outcomes.append(WrongPhase("Voting has closed in the meantime."))
                        continue
                    try:
                        outcomes.append(await write_cast(session, prepared))
                    except DomainError as exc:
                        if not _leaves_transaction_usable(exc):
                            raise
                        outcomes.append(exc)
                        continue
                    stored.append(prepared)
                # Last: the chain is locked from here to the commit.
                await audit.append_many(session, [cast_audit_entry(p) for p in stored])
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        return outcomes


def _leaves_transaction_usable(exc: DomainError) -> bool:
    # AlreadyVoted comes from an ON CONFLICT that inserted nothing; anything else (a failed
    # statement) has aborted the transaction on PostgreSQL.
    return isinstance(exc, AlreadyVoted)


async def _open_processes(session: AsyncSession, process_ids: set[int]) -> set[int]:
    """The processes among ``process_ids`` whose voting is open, locked against a phase change."""
    rows = (
        await session.exec(
            select(Process.id, Process.kind, Process.phase)
            .where(col(Process.id).in_(sorted(process_ids)))
            .order_by(col(Process.id))
            .with_for_update(read=True)
        )
    ).all()
    return {
        int(pid)
        for pid, kind, phase in rows
        if kind == ProcessKind.BUDGETING and phase == voting_phase(ProcessKind(kind))
    }
