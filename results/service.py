"""Close the vote, count every district, sign off and certify.

The count (``run_tally``) reads each district's ballots through ``ballots.export.load_election``
(the only bridge from the database to the tally), reduces the election to its canonical form
(``results.canonical``), runs the frozen rule in a worker thread so the event loop keeps serving,
and stores the input digest and the outcome. Each district is written in its own short
transaction, and the progress with it, so a page can show how far the count is; the result
becomes public only when the last district is stored and the status turns ``tallied``. Counting
the same ballots again gives the identical result (same input digest, same outcome JSON).

Certification needs ``required_signoffs`` different administrators (two by default) to approve
the same result. The last sign-off builds the signed package in the same transaction, stores it
(one per process: the database refuses a second) and moves the process to ``certified``; from
then on the result can no longer change.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

import pb
import tally
from pb import audit
from pb.accounts import AccountService, Role, User
from pb.db import session_scope
from pb.errors import Conflict, Forbidden, InvalidInput, NotFound
from pb.models import utcnow
from pb.processes import (
    District,
    Phase,
    PhaseChange,
    Process,
    ProcessKind,
    ProcessService,
    WrongPhase,
    config_hash,
)
from pb.settings import Settings
from results import signing
from results.canonical import (
    canonical_json,
    election_from_json,
    election_json,
    normalize,
    outcome_json,
    sha256_hex,
)
from results.models import CertifiedPackage, DistrictResult, ProcessResult, ResultStatus, SignOff
from tally.model import Election, Outcome

__all__ = [
    "MAX_SIGNOFFS",
    "ResultService",
    "ResultView",
    "comparison",
    "explain_project",
    "recount",
    "run_tally",
    "software_version",
    "tally_process",
]

MAX_SIGNOFFS = 5
# A count still "tallying" after this long was interrupted (the server stopped): it may restart.
STALE_COUNT = timedelta(minutes=15)


def software_version() -> str:
    return f"pb {pb.__version__}"


# ------------------------------------------------------------------------- re-counting cache

_CACHE: OrderedDict[tuple[str, str, str, str], tuple[Election, Outcome]] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 32


def recount(result: ProcessResult, district: DistrictResult) -> tuple[Election, Outcome]:
    """The stored input and its outcome as objects (for explanations), re-counted once and kept.

    Raises ``Conflict`` if the re-count differs from the stored outcome, which would mean the
    stored result was altered.
    """
    key = (district.input_sha256, result.rule_id, result.rule_params, result.tie_break)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    election = election_from_json(district.input_json)
    outcome = tally.run(result.rule_id, election, result.tie_break, **result.rule_params_dict)
    if outcome_json(outcome) != district.outcome_json:
        raise Conflict("The stored result differs from a re-count of its own input.")
    with _CACHE_LOCK:
        _CACHE[key] = (election, outcome)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return election, outcome


# ------------------------------------------------------------------------------- the count


async def _channels(session: AsyncSession, process_id: int, district_id: int) -> dict[str, int]:
    from ballots.models import Ballot as StoredBallot

    rows = await session.exec(
        select(StoredBallot.channel, func.count())
        .where(StoredBallot.process_id == process_id, StoredBallot.district_id == district_id)
        .group_by(StoredBallot.channel)
    )
    counts = {"online": 0, "paper": 0}
    counts.update({str(c): int(n) for c, n in rows.all()})
    return counts


def _count(rule_id: str, election: Election, tie_break: str, params: dict[str, Any]) -> Outcome:
    return tally.run(rule_id, election, tie_break, **params)


async def run_tally(
    factory: async_sessionmaker[AsyncSession], settings: Settings, process_id: int
) -> ProcessResult:
    """Count every district of a process whose result is ``tallying`` (see ``start_tally``).

    Safe to call from a background task: it opens its own sessions. On failure the result is
    marked ``failed`` with the reason, which the admin page shows, and the error is re-raised.
    """
    async with session_scope(factory) as session:
        result = await _result_row(session, process_id)
        if result is None or result.status != ResultStatus.TALLYING:
            raise WrongPhase("No count was started for this process.")
        rule_id, tie_break = result.rule_id, result.tie_break
        params = result.rule_params_dict
        started_by = result.tallied_by
        districts = [
            (d.id, d.name) for d in await ProcessService(session, settings).districts(process_id)
        ]
    try:
        digests: dict[str, str] = {}
        for district_id, _name in districts:
            from ballots.export import load_election

            async with session_scope(factory) as session:
                election = normalize(await load_election(session, process_id, district_id))
                channels = await _channels(session, process_id, district_id)
            text = election_json(election)
            outcome = await asyncio.to_thread(_count, rule_id, election, tie_break, params)
            async with session_scope(factory) as session:
                row = (
                    await session.exec(
                        select(DistrictResult).where(
                            DistrictResult.process_id == process_id,
                            DistrictResult.district_id == district_id,
                        )
                    )
                ).first() or DistrictResult(process_id=process_id, district_id=district_id)
                row.input_json = text
                row.input_sha256 = sha256_hex(text)
                row.outcome_json = outcome_json(outcome)
                row.num_voters = election.num_voters
                row.channels = canonical_json(channels)
                row.tallied_at = utcnow()
                session.add(row)
                await session.exec(
                    sa.update(ProcessResult)
                    .where(col(ProcessResult.process_id) == process_id)
                    .values(districts_done=ProcessResult.districts_done + 1)
                    .execution_options(synchronize_session=False)
                )
                digests[str(district_id)] = row.input_sha256
        async with session_scope(factory) as session:
            result = await _result_row(session, process_id)
            assert result is not None
            result.status = ResultStatus.TALLIED
            result.tallied_at = utcnow()
            result.error = ""
            session.add(result)
            await session.flush()
            await audit.append(
                session,
                "results.tallied",
                actor_id=started_by,
                subject=f"process:{process_id}",
                data={
                    "rule_id": rule_id,
                    "rule_params": params,
                    "tie_break": tie_break,
                    "input_sha256": digests,
                    "result_sha256": await _result_digest(session, process_id),
                },
            )
            return result
    except Exception as exc:
        async with session_scope(factory) as session:
            result = await _result_row(session, process_id)
            if result is not None:
                result.status = ResultStatus.FAILED
                result.error = str(exc) or type(exc).__name__
                session.add(result)
                await session.flush()
                await audit.append(
                    session,
                    "results.tally_failed",
                    actor_id=started_by,
                    subject=f"process:{process_id}",
                    data={"error": result.error},
                )
        raise


async def tally_process(
    factory: async_sessionmaker[AsyncSession], settings: Settings, actor: User, process_id: int
) -> ProcessResult:
    """Start and run the count in one call (CLI, tests)."""
    async with session_scope(factory) as session:
        await ResultService(session, settings).start_tally(actor, process_id)
    return await run_tally(factory, settings, process_id)


async def _result_row(session: AsyncSession, process_id: int) -> ProcessResult | None:
    found = await session.exec(select(ProcessResult).where(ProcessResult.process_id == process_id))
    return found.first()


async def _district_rows(session: AsyncSession, process_id: int) -> list[DistrictResult]:
    found = await session.exec(
        select(DistrictResult)
        .where(DistrictResult.process_id == process_id)
        .order_by(col(DistrictResult.district_id))
    )
    return list(found.all())


async def _result_digest(session: AsyncSession, process_id: int) -> str:
    """SHA-256 over every district's input and outcome digests: what a sign-off approves."""
    rows = await _district_rows(session, process_id)
    return sha256_hex(
        canonical_json([[r.district_id, r.input_sha256, sha256_hex(r.outcome_json)] for r in rows])
    )


