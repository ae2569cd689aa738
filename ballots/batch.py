"""Storing online casts together: many concurrent casts share one transaction and one commit.

Every cast appends an entry to the hash-chained audit log, whose appends are serialised: the
chain's lock is held until the transaction commits, and a commit waits for the write-ahead log to
reach the disk (about 5 ms on a small server). Stored one per transaction, casts would therefore
queue behind each other's disk flushes, at a few hundred per second at most. ``CastBatcher`` is
group commit done by the application: the requests of one worker check their ballots on their
own (phase, eligibility, format, in ``prepare_cast``) and hand them over; one task stores every
ballot handed over meanwhile in one transaction (multi-row ``INSERT … ON CONFLICT`` statements,
see ``write_casts``, then their audit entries with one lock of the chain and one multi-row insert)
and commits once.

Nothing is weaker than one transaction per cast:

- each ballot and its audit entry commit together, or neither does; a receipt is given only
  after the commit;
- one ballot per (process, district, pseudonym) is still the database's unique constraint;
- the voting phase is checked again inside the transaction, with the process rows locked
  against a concurrent phase change (``FOR SHARE`` on PostgreSQL; SQLite's write lock covers it),
  so no ballot is stored after voting closed, even by a request that checked just before;
- a ballot refused while storing (``AlreadyVoted``, the phase) fails alone; if the transaction
  itself fails (a receipt hash clash, a lost connection, a deadlock), every cast in it fails,
  nothing is stored and each voter is asked to try again (``Conflict``, 409).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from sqlalchemy import bindparam
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ballots.service import CastResult, PreparedCast, cast_audit_entry, write_casts
from pb import audit
from pb.errors import Conflict, DomainError
from pb.processes import Process, ProcessKind, WrongPhase, voting_phase

__all__ = ["GATHER_SECONDS", "MAX_BATCH", "CastBatcher"]

log = logging.getLogger("pb.ballots")

# Casts per transaction at most: bounds the time one transaction holds the audit chain.
MAX_BATCH = 64
# How long a batch waits for more casts before it starts: far below what a person notices, and
# about what one batch's round trips take on a busy server.
GATHER_SECONDS = 0.002

_Pending = tuple[PreparedCast, "asyncio.Future[CastResult]"]
# The phase check inside a batch's transaction, built once (run per batch).
_OPEN_STATEMENT = (
    select(Process.id, Process.kind, Process.phase)
    .where(col(Process.id).in_(bindparam("ids", expanding=True)))
    .order_by(col(Process.id))
    .with_for_update(read=True)
)


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
        # have): only its wait is cancelled, not the shared work. Its outcome is then read here,
        # so an unread refusal is not reported as a lost exception.
        future.add_done_callback(_read_outcome)
        return await asyncio.shield(future)

    async def _run(self) -> None:
        while self._pending:
            if len(self._pending) < MAX_BATCH:
                # Let the casts checked meanwhile join: a transaction's fixed cost (BEGIN, the
                # phase check, the chain's lock and head, COMMIT) is then shared by more casts.
                await asyncio.sleep(GATHER_SECONDS)
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                outcomes = await self._store_batch([p for p, _ in batch])
            except BaseException as exc:  # the transaction failed: every cast in it failed
                if isinstance(exc, DBAPIError):
                    log.warning("a batch of %d casts was not stored: %s", len(batch), exc)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(_retry(exc) if isinstance(exc, DBAPIError) else exc)
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

    async def _store_batch(self, batch: Sequence[PreparedCast]) -> list[CastResult | DomainError]:
        async with self._factory() as session:
            try:
                open_ids = await _open_processes(session, {p.process_id for p in batch})
                results: list[CastResult | DomainError] = [
                    WrongPhase("Voting is not open: the process left the voting phase.")
                    for _ in batch
                ]
                # Rows are written in key order (stable: a voter's casts keep their order), so
                # two transactions replacing the same ballots never wait on each other in a cycle.
                order = sorted(
                    (i for i, p in enumerate(batch) if p.process_id in open_ids),
                    key=lambda i: _key(batch[i]),
                )
                written = await write_casts(session, [batch[i] for i in order])
                stored: list[PreparedCast] = []
                for i, outcome in zip(order, written, strict=True):
                    results[i] = outcome
                    if isinstance(outcome, CastResult):
                        stored.append(batch[i])
                # Last: the chain is locked from here to the commit.
                await audit.append_many(
                    session, [cast_audit_entry(p) for p in stored], entries=False
                )
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        return results


def _retry(exc: DBAPIError) -> Conflict:
    """What each voter of a failed batch is told (nothing of the batch was stored)."""
    return Conflict("The ballot could not be stored; please try again.")


def _read_outcome(future: asyncio.Future[CastResult]) -> None:
    if not future.cancelled():
        future.exception()


def _key(prepared: PreparedCast) -> tuple[int, int, str]:
    return (prepared.process_id, prepared.district_id, prepared.voter)


async def _open_processes(session: AsyncSession, process_ids: set[int]) -> set[int]:
    """The processes among ``process_ids`` whose voting is open, locked against a phase change."""
    rows = (await session.exec(_OPEN_STATEMENT, params={"ids": sorted(process_ids)})).all()
    return {
        int(pid)
        for pid, kind, phase in rows
        if kind == ProcessKind.BUDGETING and phase == voting_phase(ProcessKind(kind))
    }
