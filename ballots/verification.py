"""Who may vote: the residents roll, voting codes, verification of accounts, voter rights.

- ``import_roll`` reads a roll CSV (``reference,birth_date,postcode,districts``) and stores it in
  one all-or-nothing step: if any line is wrong nothing is stored, and the report names every
  problem by line.
- ``generate_codes`` makes one-time codes from ``secrets`` in an alphabet without look-alikes
  (no 0/O, 1/I); only their keyed hashes are stored, so the codes exist in plaintext once, in the
  answer to the request that made them.
- ``verify_with_roll`` / ``verify_with_code`` link an account to a roll entry or a code for one
  process (each verifies one account only); failures are stored and throttled per account and per
  IP address, like sign-in.
- ``voter_right`` is what casting (and consultations) ask: which districts, under which
  pseudonym, or ``NotEligible`` with the reason.

Keys: every keyed hash uses HMAC-SHA256 with a key derived from ``Settings.secret_key`` and a
purpose label, and the process id inside the message, so the same person has unrelated hashes in
two processes. Low-entropy fields (birth dates, postcodes) are only as safe as the secret key.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ballots.eligibility import anniversary, check_age
from ballots.models import RollEntry, Verification, VerificationAttempt, VotingCode
from pb import audit
from pb.accounts import AccountService, Role, User
from pb.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotEligible,
    NotFound,
    Throttled,
)
from pb.models import utcnow
from pb.processes import District, Phase, Process
from pb.settings import Settings

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "ROLL_COLUMNS",
    "RollLine",
    "RollReport",
    "RIGHT_COLUMNS",
    "VoterRight",
    "code_hash",
    "format_code",
    "generate_codes",
    "import_roll",
    "keyed_hash",
    "new_code",
    "normalize_code",
    "parse_roll",
    "pseudonym",
    "receipt_hash",
    "receipt_pair",
    "right_from_row",
    "verification_of",
    "verify_with_code",
    "verify_with_roll",
    "voter_right",
    "with_right",
]

ROLL_COLUMNS = ("reference", "birth_date", "postcode", "districts")
# 32 symbols: digits and capitals without 0, O, 1 and I. 16 symbols = 80 bits.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 16
MAX_CODES_PER_BATCH = 100_000
MAX_ROLL_BYTES = 20 * 1024 * 1024
# Verification failures allowed per account (and per process) and per IP address in the window.
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_IP = 20
_CLOSED = (Phase.CLOSED, Phase.CERTIFIED)


# ------------------------------------------------------------------------------------- keys
@lru_cache(maxsize=32)
def _derived_key(secret_key: str, purpose: str) -> bytes:
    return hmac.new(secret_key.encode("utf-8"), f"pb/voting/{purpose}".encode(), "sha256").digest()


def keyed_hash(settings: Settings, purpose: str, process_id: int, value: str) -> str:
    """HMAC-SHA256 (hex) of ``value`` for one process under the key for ``purpose``."""
    key = _derived_key(settings.secret_key, purpose)
    return hmac.new(key, f"{process_id}\x1f{value}".encode(), "sha256").hexdigest()


def pseudonym(settings: Settings, process_id: int, source: str) -> str:
    """The voter's pseudonym in a process: ``source`` is ``roll:<id>`` or ``code:<id>``."""
    return keyed_hash(settings, "pseudonym", process_id, source)


def code_hash(settings: Settings, code: str) -> str:
    """Keyed hash of a normalised code (codes are unique across processes)."""
    return keyed_hash(settings, "code", 0, normalize_code(code))


def receipt_hash(receipt: str) -> str:
    """SHA-256 hex of a receipt code as shown (spaces and dashes ignored, case-insensitive)."""
    return hashlib.sha256(normalize_code(receipt).encode("ascii", "ignore")).hexdigest()


def receipt_pair() -> tuple[str, str]:
    """A new receipt code to show the voter once, and its SHA-256 hex to store."""
    code = new_code()
    return format_code(code), receipt_hash(code)