# ------------------------------------------------------------------------------- service


@dataclass(frozen=True)
class ResultView:
    """A process's result as pages and the API show it."""

    process: Process
    result: ProcessResult
    districts: list[tuple[District, DistrictResult]]
    package: CertifiedPackage | None
    signoffs: list[tuple[SignOff, str]]


class ResultService:
    """Reads and admin actions on results; every write is audit-logged. The caller commits."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    # ---- reads -------------------------------------------------------------------------------

    async def result(self, process_id: int) -> ProcessResult | None:
        return await _result_row(self.session, process_id)

    async def view(self, process_id: int, *, public: bool = True) -> ResultView:
        """The result with its districts; ``NotFound`` while it is not public (``public``)."""
        process = await ProcessService(self.session, self.settings).get(process_id)
        result = await self.result(process_id)
        if public and (
            Phase(process.phase) not in (Phase.CLOSED, Phase.CERTIFIED)
            or result is None
            or not result.is_public
        ):
            raise NotFound("The results of this process are not published yet.")
        if result is None:
            raise NotFound("This process has not been counted yet.")
        districts = await ProcessService(self.session, self.settings).districts(process_id)
        rows = {r.district_id: r for r in await _district_rows(self.session, process_id)}
        package = (
            await self.session.exec(
                select(CertifiedPackage).where(CertifiedPackage.process_id == process_id)
            )
        ).first()
        return ResultView(
            process=process,
            result=result,
            districts=[(d, rows[d.id]) for d in districts if d.id in rows],
            package=package,
            signoffs=await self.signoffs(process_id),
        )

    async def signoffs(self, process_id: int) -> list[tuple[SignOff, str]]:
        found = await self.session.exec(
            select(SignOff, User.display_name)
            .join(User, col(User.id) == SignOff.user_id)
            .where(SignOff.process_id == process_id)
            .order_by(col(SignOff.signed_at), col(SignOff.id))
        )
        return [(s, str(name)) for s, name in found.all()]

    async def published(self) -> list[tuple[Process, ProcessResult]]:
        """Processes whose results are public, newest first."""
        found = await self.session.exec(
            select(Process, ProcessResult)
            .join(ProcessResult, col(ProcessResult.process_id) == Process.id)
            .where(
                col(ProcessResult.status).in_([ResultStatus.TALLIED, ResultStatus.CERTIFIED]),
                col(Process.phase).in_([Phase.CLOSED, Phase.CERTIFIED]),
            )
            .order_by(col(Process.id).desc())
        )
        return [(p, r) for p, r in found.all()]

    async def package(self, process_id: int) -> CertifiedPackage:
        found = (
            await self.session.exec(
                select(CertifiedPackage).where(CertifiedPackage.process_id == process_id)
            )
        ).first()
        if found is None:
            raise NotFound("This result is not certified yet: there is no package to download.")
        return found

    # ---- writes ------------------------------------------------------------------------------

    async def _require_admin(self, actor: User | None, what: str) -> None:
        if actor is None or actor.id is None:
            raise Forbidden(f"Only an administrator can {what}.")
        if Role.ADMIN not in await AccountService(self.session, self.settings).roles_of(actor.id):
            raise Forbidden(f"Only an administrator can {what}.")

    async def close_voting(self, actor: User, process_id: int) -> ProcessResult:
        """End the vote (voting → closed) and start the count."""
        await self._require_admin(actor, "close the vote")
        process = await ProcessService(self.session, self.settings).get(process_id)
        if process.kind != ProcessKind.BUDGETING:
            raise WrongPhase("Only a participatory budget is counted here.")
        if process.phase != Phase.VOTING:
            raise WrongPhase(
                f"The vote can be closed only while it is open (now: {process.phase})."
            )
        await ProcessService(self.session, self.settings).advance_phase(
            actor, process_id, Phase.CLOSED
        )
        return await self.start_tally(actor, process_id)

    async def start_tally(self, actor: User, process_id: int) -> ProcessResult:
        """Mark the count as started; ``run_tally`` does the counting.

        Refused before the vote is closed, after certification, while a count is running, and
        when the configuration no longer matches the hash frozen when voting opened.
        """
        await self._require_admin(actor, "count the votes")
        processes = ProcessService(self.session, self.settings)
        process = await processes.get(process_id)
        if process.kind != ProcessKind.BUDGETING:
            raise WrongPhase("Only a participatory budget is counted here.")
        if process.phase == Phase.CERTIFIED:
            raise Conflict("The result is certified and can no longer change.")
        if process.phase != Phase.CLOSED:
            raise WrongPhase(
                f"Votes are counted only after voting has closed (the process is in the "
                f"{process.phase} phase)."
            )
        if process.rule_id not in tally.RULES:
            raise InvalidInput(f"Unknown rule {process.rule_id!r}: the count cannot run.")
        districts = await processes.districts(process_id)
        if process.frozen_hash and config_hash(process, districts) != process.frozen_hash:
            raise Conflict(
                "The configuration no longer matches the hash frozen when voting opened; "
                "the count is refused."
            )
        result = await self.result(process_id)
        if (
            result is not None
            and result.status == ResultStatus.TALLYING
            and utcnow() - result.started_at < STALE_COUNT
        ):
            raise Conflict("A count is already running for this process.")
        if result is None:
            result = ProcessResult(process_id=process_id)
        result.status = ResultStatus.TALLYING
        result.districts_total = len(districts)
        result.districts_done = 0
        result.error = ""
        result.rule_id = process.rule_id
        result.rule_params = canonical_json(process.rule_params_dict)
        result.tie_break = process.tie_break
        result.software_version = software_version()
        result.frozen_hash = process.frozen_hash
        result.started_at = utcnow()
        result.tallied_by = actor.id
        self.session.add(result)
        try:
            await self.session.flush()
        except IntegrityError:
            raise Conflict("A count was started at the same moment; reload the page.") from None
        await audit.append(
            self.session,
            "results.tally_started",
            actor_id=actor.id,
            subject=f"process:{process_id}",
            data={"rule_id": process.rule_id, "districts": len(districts)},
        )
        return result

    async def set_publication(
        self, actor: User, process_id: int, *, required_signoffs: int, country: str, unit: str
    ) -> ProcessResult:
        """How many sign-offs certification needs, and the place named in the .pb files."""
        await self._require_admin(actor, "change the certification settings")
        result = await self._tallied(process_id)
        if not 1 <= required_signoffs <= MAX_SIGNOFFS:
            raise InvalidInput(
                f"Sign-offs needed must be from 1 to {MAX_SIGNOFFS}.", field="required_signoffs"
            )
        if await self.signoffs(process_id):
            raise Conflict("Someone has already signed off; the settings can no longer change.")
        country, unit = country.strip(), unit.strip()
        if len(country) > 80 or len(unit) > 120 or any(c in country + unit for c in ';\r\n"'):
            raise InvalidInput("Country and city must be short plain names.", field="country")
        before = {
            "required_signoffs": result.required_signoffs,
            "country": result.country,
            "unit": result.unit,
        }
        result.required_signoffs, result.country, result.unit = required_signoffs, country, unit
        self.session.add(result)
        await self.session.flush()
        await audit.append(
            self.session,
            "results.settings_changed",
            actor_id=actor.id,
            subject=f"process:{process_id}",
            data={
                "before": before,
                "after": {"required_signoffs": required_signoffs, "country": country, "unit": unit},
            },
        )
        return result

    async def _tallied(self, process_id: int) -> ProcessResult:
        result = await self.result(process_id)
        if result is None:
            raise WrongPhase("This process has not been counted yet.")
        if result.status == ResultStatus.CERTIFIED:
            raise Conflict("The result is already certified; it can no longer change.")
        if result.status != ResultStatus.TALLIED:
            raise WrongPhase(f"The count is not finished (status: {result.status}).")
        return result

    async def sign_off(self, actor: User, process_id: int) -> tuple[ProcessResult, bool]:
        """Approve the counted result; the last required sign-off certifies it.

        Returns the result and whether this sign-off certified it.
        """
        await self._require_admin(actor, "sign off a result")
        result = await self._tallied(process_id)
        digest = await _result_digest(self.session, process_id)
        mine = await self.session.exec(
            select(SignOff.id).where(SignOff.process_id == process_id, SignOff.user_id == actor.id)
        )
        if mine.first() is not None:
            raise Conflict(
                "You have already signed off this result; another administrator must sign too."
            )
        self.session.add(SignOff(process_id=process_id, user_id=actor.id, result_sha256=digest))  # type: ignore[arg-type]
        try:
            await self.session.flush()
        except IntegrityError:
            raise Conflict("You have already signed off this result.") from None
        await audit.append(
            self.session,
            "results.signed_off",
            actor_id=actor.id,
            subject=f"process:{process_id}",
            data={"result_sha256": digest},
        )
        count = await self.session.exec(
            select(func.count())
            .select_from(SignOff)
            .where(SignOff.process_id == process_id, SignOff.result_sha256 == digest)
        )
        if int(count.one()) < result.required_signoffs:
            return result, False
        await self._certify(actor, process_id, result)
        return result, True

    async def _certify(self, actor: User, process_id: int, result: ProcessResult) -> None:
        from results.certify import build_budgeting_package, process_data

        processes = ProcessService(self.session, self.settings)
        process = await processes.get(process_id)
        if process.phase != Phase.CLOSED:
            raise WrongPhase("Only a closed vote can be certified.")
        now = utcnow()
        data = await process_data(self.session, self.settings, process, result, now)
        package_bytes, manifest_sha = await asyncio.to_thread(
            build_budgeting_package, data, self.settings
        )
        package = CertifiedPackage(
            process_id=process_id,
            kind="budgeting",
            content=package_bytes,
            sha256=sha256_hex(package_bytes),
            manifest_sha256=manifest_sha,
            public_key=signing.public_key_hex(self.settings),
            created_at=now,
        )
        self.session.add(package)
        try:
            await self.session.flush()
        except IntegrityError:
            raise Conflict("The result is already certified.") from None
        result.status = ResultStatus.CERTIFIED
        result.certified_at = now
        self.session.add(result)
        await processes.advance_phase(actor, process_id, Phase.CERTIFIED)
        await audit.append(
            self.session,
            "results.certified",
            actor_id=actor.id,
            subject=f"process:{process_id}",
            data={
                "package_sha256": package.sha256,
                "manifest_sha256": manifest_sha,
                "public_key": package.public_key,
            },
        )


async def phase_dates(
    session: AsyncSession, process_id: int
) -> tuple[datetime | None, datetime | None]:
    """When voting opened and when it closed, from the phase history."""
    found = await session.exec(
        select(PhaseChange.to_phase, PhaseChange.at).where(PhaseChange.process_id == process_id)
    )
    at = {str(phase): when for phase, when in found.all()}
    return at.get(Phase.VOTING), at.get(Phase.CLOSED)


# ---------------------------------------------------------------------------- explanations

_PLACEHOLDER = re.compile(r"\bP(\d+)\b")


def explain_project(result: ProcessResult, district: DistrictResult, project_id: str) -> str:
    """ "Why did this project win or lose?" in words, naming projects by their titles.

    The tally's explanations name projects by id; ballot projects' ids are proposal numbers,
    which read like amounts. When every id is a number the count is replayed with ids ``P<n>``
    (the same natural order, so the same tie-breaks and the same outcome, which is checked)
    and those are replaced by the titles. Amounts stay in minor currency units.
    """
    from tally.explain import explain

    election, outcome = recount(result, district)
    if project_id not in election.project_by_id:
        raise NotFound("No such project in this district's results.")
    names = {p.id: p.name or p.id for p in election.projects}
    if not all(pid.isdigit() for pid in names):
        return explain(outcome, election, project_id)
    tag = {pid: f"P{pid}" for pid in names}
    relabelled = replace(
        election,
        projects=tuple(replace(p, id=tag[p.id]) for p in election.projects),
        ballots=tuple(
            replace(b, projects=tuple(tag[x] for x in b.projects)) for b in election.ballots
        ),
    )
    replay = tally.run(result.rule_id, relabelled, result.tie_break, **result.rule_params_dict)
    if replay.selected != tuple(tag[x] for x in outcome.selected):
        return explain(outcome, election, project_id)
    text = explain(replay, relabelled, tag[project_id])
    return _PLACEHOLDER.sub(
        lambda m: f"“{names[m.group(1)]}”" if m.group(1) in names else m.group(0), text
    )


_COMPARISONS: OrderedDict[tuple[str, str, str, str], list[Any]] = OrderedDict()


def comparison(result: ProcessResult, district: DistrictResult) -> list[Any]:
    """``results.compare.compare`` for one district, computed once per input and rule."""
    from results.compare import compare

    key = (district.input_sha256, result.rule_id, result.rule_params, result.tie_break)
    with _CACHE_LOCK:
        hit = _COMPARISONS.get(key)
        if hit is not None:
            return hit
    election, outcome = recount(result, district)
    rows = compare(election, outcome, result.tie_break)
    with _CACHE_LOCK:
        _COMPARISONS[key] = rows
        while len(_COMPARISONS) > _CACHE_SIZE:
            _COMPARISONS.popitem(last=False)
    return rows
