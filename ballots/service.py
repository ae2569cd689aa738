"""Casting ballots online and entering paper ballots; turnout once voting has closed.

One ballot per (process, district, voter pseudonym) is enforced by the database's unique
constraint, and the write is a single ``INSERT … ON CONFLICT`` statement, so concurrent casts by
one voter cannot both insert: with re-voting allowed (ballot config ``"revote": true``, the
default) the last one replaces the ballot, otherwise the first wins and the others get
``AlreadyVoted``. A paper ballot is never replaced, and a paper ballot cannot be entered for a
resident who already voted online (their pseudonyms are the same).

Each cast appends an audit entry that names the process, district and channel but neither the
voter nor the ballot's content.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ballots import formats
from ballots.cast_context import (
    BallotSpec,
    PreparedCast,
    ballot_content,
    check_open,
    config_for,
    context_statement,
    prepare,
    right_part,
    spec_for,
)
from ballots.models import Ballot
from ballots.verification import (
    pseudonym,
    receipt_hash,
    receipt_pair,
    roll_entry_by_reference,
    voter_right,
)
from pb import audit
from pb.accounts import AccountService, Role, User
from pb.errors import AlreadyVoted, Conflict, Forbidden, NotEligible, NotFound
from pb.models import utcnow
from pb.processes import District, Phase, Process, WrongPhase
from pb.settings import Settings
from proposals.models import Proposal
from proposals.service import ProposalService

__all__ = [
    "BallotForm",
    "BallotSpec",
    "CastResult",
    "PreparedCast",
    "Turnout",
    "ballot_content",
    "ballot_form",
    "cast_ballot",
    "cast_audit_entry",
    "cast_paper_ballot",
    "has_voted",
    "prepare_cast",
    "receipt_recorded",
    "revote_allowed",
    "turnout",
    "write_cast",
    "write_casts",
]


@dataclass(frozen=True)
class CastResult:
    """What the voter is told: the receipt code (shown once), the district and the channel."""

    receipt: str
    district_id: int
    channel: str
    district_name: str = ""


@dataclass(frozen=True)
class BallotForm:
    """Everything a ballot page (or a paper-ballot form) needs for one district."""

    process: Process
    district: District
    config: formats.BallotConfig
    projects: list[Proposal]

    @property
    def costs(self) -> dict[str, int]:
        return {str(p.id): int(p.official_cost or 0) for p in self.projects}


def revote_allowed(process: Process) -> bool:
    return bool(process.ballot_config_dict.get("revote", True))


def district_config(process: Process, district: District) -> formats.BallotConfig:
    """The frozen ballot configuration for one district (knapsack: the district's budget)."""
    return config_for(process.ballot_config_dict, district.budget)


async def ballot_form(
    session: AsyncSession, settings: Settings, process_id: int, district_id: int
) -> BallotForm:
    process = await session.get(Process, process_id)
    if process is None:
        raise NotFound("No such process.")
    district = await session.get(District, district_id)
    if district is None or district.process_id != process_id:
        raise NotFound("No such district in this process.")
    projects = await ProposalService(session, settings, None).ballot_projects(
        process_id, district_id
    )
    return BallotForm(process, district, district_config(process, district), projects)


async def _spec_and_right(
    session: AsyncSession, process_id: int, district_id: int, user_id: int
) -> tuple[BallotSpec, Sequence[Any]]:
    """One prebuilt query for the ballot and the voter's verification."""
    params = {"process_id": process_id, "district_id": district_id, "user_id": user_id}
    row = (await session.exec(context_statement(), params=params)).first()
    url = session.get_bind().engine.url
    spec = await spec_for(row, district_id, url, lambda: contextlib.nullcontext(session))
    return spec, right_part(row)


def _validate(form: BallotForm | BallotSpec, raw_ballot: object) -> formats.ValidBallot:
    return formats.validate_ballot(form.config, form.costs, raw_ballot)


def _insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


_BALLOT_KEY = ["process_id", "district_id", "voter_pseudonym"]


@functools.cache
def _online_upsert(dialect: str, replace: bool) -> Any:
    """The statement that stores online ballots, run with one parameter set per ballot (the
    rows go out as one multi-row ``INSERT … ON CONFLICT``); built once per dialect and rule.
    Returns the keys of the ballots written."""
    table = Ballot.__table__  # type: ignore[attr-defined]
    stmt = _insert(dialect)(table)
    if replace:
        stmt = stmt.on_conflict_do_update(
            index_elements=_BALLOT_KEY,
            set_={
                "content": stmt.excluded.content,
                "receipt_hash": stmt.excluded.receipt_hash,
                "cast_at": stmt.excluded.cast_at,
            },
            where=sa.text("ballot.channel = 'online'"),
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=_BALLOT_KEY)
    return stmt.returning(table.c.process_id, table.c.district_id, table.c.voter_pseudonym)


async def _write(
    session: AsyncSession,
    *,
    process_id: int,
    district_id: int,
    voter: str,
    channel: str,
    content: str,
    replace: bool,
) -> str | None:
    """Insert (or replace an online ballot); the receipt, or None if a ballot already stands."""
    dialect = session.get_bind().dialect.name
    receipt, digest = receipt_pair()
    now = utcnow()
    stmt = _insert(dialect)(Ballot).values(
        process_id=process_id,
        district_id=district_id,
        voter_pseudonym=voter,
        channel=channel,
        content=content,
        receipt_hash=digest,
        cast_at=now,
    )
    keys = ["process_id", "district_id", "voter_pseudonym"]
    if replace:
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={"content": content, "receipt_hash": digest, "cast_at": now},
            where=sa.text("ballot.channel = 'online'"),
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    try:
        row = (await session.exec(stmt.returning(Ballot.id))).first()  # type: ignore[call-overload]
    except IntegrityError:
        # Only the receipt hash can clash here (80 random bits): the transaction is lost,
        # nothing was stored, and the voter is asked to try again.
        raise Conflict("The ballot could not be stored; please try again.") from None
    return receipt if row is not None else None


async def cast_ballot(
    session: AsyncSession,
    settings: Settings,
    *,
    process_id: int,
    district_id: int,
    user_id: int,
    raw_ballot: object,
) -> CastResult:
    """Validate and store a verified resident's ballot for one district, in one transaction.

    Raises ``WrongPhase`` outside the voting phase, ``NotEligible`` for an unverified, under-age
    or wrong-district resident, ``InvalidBallot`` with the format's message, and
    ``AlreadyVoted`` when a ballot stands that may not be replaced. ``raw_ballot`` is what
    ``formats.validate_ballot`` reads, or a ``formats.FormBallot`` as posted by the ballot page.
    The ballot, the phase and the voter's right come from one query; the write is one statement.
    """
    prepared = await prepare_cast(
        session,
        settings,
        process_id=process_id,
        district_id=district_id,
        user_id=user_id,
        raw_ballot=raw_ballot,
    )
    result = await write_cast(session, prepared)
    # Last: the audit chain stays locked from here until the transaction ends.
    await audit.append_many(session, [cast_audit_entry(prepared)])
    return result


async def prepare_cast(
    session: AsyncSession,
    settings: Settings,
    *,
    process_id: int,
    district_id: int,
    user_id: int,
    raw_ballot: object,
) -> PreparedCast:
    """Every check ``cast_ballot`` makes, without writing: phase, eligibility, the ballot itself.

    One query (ballot, phase and the voter's right). Raises as ``cast_ballot`` does, except
    ``AlreadyVoted``, which only storing can tell.
    """
    spec, right_row = await _spec_and_right(session, process_id, district_id, user_id)
    return prepare(settings, spec, right_row, raw_ballot)


def cast_audit_entry(prepared: PreparedCast) -> audit.PendingEntry:
    """The audit entry of an online cast: process, district and channel; no voter, no content."""
    return audit.PendingEntry(
        "ballot.cast",
        subject=f"process:{prepared.process_id}",
        data={"district_id": prepared.district_id, "channel": "online"},
    )


async def write_cast(session: AsyncSession, prepared: PreparedCast) -> CastResult:
    """Store a prepared online ballot (one ``INSERT … ON CONFLICT``), without its audit entry.

    The caller appends ``cast_audit_entry(prepared)`` in the same transaction. Raises
    ``AlreadyVoted`` when a ballot stands that may not be replaced.
    """
    receipt = await _write(
        session,
        process_id=prepared.process_id,
        district_id=prepared.district_id,
        voter=prepared.voter,
        channel="online",
        content=prepared.content,
        replace=prepared.replace,
    )
    if receipt is None:
        raise AlreadyVoted(
            await _already_voted_message(
                session, prepared.process_id, prepared.district_id, prepared.voter
            )
        )
    return CastResult(receipt, prepared.district_id, "online", prepared.district_name)


async def write_casts(
    session: AsyncSession, prepared: Sequence[PreparedCast]
) -> list[CastResult | AlreadyVoted]:
    """Store several prepared online ballots with as few statements as possible.

    Ballots are written in rounds of distinct (process, district, voter) keys, in the given
    order, so a voter's later cast replaces their earlier one as if each had its own
    ``write_cast``; each round is one multi-row ``INSERT … ON CONFLICT`` per re-voting rule. A
    ballot that may not be replaced gets ``AlreadyVoted`` in its place in the answer. A failed
    statement (a receipt hash clash) raises ``Conflict``: the transaction is lost.
    """
    if not prepared:
        return []
    dialect = session.get_bind().dialect.name
    outcomes: list[CastResult | AlreadyVoted | None] = [None] * len(prepared)
    rounds: list[list[int]] = []
    seen: dict[tuple[int, int, str], int] = {}
    for i, p in enumerate(prepared):
        key = (p.process_id, p.district_id, p.voter)
        depth = seen.get(key, -1) + 1
        seen[key] = depth
        if depth == len(rounds):
            rounds.append([])
        rounds[depth].append(i)
    for members in rounds:
        for replace in (True, False):
            group = [i for i in members if prepared[i].replace is replace]
            if not group:
                continue
            now = utcnow()
            receipts: dict[int, str] = {}
            rows = []
            for i in group:
                p = prepared[i]
                receipts[i], digest = receipt_pair()
                rows.append(
                    {
                        "process_id": p.process_id,
                        "district_id": p.district_id,
                        "voter_pseudonym": p.voter,
                        "channel": "online",
                        "content": p.content,
                        "receipt_hash": digest,
                        "cast_at": now,
                    }
                )
            stmt = _online_upsert(dialect, replace)
            try:
                result = await session.exec(stmt, params=rows)  # type: ignore[call-overload]
                written = {tuple(r) for r in result.all()}
            except IntegrityError:
                raise Conflict("The ballot could not be stored; please try again.") from None
            for i in group:
                p = prepared[i]
                if (p.process_id, p.district_id, p.voter) in written:
                    outcomes[i] = CastResult(receipts[i], p.district_id, "online", p.district_name)
                else:
                    outcomes[i] = AlreadyVoted(
                        await _already_voted_message(session, p.process_id, p.district_id, p.voter)
                    )
    return [o for o in outcomes if o is not None]


async def _already_voted_message(
    session: AsyncSession, process_id: int, district_id: int, voter: str
) -> str:
    channel = (
        await session.exec(
            select(Ballot.channel).where(
                Ballot.process_id == process_id,
                Ballot.district_id == district_id,
                Ballot.voter_pseudonym == voter,
            )
        )
    ).first()
    if channel == "paper":
        return "A paper ballot has already been recorded for you in this district; it cannot be replaced."
    return "You have already voted in this district, and this process does not allow changing a ballot."


async def has_voted(
    session: AsyncSession, settings: Settings, process_id: int, user_id: int
) -> set[int]:
    """The districts in which this verified resident has a ballot (for their own pages only)."""
    try:
        right = await voter_right(session, settings, process_id, user_id)
    except NotEligible:
        return set()
    result = await session.exec(
        select(Ballot.district_id).where(
            Ballot.process_id == process_id, Ballot.voter_pseudonym == right.pseudonym
        )
    )
    return {int(d) for d in result.all()}


async def _require_role(
    session: AsyncSession, settings: Settings, actor: User, *roles: Role
) -> None:
    held = await AccountService(session, settings).roles_of(actor.id) if actor.id else set()
    if not actor.is_active or not held.intersection(roles):
        raise Forbidden("Only council officials can do this.")


async def cast_paper_ballot(
    session: AsyncSession,
    settings: Settings,
    *,
    actor: User,
    process_id: int,
    district_id: int,
    reference: str,
    raw_ballot: object,
) -> CastResult:
    """An official enters a paper ballot for the roll entry with ``reference``.

    Same checks as online; the roll entry is marked as having voted by the ballot itself (same
    pseudonym as an online vote), so a resident counts once whichever channel came first.
    """
    await _require_role(session, settings, actor, Role.OFFICIAL, Role.ADMIN)
    form = await ballot_form(session, settings, process_id, district_id)
    check_open(form.process)
    entry = await roll_entry_by_reference(session, settings, process_id, reference)
    if entry is None:
        raise NotEligible(
            "No entry on the residents roll has this reference number.", field="reference"
        )
    if district_id not in entry.district_ids:
        raise NotEligible(
            f"This resident is not registered to vote in {form.district.name}.", field="district_id"
        )
    if isinstance(raw_ballot, formats.FormBallot):
        raw_ballot = raw_ballot.raw(form.config, form.costs)
    valid = _validate(form, raw_ballot)
    voter = pseudonym(settings, process_id, f"roll:{entry.id}")
    receipt = await _write(
        session,
        process_id=process_id,
        district_id=district_id,
        voter=voter,
        channel="paper",
        content=ballot_content(valid),
        replace=False,
    )
    if receipt is None:
        raise AlreadyVoted("This resident has already voted in this district (online or on paper).")
    await audit.append(
        session,
        "ballot.paper_entered",
        actor_id=actor.id,
        subject=f"process:{process_id}",
        data={"district_id": district_id, "channel": "paper"},
    )
    return CastResult(receipt, district_id, "paper", form.district.name)


async def receipt_recorded(session: AsyncSession, process_id: int, receipt: str) -> bool:
    """Whether a ballot with this receipt is in the process's ballot store (content not shown)."""
    result = await session.exec(
        select(Ballot.id).where(
            Ballot.process_id == process_id, Ballot.receipt_hash == receipt_hash(receipt)
        )
    )
    return result.first() is not None


@dataclass(frozen=True)
class Turnout:
    """Ballots per district and channel; each voter counts once (one row per pseudonym)."""

    rows: list[tuple[District, int, int]]  # district, online, paper

    @property
    def online(self) -> int:
        return sum(r[1] for r in self.rows)

    @property
    def paper(self) -> int:
        return sum(r[2] for r in self.rows)

    @property
    def total(self) -> int:
        return self.online + self.paper


async def turnout(
    session: AsyncSession, settings: Settings, actor: User, process_id: int
) -> Turnout:
    """Turnout per district and channel, for officials, only once voting has closed."""
    await _require_role(session, settings, actor, Role.OFFICIAL, Role.ADMIN)
    process = await session.get(Process, process_id)
    if process is None:
        raise NotFound("No such process.")
    if Phase(process.phase) not in (Phase.CLOSED, Phase.CERTIFIED):
        raise WrongPhase("Turnout is shown only after voting has closed: no running counts.")
    districts = list(
        (
            await session.exec(
                select(District).where(District.process_id == process_id).order_by(District.id)
            )
        ).all()
    )
    counts = {
        (int(d), str(c)): int(n)
        for d, c, n in (
            await session.exec(
                select(Ballot.district_id, Ballot.channel, func.count())
                .where(Ballot.process_id == process_id)
                .group_by(Ballot.district_id, Ballot.channel)
            )
        ).all()
    }
    return Turnout(
        [(d, counts.get((d.id, "online"), 0), counts.get((d.id, "paper"), 0)) for d in districts]  # type: ignore[arg-type]
    )