# ------------------------------------------------------------------------------------ codes
def new_code(length: int = CODE_LENGTH) -> str:
    """``length`` symbols drawn uniformly from ``CODE_ALPHABET`` by the OS's CSPRNG.

    The alphabet has 32 symbols, so each symbol is exactly 5 random bits: one read of
    ``5 * length`` bits serves the whole code, without bias (casting makes one per ballot)."""
    bits = secrets.randbits(5 * length)
    return "".join(CODE_ALPHABET[(bits >> (5 * i)) & 31] for i in range(length))


def format_code(code: str) -> str:
    """``ABCD-EFGH-JKLM-NPQR``: groups of four are easier to read out and type."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize_code(text: str) -> str:
    """Upper case without spaces, dashes or dots, as a person may type a printed code."""
    return re.sub(r"[\s\-_.]", "", text or "").upper()[:64]


# ------------------------------------------------------------------------------- roll import
@dataclass(frozen=True)
class RollLine:
    line: int
    status: str  # "accepted" | "rejected" | "duplicate"
    reason: str = ""


@dataclass
class RollReport:
    """What an import did: ``stored`` only when every line was accepted."""

    lines: list[RollLine] = field(default_factory=list)
    stored: bool = False
    error: str = ""

    @property
    def accepted(self) -> int:
        return sum(1 for x in self.lines if x.status == "accepted")

    @property
    def rejected(self) -> list[RollLine]:
        return [x for x in self.lines if x.status == "rejected"]

    @property
    def duplicates(self) -> list[RollLine]:
        return [x for x in self.lines if x.status == "duplicate"]

    @property
    def ok(self) -> bool:
        return not self.error and all(x.status == "accepted" for x in self.lines)


@dataclass(frozen=True)
class _RollRow:
    line: int
    reference: str
    birth_date: date
    postcode: str
    districts: tuple[int, ...]


def _normalize_reference(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


def _normalize_postcode(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


def _parse_date(text: str) -> date | None:
    text = text.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_roll(
    data: bytes, districts: dict[str, int], today: date
) -> tuple[RollReport, list[_RollRow]]:
    """Check a roll CSV against the process's districts (``slug → id``); nothing is stored.

    The file is UTF-8 (a BOM is allowed), comma-separated, with exactly the header
    ``reference,birth_date,postcode,districts``; ``birth_date`` is ``YYYY-MM-DD``; ``districts``
    lists district slugs separated by ``;`` or spaces. A reference seen twice makes the second
    line a duplicate.
    """
    report = RollReport()
    if len(data) > MAX_ROLL_BYTES:
        report.error = f"The file is larger than {MAX_ROLL_BYTES // (1024 * 1024)} MB."
        return report, []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.error = (
            f"The file is not UTF-8 text (byte {exc.start + 1} cannot be read); "
            "save it as CSV UTF-8 and try again."
        )
        return report, []
    if "\x00" in text:
        report.error = "The file is not a CSV text file."
        return report, []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        report.error = f"Line 1 cannot be read as CSV: {exc}."
        return report, []
    if header is None:
        report.error = "The file is empty."
        return report, []
    names = tuple(h.strip().lower() for h in header)
    if names != ROLL_COLUMNS:
        report.error = (
            f"The first line must be the header {','.join(ROLL_COLUMNS)} "
            f"(found {','.join(names) or 'nothing'})."
        )
        return report, []
    rows: list[_RollRow] = []
    seen: dict[str, int] = {}
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(ROLL_COLUMNS):
                report.lines.append(
                    RollLine(line, "rejected", f"expected 4 columns, found {len(cells)}")
                )
                continue
            reference, birth, postcode, slugs = (c.strip() for c in cells)
            row, reason = _check_row(line, reference, birth, postcode, slugs, districts, today)
            if row is None:
                report.lines.append(RollLine(line, "rejected", reason))
                continue
            key = _normalize_reference(reference)
            if key in seen:
                report.lines.append(
                    RollLine(line, "duplicate", f"reference already on line {seen[key]}")
                )
                continue
            seen[key] = line
            rows.append(row)
            report.lines.append(RollLine(line, "accepted"))
    except csv.Error as exc:
        report.error = f"Line {reader.line_num} cannot be read as CSV: {exc}."
        return report, []
    if not report.lines:
        report.error = "The file has a header but no residents."
    return report, rows


def _check_row(
    line: int,
    reference: str,
    birth: str,
    postcode: str,
    slugs: str,
    districts: dict[str, int],
    today: date,
) -> tuple[_RollRow | None, str]:
    if not reference:
        return None, "reference is empty"
    if len(reference) > 64:
        return None, "reference is longer than 64 characters"
    born = _parse_date(birth)
    if born is None:
        return None, f"birth_date {birth[:20]!r} is not a date written YYYY-MM-DD"
    if born > today or born.year < 1900:
        return None, f"birth_date {birth} is not a plausible date of birth"
    if not postcode or len(postcode) > 16:
        return None, "postcode is empty or longer than 16 characters"
    names = [s for s in re.split(r"[;\s]+", slugs.lower()) if s]
    if not names:
        return None, "districts is empty"
    unknown = [s for s in names if s not in districts]
    if unknown:
        return None, f"unknown district {unknown[0][:40]!r} (known: {', '.join(sorted(districts))})"
    ids = tuple(sorted({districts[s] for s in names}))
    return _RollRow(line, reference, born, postcode, ids), ""


async def import_roll(
    session: AsyncSession, settings: Settings, actor: User, process_id: int, data: bytes
) -> RollReport:
    """Check and store a roll CSV for ``process_id``: all lines, or none (see ``parse_roll``).

    References already on the roll count as duplicates. Only administrators may import, and
    only until the process closes.
    """
    await _require_admin(session, settings, actor)
    process = await _process(session, process_id)
    if Phase(process.phase) in _CLOSED:
        raise Conflict("The process is closed: the roll can no longer change.")
    districts = await _district_slugs(session, process_id)
    report, rows = parse_roll(data, districts, utcnow().date())
    if not report.ok:
        return report
    hashes = [
        keyed_hash(settings, "reference", process_id, _normalize_reference(r.reference))
        for r in rows
    ]
    existing: set[str] = set()
    for chunk in _chunks(hashes, 1000):
        result = await session.exec(
            select(RollEntry.reference_hash).where(
                RollEntry.process_id == process_id, col(RollEntry.reference_hash).in_(chunk)
            )
        )
        existing.update(result.all())
    if existing:
        by_line = {r.line: h for r, h in zip(rows, hashes, strict=True)}
        report.lines = [
            RollLine(x.line, "duplicate", "reference is already on the roll")
            if x.status == "accepted" and by_line.get(x.line) in existing
            else x
            for x in report.lines
        ]
        return report
    now = utcnow()
    values = [
        {
            "process_id": process_id,
            "reference_hash": h,
            "birth_hash": keyed_hash(settings, "birth", process_id, r.birth_date.isoformat()),
            "postcode_hash": keyed_hash(
                settings, "postcode", process_id, _normalize_postcode(r.postcode)
            ),
            "districts": json.dumps(list(r.districts)),
            "imported_at": now,
        }
        for r, h in zip(rows, hashes, strict=True)
    ]
    try:
        async with session.begin_nested():
            for chunk in _chunks(values, 1000):
                await session.exec(sa.insert(RollEntry).values(chunk))  # type: ignore[call-overload]
    except IntegrityError:
        raise Conflict(
            "Someone else imported some of these residents at the same time; try again."
        ) from None
    report.stored = True
    await audit.append(
        session,
        "roll.imported",
        actor_id=actor.id,
        subject=f"process:{process_id}",
        data={"accepted": len(values)},
    )
    return report


def _chunks(items: list, size: int) -> Iterable[list]:  # type: ignore[type-arg]
    for i in range(0, len(items), size):
        yield items[i : i + size]


async def roll_size(session: AsyncSession, process_id: int) -> int:
    result = await session.exec(
        select(func.count()).select_from(RollEntry).where(RollEntry.process_id == process_id)
    )
    return int(result.one())


# ------------------------------------------------------------------------------ voting codes
async def generate_codes(
    session: AsyncSession,
    settings: Settings,
    actor: User,
    process_id: int,
    district_id: int,
    count: int,
) -> list[str]:
    """Make ``count`` one-time codes for a district; returns them (formatted) once, stores hashes."""
    await _require_admin(session, settings, actor)
    process = await _process(session, process_id)
    if Phase(process.phase) in _CLOSED:
        raise Conflict("The process is closed: no more codes can be issued.")
    district = await session.get(District, district_id)
    if district is None or district.process_id != process_id:
        raise NotFound("No such district in this process.")
    if (
        isinstance(count, bool)
        or not isinstance(count, int)
        or not 1 <= count <= MAX_CODES_PER_BATCH
    ):
        raise InvalidInput(f"Choose between 1 and {MAX_CODES_PER_BATCH:,} codes.", field="count")
    batch = (
        int(
            (
                await session.exec(
                    select(func.coalesce(func.max(VotingCode.batch), 0)).where(
                        VotingCode.process_id == process_id
                    )
                )
            ).one()
        )
        + 1
    )
    codes: list[str] = []
    seen: set[str] = set()
    while len(codes) < count:
        code = new_code()
        if code not in seen:  # 80 bits: a repeat is practically impossible, but never store one
            seen.add(code)
            codes.append(code)
    now = utcnow()
    values = [
        {
            "process_id": process_id,
            "district_id": district_id,
            "code_hash": code_hash(settings, c),
            "batch": batch,
            "created_at": now,
        }
        for c in codes
    ]
    for chunk in _chunks(values, 1000):
        await session.exec(sa.insert(VotingCode).values(chunk))  # type: ignore[call-overload]
    await audit.append(
        session,
        "codes.generated",
        actor_id=actor.id,
        subject=f"process:{process_id}",
        data={"district_id": district_id, "count": count, "batch": batch},
    )
    return [format_code(c) for c in codes]


async def codes_issued(session: AsyncSession, process_id: int) -> dict[int, int]:
    result = await session.exec(
        select(VotingCode.district_id, func.count())
        .where(VotingCode.process_id == process_id)
        .group_by(VotingCode.district_id)
    )
    return {int(d): int(n) for d, n in result.all()}


# ------------------------------------------------------------------------------- verification
async def verification_of(
    session: AsyncSession, process_id: int, user_id: int
) -> Verification | None:
    result = await session.exec(
        select(Verification).where(
            Verification.process_id == process_id, Verification.user_id == user_id
        )
    )
    return result.first()


async def verify_with_roll(
    session: AsyncSession,
    settings: Settings,
    user: User,
    process_id: int,
    *,
    reference: str,
    birth_date: str,
    postcode: str,
    ip: str,
) -> Verification:
    """Match the resident's details against the roll and link the entry to their account."""
    process = await _verifiable_process(session, user, process_id)
    await _check_throttle(session, settings, user.id, ip)  # type: ignore[arg-type]
    born = _parse_date(birth_date)
    if born is None:
        raise InvalidInput("Enter your date of birth as YYYY-MM-DD.", field="birth_date")
    if not reference.strip():
        raise InvalidInput("Enter the reference number from your poll card.", field="reference")
    ref_hash = keyed_hash(settings, "reference", process_id, _normalize_reference(reference))
    entry = (
        await session.exec(
            select(RollEntry).where(
                RollEntry.process_id == process_id, RollEntry.reference_hash == ref_hash
            )
        )
    ).first()
    birth_ok = entry is not None and hmac.compare_digest(
        entry.birth_hash, keyed_hash(settings, "birth", process_id, born.isoformat())
    )
    postcode_ok = entry is not None and hmac.compare_digest(
        entry.postcode_hash,
        keyed_hash(settings, "postcode", process_id, _normalize_postcode(postcode)),
    )
    if entry is None or not (birth_ok and postcode_ok):
        await _record_failure(session, user, process_id, ip, "no_match")
        raise NotEligible(
            "No entry on the residents roll matches these details. Check the reference number, "
            "date of birth and postcode on your poll card."
        )
    today = utcnow().date()
    eligible_from = None
    if not check_age(born, today, process.min_age).ok:
        eligible_from = anniversary(born, process.min_age)
    return await _link(
        session, user, process_id, ip, roll_entry_id=entry.id, eligible_from=eligible_from
    )


async def verify_with_code(
    session: AsyncSession,
    settings: Settings,
    user: User,
    process_id: int,
    *,
    code: str,
    ip: str,
) -> Verification:
    """Redeem a one-time voting code for this process and link it to the account."""
    await _verifiable_process(session, user, process_id)
    await _check_throttle(session, settings, user.id, ip)  # type: ignore[arg-type]
    normalized = normalize_code(code)
    if not normalized:
        raise InvalidInput("Enter the code printed on your letter.", field="code")
    row = (
        await session.exec(
            select(VotingCode).where(
                VotingCode.code_hash == code_hash(settings, normalized),
                VotingCode.process_id == process_id,
            )
        )
    ).first()
    if row is None:
        await _record_failure(session, user, process_id, ip, "unknown_code")
        raise NotEligible("This code is not valid for this process. Check it and try again.")
    return await _link(session, user, process_id, ip, voting_code_id=row.id)


async def _link(
    session: AsyncSession,
    user: User,
    process_id: int,
    ip: str,
    *,
    roll_entry_id: int | None = None,
    voting_code_id: int | None = None,
    eligible_from: date | None = None,
) -> Verification:
    existing = await verification_of(session, process_id, user.id)  # type: ignore[arg-type]
    if existing is not None:
        raise Conflict("Your account is already verified for this process.")
    source = "roll" if roll_entry_id is not None else "code"
    taken = (
        col(Verification.roll_entry_id) == roll_entry_id
        if roll_entry_id is not None
        else col(Verification.voting_code_id) == voting_code_id
    )
    if (await session.exec(select(Verification.id).where(taken))).first() is not None:
        await _record_failure(session, user, process_id, ip, f"{source}_taken")
        raise Conflict(_taken_message(source))
    verification = Verification(
        process_id=process_id,
        user_id=user.id,  # type: ignore[arg-type]
        roll_entry_id=roll_entry_id,
        voting_code_id=voting_code_id,
        eligible_from=eligible_from,
    )
    try:
        async with session.begin_nested():
            session.add(verification)
            await session.flush()
    except IntegrityError:
        # Someone verified with the same entry or code (or this account) at the same moment.
        raise Conflict(_taken_message(source)) from None
    session.add(
        VerificationAttempt(process_id=process_id, user_id=user.id, ip=ip[:64], succeeded=True)
    )  # type: ignore[arg-type]
    await audit.append(
        session,
        "voter.verified",
        actor_id=user.id,
        subject=f"process:{process_id}",
        data={"method": source, "under_age": eligible_from is not None},
    )
    return verification


def _taken_message(source: str) -> str:
    if source == "roll":
        return "This roll entry has already verified another account. Contact the council if this was not you."
    return "This code has already been used. Each code verifies one account only."


async def _check_throttle(session: AsyncSession, settings: Settings, user_id: int, ip: str) -> None:
    since = utcnow() - timedelta(seconds=settings.login_window)
    for column, value, limit in (
        (VerificationAttempt.user_id, user_id, MAX_FAILURES_PER_ACCOUNT),
        (VerificationAttempt.ip, ip[:64], MAX_FAILURES_PER_IP),
    ):
        count = (
            await session.exec(
                select(func.count())
                .select_from(VerificationAttempt)
                .where(
                    col(column) == value,
                    col(VerificationAttempt.succeeded).is_(False),
                    col(VerificationAttempt.at) > since,
                )
            )
        ).one()
        if count >= limit:
            minutes = (settings.login_window + 59) // 60
            raise Throttled(
                f"Too many failed verification attempts. Try again in {minutes} minutes.",
                retry_after=settings.login_window,
            )


async def _record_failure(
    session: AsyncSession, user: User, process_id: int, ip: str, reason: str
) -> None:
    """Store the failure and commit at once, so the failed request's rollback keeps it."""
    session.add(
        VerificationAttempt(process_id=process_id, user_id=user.id, ip=ip[:64], succeeded=False)
    )  # type: ignore[arg-type]
    await audit.append(
        session,
        "voter.verification_failed",
        actor_id=user.id,
        subject=f"process:{process_id}",
        data={"reason": reason, "ip": ip[:64]},
    )
    await session.commit()


async def _verifiable_process(session: AsyncSession, user: User, process_id: int) -> Process:
    if user.id is None or not user.is_active:
        raise Forbidden("Sign in with an active account to verify.")
    process = await _process(session, process_id)
    if Phase(process.phase) in _CLOSED or process.phase == Phase.DRAFT:
        raise Conflict("Verification is not open for this process now.")
    return process


# ------------------------------------------------------------------------------- voter rights
@dataclass(frozen=True)
class VoterRight:
    """A verified resident's right to vote (or answer) in one process."""

    process_id: int
    districts: frozenset[int]
    pseudonym: str


RIGHT_COLUMNS = (
    Verification.roll_entry_id,
    Verification.voting_code_id,
    Verification.eligible_from,
    RollEntry.districts,
    VotingCode.district_id,
)


def with_right(query: Any, process_id: Any, user_id: int) -> Any:
    """``query`` (selecting ``RIGHT_COLUMNS``) outer-joined to the user's verification."""
    return (
        query.outerjoin(
            Verification,
            sa.and_(col(Verification.process_id) == process_id, Verification.user_id == user_id),
        )
        .outerjoin(RollEntry, col(RollEntry.id) == Verification.roll_entry_id)
        .outerjoin(VotingCode, col(VotingCode.id) == Verification.voting_code_id)
    )


def right_from_row(settings: Settings, process_id: int, row: Sequence[Any]) -> VoterRight:
    """The right from the ``RIGHT_COLUMNS`` values; ``NotEligible`` if unverified or under age."""
    roll_id, code_id, eligible_from, roll_districts, code_district = row
    if roll_id is None and code_id is None:
        raise NotEligible(
            "Your account is not verified for this process yet: verify with your poll card "
            "details or a voting code first."
        )
    if eligible_from is not None and eligible_from > utcnow().date():
        raise NotEligible(
            f"You are under the minimum age for this process; you may take part from "
            f"{eligible_from.isoformat()}."
        )
    if roll_id is not None:
        districts = frozenset(int(d) for d in json.loads(roll_districts or "[]"))
        source = f"roll:{roll_id}"
    else:
        districts = frozenset({int(code_district)})
        source = f"code:{code_id}"
    return VoterRight(process_id, districts, pseudonym(settings, process_id, source))


async def voter_right(
    session: AsyncSession, settings: Settings, process_id: int, user_id: int
) -> VoterRight:
    """The districts ``user_id`` may vote in and their pseudonym; ``NotEligible`` says why not.

    One query: the verification with its roll entry or code.
    """
    result = await session.exec(
        select(*RIGHT_COLUMNS)
        .select_from(Verification)
        .outerjoin(RollEntry, col(RollEntry.id) == Verification.roll_entry_id)
        .outerjoin(VotingCode, col(VotingCode.id) == Verification.voting_code_id)
        .where(Verification.process_id == process_id, Verification.user_id == user_id)
    )
    row = result.first()
    return right_from_row(settings, process_id, row or (None,) * len(RIGHT_COLUMNS))


async def roll_entry_by_reference(
    session: AsyncSession, settings: Settings, process_id: int, reference: str
) -> RollEntry | None:
    """The roll entry with this reference number (officials entering paper ballots)."""
    ref_hash = keyed_hash(settings, "reference", process_id, _normalize_reference(reference))
    result = await session.exec(
        select(RollEntry).where(
            RollEntry.process_id == process_id, RollEntry.reference_hash == ref_hash
        )
    )
    return result.first()


# ------------------------------------------------------------------------------------ helpers
async def _process(session: AsyncSession, process_id: int) -> Process:
    process = await session.get(Process, process_id)
    if process is None:
        raise NotFound("No such process.")
    return process


async def _district_slugs(session: AsyncSession, process_id: int) -> dict[str, int]:
    result = await session.exec(
        select(District.slug, District.id).where(District.process_id == process_id)
    )
    return {slug: int(i) for slug, i in result.all()}


async def _require_admin(session: AsyncSession, settings: Settings, actor: User) -> None:
    roles = await AccountService(session, settings).roles_of(actor.id) if actor.id else set()
    if not actor.is_active or Role.ADMIN not in roles:
        raise Forbidden("Only an administrator can do this.")
