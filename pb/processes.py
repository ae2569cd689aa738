"""Processes: one participatory-budgeting edition or one consultation, its phases and districts.

A process moves through a fixed sequence of phases, one step at a time, by an explicit admin
action that is recorded in ``PhaseChange`` and in the audit log. The ballot configuration, the
tally rule with its parameters, the tie-break and the district budgets are editable until voting
opens; at that moment they are frozen and their canonical form is hashed into ``frozen_hash``, so
anyone can later check that the count used exactly the published configuration.

Proposals and ballots both hang off this model, which is why it lives in the kernel.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import ValidationError, field_validator
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, select

from pb import audit
from pb.accounts import AccountService, Role, User
from pb.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from pb.models import IdMixin, TimestampMixin, TZDateTime, utcnow
from pb.phase_guards import check_phase_change
from pb.settings import Settings

__all__ = [
    "PHASES",
    "PHASE_LABELS",
    "Category",
    "CategoryCreate",
    "CategoryPublic",
    "District",
    "DistrictCreate",
    "DistrictPublic",
    "DistrictUpdate",
    "Phase",
    "PhaseChange",
    "Process",
    "ProcessCreate",
    "ProcessDetail",
    "ProcessKind",
    "ProcessPublic",
    "ProcessService",
    "ProcessUpdate",
    "WrongPhase",
    "canonical_config",
    "config_hash",
    "is_frozen",
    "next_phase",
    "phase_index",
    "validate_input",
    "voting_phase",
    "whole_minor_units",
    "format_money",
    "money_input",
    "parse_money",
]


class ProcessKind(StrEnum):
    BUDGETING = "budgeting"
    CONSULTATION = "consultation"


class Phase(StrEnum):
    DRAFT = "draft"
    SUBMISSION = "submission"
    REVIEW = "review"
    COSTING = "costing"
    VOTING = "voting"
    OPEN = "open"
    CLOSED = "closed"
    CERTIFIED = "certified"


PHASES: dict[ProcessKind, tuple[Phase, ...]] = {
    ProcessKind.BUDGETING: (
        Phase.DRAFT,
        Phase.SUBMISSION,
        Phase.REVIEW,
        Phase.COSTING,
        Phase.VOTING,
        Phase.CLOSED,
        Phase.CERTIFIED,
    ),
    # A consultation asks questions written by the council: no submissions, no costing.
    ProcessKind.CONSULTATION: (Phase.DRAFT, Phase.OPEN, Phase.CLOSED, Phase.CERTIFIED),
}

PHASE_LABELS: dict[Phase, str] = {
    Phase.DRAFT: "Draft (being prepared)",
    Phase.SUBMISSION: "Submission of proposals",
    Phase.REVIEW: "Review by moderators",
    Phase.COSTING: "Costing by council staff",
    Phase.VOTING: "Voting",
    Phase.OPEN: "Open for answers",
    Phase.CLOSED: "Closed",
    Phase.CERTIFIED: "Results certified",
}


class WrongPhase(Conflict):
    """The action exists but the process is not in a phase that allows it."""

    title = "Not allowed in this phase"


def voting_phase(kind: ProcessKind | str) -> Phase:
    """The phase in which residents cast ballots (budgeting) or answer (consultation)."""
    return Phase.VOTING if ProcessKind(kind) is ProcessKind.BUDGETING else Phase.OPEN


def phase_index(kind: ProcessKind | str, phase: Phase | str) -> int:
    """Position of ``phase`` in the sequence of ``kind``; ``ValueError`` if it is not part of it."""
    return PHASES[ProcessKind(kind)].index(Phase(phase))


def next_phase(kind: ProcessKind | str, phase: Phase | str) -> Phase | None:
    """The only phase a process may move to from ``phase``, or ``None`` at the end."""
    sequence = PHASES[ProcessKind(kind)]
    i = sequence.index(Phase(phase))
    return sequence[i + 1] if i + 1 < len(sequence) else None


def is_frozen(kind: ProcessKind | str, phase: Phase | str) -> bool:
    """True from the moment voting opens: configuration, rule and budgets can no longer change."""
    return phase_index(kind, phase) >= phase_index(kind, voting_phase(kind))


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------

Money = sa.BigInteger  # integer minor units; city budgets overflow 32 bits in cents


class Process(IdMixin, TimestampMixin, table=True):
    __tablename__ = "process"

    name: str = Field(max_length=200)
    slug: str = Field(max_length=80, unique=True, index=True)
    kind: str = Field(default=ProcessKind.BUDGETING, max_length=20)
    phase: str = Field(default=Phase.DRAFT, max_length=20)
    description: str = Field(default="", sa_type=sa.Text)
    currency: str = Field(default="EUR", max_length=3)
    min_age: int = Field(default=16)
    # Supports a proposal needs during submission before moderators may approve it (0 = none).
    support_threshold: int = Field(default=0)
    # Unresolved flags after which a proposal or comment is hidden pending review (0 = never).
    flag_threshold: int = Field(default=3)
    # Ballot format and limits, canonical JSON (validated by ``ballots.formats``).
    ballot_config: str = Field(default="{}", sa_type=sa.Text)
    rule_id: str = Field(default="", max_length=80)
    rule_params: str = Field(default="{}", sa_type=sa.Text)
    tie_break: str = Field(default="", max_length=200)
    # Planned start date of each phase, JSON ``{"submission": "2025-03-01", ...}``.
    schedule: str = Field(default="{}", sa_type=sa.Text)
    frozen_hash: str | None = Field(default=None, max_length=64)
    frozen_at: datetime | None = Field(default=None, sa_type=TZDateTime)

    @property
    def ballot_config_dict(self) -> dict[str, Any]:
        return json.loads(self.ballot_config or "{}")

    @property
    def rule_params_dict(self) -> dict[str, Any]:
        return json.loads(self.rule_params or "{}")

    @property
    def schedule_dict(self) -> dict[str, str]:
        return json.loads(self.schedule or "{}")

    @property
    def phases(self) -> tuple[Phase, ...]:
        return PHASES[ProcessKind(self.kind)]

    @property
    def next_phase(self) -> Phase | None:
        return next_phase(self.kind, self.phase)

    @property
    def is_frozen(self) -> bool:
        return is_frozen(self.kind, self.phase)

    @property
    def is_public(self) -> bool:
        return self.phase != Phase.DRAFT

    @property
    def phase_label(self) -> str:
        return PHASE_LABELS[Phase(self.phase)]

    def in_phase(self, *phases: Phase) -> bool:
        return Phase(self.phase) in phases


class District(IdMixin, table=True):
    """A budget pool with its own ballot: the whole city, or one neighbourhood."""

    __tablename__ = "district"
    __table_args__ = (sa.UniqueConstraint("process_id", "slug"),)

    process_id: int = Field(foreign_key="process.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=120)
    slug: str = Field(max_length=80)
    budget: int = Field(default=0, sa_type=Money)
    is_citywide: bool = Field(default=False)


class Category(IdMixin, table=True):
    __tablename__ = "category"
    __table_args__ = (sa.UniqueConstraint("process_id", "name"),)

    process_id: int = Field(foreign_key="process.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=80)


class PhaseChange(IdMixin, table=True):
    """One explicit move of a process from one phase to the next (public history)."""

    __tablename__ = "phase_change"

    process_id: int = Field(foreign_key="process.id", ondelete="CASCADE", index=True)
    from_phase: str = Field(max_length=20)
    to_phase: str = Field(max_length=20)
    actor_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime)


# --------------------------------------------------------------------------------------------
# Input schemas
# --------------------------------------------------------------------------------------------

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
Model = TypeVar("Model", bound=SQLModel)


def validate_input(model: type[Model], data: dict[str, Any]) -> Model:
    """Build ``model`` from ``data``; the first problem becomes ``InvalidInput`` naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        cause = (err.get("ctx") or {}).get("error")
        field = getattr(cause, "field", None) or (str(err["loc"][0]) if err.get("loc") else None)
        message = err.get("msg", "Invalid value.")
        message = message.removeprefix("Value error, ")
        if field and not message.endswith("."):
            message += "."
        raise InvalidInput(message, field=field) from None


def slugify(text: str) -> str:
    """``"Città Nord 2025"`` → ``"citta-nord-2025"`` (ASCII letters and digits only)."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80]


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _json_object(value: Any, what: str) -> dict[str, Any]:
    if isinstance(value, str):
        text = value.strip() or "{}"
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{what} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object")
    return value


def _strip(v: Any) -> Any:
    return v.strip() if isinstance(v, str) else v


def _slug_or_empty(v: Any) -> Any:
    v = (v or "").strip().lower() if isinstance(v, str) else v
    if v and not _SLUG.match(v):
        raise ValueError("Slug may contain only lower-case letters, digits and single hyphens")
    return v


class ProcessBase(SQLModel):
    name: str = Field(min_length=3, max_length=200)
    description: str = Field(default="", max_length=20_000)
    currency: str = Field(default="EUR")
    min_age: int = Field(default=16, ge=0, le=120)
    support_threshold: int = Field(default=0, ge=0, le=1_000_000)
    flag_threshold: int = Field(default=3, ge=0, le=1000)
    ballot_config: dict[str, Any] = Field(default_factory=dict)
    rule_id: str = Field(default="", max_length=80)
    rule_params: dict[str, Any] = Field(default_factory=dict)
    tie_break: str = Field(default="", max_length=200)
    schedule: dict[str, date] = Field(default_factory=dict)

    _name = field_validator("name", mode="before")(_strip)

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, v: Any) -> Any:
        v = (v or "").strip().upper() if isinstance(v, str) else v
        if not isinstance(v, str) or not _CURRENCY.match(v):
            raise ValueError("Currency must be a three-letter ISO 4217 code such as EUR")
        return v

    @field_validator("ballot_config", mode="before")
    @classmethod
    def _ballot_config(cls, v: Any) -> Any:
        return _json_object(v, "Ballot configuration")

    @field_validator("rule_params", mode="before")
    @classmethod
    def _rule_params(cls, v: Any) -> Any:
        return _json_object(v, "Rule parameters")

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, v: Any) -> Any:
        v = _json_object(v, "Schedule") if not isinstance(v, dict) else v
        return {k: d for k, d in v.items() if d not in (None, "")}


class ProcessCreate(ProcessBase):
    slug: str = Field(default="", max_length=80)
    kind: ProcessKind = ProcessKind.BUDGETING

    _slug = field_validator("slug", mode="before")(_slug_or_empty)


class ProcessUpdate(ProcessBase):
    pass


class ProcessPublic(SQLModel):
    id: int
    name: str
    slug: str
    kind: str
    phase: str
    description: str
    currency: str
    min_age: int
    support_threshold: int
    ballot_config: dict[str, Any]
    rule_id: str
    rule_params: dict[str, Any]
    tie_break: str
    schedule: dict[str, str]
    frozen_hash: str | None
    frozen_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Process) -> ProcessPublic:
        return cls(
            id=p.id,
            name=p.name,
            slug=p.slug,
            kind=p.kind,
            phase=p.phase,
            description=p.description,
            currency=p.currency,
            min_age=p.min_age,
            support_threshold=p.support_threshold,
            ballot_config=p.ballot_config_dict,
            rule_id=p.rule_id,
            rule_params=p.rule_params_dict,
            tie_break=p.tie_break,
            schedule=p.schedule_dict,
            frozen_hash=p.frozen_hash,
            frozen_at=p.frozen_at,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class DistrictUpdate(SQLModel):
    name: str = Field(min_length=2, max_length=120)
    budget: int = Field(ge=0, le=10**15)
    is_citywide: bool = False

    _name = field_validator("name", mode="before")(_strip)

    @field_validator("budget", mode="before")
    @classmethod
    def _integer_budget(cls, v: Any) -> Any:
        return whole_minor_units(v, "Budget")


class DistrictCreate(DistrictUpdate):
    slug: str = Field(default="", max_length=80)

    _slug = field_validator("slug", mode="before")(_slug_or_empty)


class DistrictPublic(SQLModel):
    id: int
    name: str
    slug: str
    budget: int
    is_citywide: bool


class CategoryPublic(SQLModel):
    id: int
    name: str


class ProcessDetail(ProcessPublic):
    """A process with its districts (budgets in minor units) and categories."""

    districts: list[DistrictPublic]
    categories: list[CategoryPublic]

    @classmethod
    def build(
        cls, process: Process, districts: list[District], categories: list[Category]
    ) -> ProcessDetail:
        return cls(
            **ProcessPublic.of(process).model_dump(),
            districts=[DistrictPublic.model_validate(d, from_attributes=True) for d in districts],
            categories=[CategoryPublic.model_validate(c, from_attributes=True) for c in categories],
        )


class CategoryCreate(SQLModel):
    name: str = Field(min_length=2, max_length=80)

    _name = field_validator("name", mode="before")(_strip)


def whole_minor_units(v: Any, what: str) -> Any:
    """Money is an integer number of minor units: refuse ``12.5``, ``"1e3"``, ``True``."""
    if isinstance(v, bool):
        raise ValueError(f"{what} must be a whole number of minor currency units")
    if isinstance(v, str):
        text = v.strip().replace("_", "")
        if not re.fullmatch(r"-?\d+", text):
            raise ValueError(f"{what} must be a whole number of minor currency units")
        v = int(text)
    if isinstance(v, float):
        raise ValueError(f"{what} must be a whole number of minor currency units")
    if isinstance(v, int) and v < 0:
        raise ValueError(f"{what} cannot be negative")
    return v


# Currencies whose minor unit is the unit itself (ISO 4217 exponent 0); the others use cents.
ZERO_DECIMAL_CURRENCIES = frozenset({"CLP", "ISK", "JPY", "KRW", "PYG", "UGX", "VND", "XAF", "XOF"})


def minor_digits(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


def parse_money(text: str, currency: str, what: str = "Amount") -> int:
    """``"12 500,50"`` EUR → ``1250050`` minor units, exactly; ``ValueError`` names the problem.

    Spaces, apostrophes and underscores group digits; ``.`` or ``,`` separates the decimals,
    of which there may be at most as many as the currency has.
    """
    digits = minor_digits(currency)
    cleaned = re.sub(r"[\s'_\u00a0\u202f]", "", text or "")
    if not cleaned:
        raise ValueError(f"{what} is required")
    if cleaned.startswith("-"):
        raise ValueError(f"{what} cannot be negative")
    m = re.fullmatch(r"(\d+)(?:[.,](\d+))?", cleaned)
    if not m:
        raise ValueError(f"{what} must be a number such as 12500 or 12500.50")
    whole, frac = m.group(1), m.group(2) or ""
    if len(frac) > digits:
        raise ValueError(
            f"{what} can have at most {digits} decimals in {currency}"
            if digits
            else f"{what} must be a whole number in {currency}"
        )
    return int(whole) * 10**digits + (int(frac.ljust(digits, "0")) if digits else 0)


def format_money(minor: int | None, currency: str) -> str:
    """``1250050`` EUR → ``"12,500.50 EUR"``; whole amounts drop the decimals."""
    if minor is None:
        return "—"
    digits = minor_digits(currency)
    whole, frac = divmod(minor, 10**digits) if digits else (minor, 0)
    text = f"{whole:,}"
    if frac:
        text += f".{frac:0{digits}d}"
    return f"{text} {currency}"


def money_input(minor: int | None, currency: str) -> str:
    """The value to put back into a money form field: ``1250050`` → ``"12500.50"``."""
    if minor is None:
        return ""
    digits = minor_digits(currency)
    if not digits:
        return str(minor)
    whole, frac = divmod(minor, 10**digits)
    return f"{whole}.{frac:0{digits}d}" if frac else str(whole)


# --------------------------------------------------------------------------------------------
# Frozen configuration
# --------------------------------------------------------------------------------------------


def canonical_config(process: Process, districts: list[District]) -> bytes:
    """The exact bytes hashed when voting opens: ballot format, rule, parameters, tie-break,
    currency and every district's budget. Keys sorted, no spaces, UTF-8."""
    from tally import TieBreak  # the tally is import-safe and standard-library only

    doc = {
        "kind": process.kind,
        "currency": process.currency,
        "ballot_config": process.ballot_config_dict,
        "rule_id": process.rule_id,
        "rule_params": process.rule_params_dict,
        "tie_break": str(TieBreak.parse(process.tie_break)),
        "districts": sorted(
            (
                {"slug": d.slug, "name": d.name, "budget": d.budget, "is_citywide": d.is_citywide}
                for d in districts
            ),
            key=lambda d: d["slug"],
        ),
    }
    return _canonical_json(doc).encode("utf-8")


def config_hash(process: Process, districts: list[District]) -> str:
    """SHA-256 (hex) of ``canonical_config``: compare with ``Process.frozen_hash`` to verify."""
    return hashlib.sha256(canonical_config(process, districts)).hexdigest()


# --------------------------------------------------------------------------------------------
# Service
# --------------------------------------------------------------------------------------------


class ProcessService:
    """Admin operations on processes; every write is audit-logged. The caller commits."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    # ---- reads -------------------------------------------------------------------------------

    async def get(self, process_id: int) -> Process:
        process = await self.session.get(Process, process_id)
        if process is None:
            raise NotFound("No such process.")
        return process

    async def get_by_slug(self, slug: str) -> Process:
        result = await self.session.exec(select(Process).where(Process.slug == slug))
        process = result.first()
        if process is None:
            raise NotFound("No such process.")
        return process

    async def list(self, *, include_drafts: bool = False) -> list[Process]:
        stmt = select(Process).order_by(Process.created_at.desc(), Process.id.desc())
        if not include_drafts:
            stmt = stmt.where(Process.phase != Phase.DRAFT)
        return list((await self.session.exec(stmt)).all())

    async def districts(self, process_id: int) -> list[District]:
        stmt = (
            select(District)
            .where(District.process_id == process_id)
            .order_by(District.is_citywide.desc(), District.name, District.id)
        )
        return list((await self.session.exec(stmt)).all())

    async def district(self, process_id: int, district_id: int) -> District:
        """The district ``district_id`` of this process; ``InvalidInput`` if it belongs to another."""
        district = await self.session.get(District, district_id)
        if district is None or district.process_id != process_id:
            raise InvalidInput("Choose a district of this process.", field="district_id")
        return district

    async def categories(self, process_id: int) -> list[Category]:
        stmt = select(Category).where(Category.process_id == process_id).order_by(Category.name)
        return list((await self.session.exec(stmt)).all())

    async def category(self, process_id: int, category_id: int) -> Category:
        category = await self.session.get(Category, category_id)
        if category is None or category.process_id != process_id:
            raise InvalidInput("Choose a category of this process.", field="category_id")
        return category

    async def history(self, process_id: int) -> list[PhaseChange]:
        stmt = (
            select(PhaseChange)
            .where(PhaseChange.process_id == process_id)
            .order_by(PhaseChange.at, PhaseChange.id)
        )
        return list((await self.session.exec(stmt)).all())

    async def verify_frozen(self, process_id: int) -> bool:
        """True when the stored hash matches the current configuration (or nothing is frozen)."""
        process = await self.get(process_id)
        if process.frozen_hash is None:
            return True
        return config_hash(process, await self.districts(process_id)) == process.frozen_hash

    # ---- writes ------------------------------------------------------------------------------

    async def _require_admin(self, actor: User | None) -> None:
        if actor is None:
            raise Forbidden("Only an administrator can configure processes.")
        roles = await AccountService(self.session, self.settings).roles_of(actor.id)
        if Role.ADMIN not in roles:
            raise Forbidden("Only an administrator can configure processes.")

    def _require_editable(self, process: Process) -> None:
        if process.is_frozen:
            raise WrongPhase(
                "The configuration is frozen since voting opened; it can no longer change."
            )

    def _check_config(self, kind: ProcessKind | str, data: ProcessBase) -> None:
        """Rule id, tie-break, ballot format and schedule must make sense (pure checks)."""
        kind = ProcessKind(kind)
        if kind is ProcessKind.BUDGETING and data.rule_id:
            from tally import RULES

            if data.rule_id not in RULES:
                known = ", ".join(sorted(RULES)) or "none registered"
                raise InvalidInput(
                    f"Unknown rule {data.rule_id!r}; known: {known}.", field="rule_id"
                )
        from tally import TieBreak

        try:
            TieBreak.parse(data.tie_break)
        except ValueError as exc:
            raise InvalidInput(f"Tie-break: {exc}.", field="tie_break") from None
        if data.ballot_config:
            _check_ballot_config(data.ballot_config)
        sequence = PHASES[kind]
        unknown = [key for key in data.schedule if key not in sequence]
        if unknown:
            raise InvalidInput(
                f"The schedule names an unknown phase {unknown[0]!r}.", field="schedule"
            )
        days = [data.schedule[p] for p in sequence if p in data.schedule]
        if days != sorted(days):
            raise InvalidInput("The schedule's phases must start in order.", field="schedule")

    def _apply(self, process: Process, data: ProcessBase) -> None:
        process.name = data.name
        process.description = data.description
        process.currency = data.currency
        process.min_age = data.min_age
        process.support_threshold = data.support_threshold
        process.flag_threshold = data.flag_threshold
        process.ballot_config = _canonical_json(data.ballot_config)
        process.rule_id = data.rule_id
        process.rule_params = _canonical_json(data.rule_params)
        process.tie_break = data.tie_break.strip()
        process.schedule = _canonical_json({k: d.isoformat() for k, d in data.schedule.items()})
        process.updated_at = utcnow()

    async def create(self, actor: User, data: ProcessCreate | dict[str, Any]) -> Process:
        await self._require_admin(actor)
        if isinstance(data, dict):
            data = validate_input(ProcessCreate, data)
        self._check_config(data.kind, data)
        slug = data.slug or slugify(data.name)
        if not slug:
            raise InvalidInput("Give the process a slug (letters and digits).", field="slug")
        taken = await self.session.exec(select(Process.id).where(Process.slug == slug))
        if taken.first() is not None:
            raise Conflict(f"A process with the slug {slug!r} already exists.", field="slug")
        process = Process(name=data.name, slug=slug, kind=data.kind, phase=Phase.DRAFT)
        self._apply(process, data)
        self.session.add(process)
        await self.session.flush()
        await audit.append(
            self.session,
            "process.created",
            actor_id=actor.id,
            subject=f"process:{process.id}",
            data={"name": process.name, "slug": slug, "kind": str(data.kind)},
        )
        return process

    async def update(
        self, actor: User, process_id: int, data: ProcessUpdate | dict[str, Any]
    ) -> Process:
        await self._require_admin(actor)
        if isinstance(data, dict):
            data = validate_input(ProcessUpdate, data)
        process = await self.get(process_id)
        self._require_editable(process)
        self._check_config(process.kind, data)
        before = _config_summary(process)
        self._apply(process, data)
        self.session.add(process)
        await self.session.flush()
        await audit.append(
            self.session,
            "process.updated",
            actor_id=actor.id,
            subject=f"process:{process.id}",
            data={"before": before, "after": _config_summary(process)},
        )
        return process

    async def add_district(
        self, actor: User, process_id: int, data: DistrictCreate | dict[str, Any]
    ) -> District:
        await self._require_admin(actor)
        if isinstance(data, dict):
            data = validate_input(DistrictCreate, data)
        process = await self.get(process_id)
        self._require_editable(process)
        slug = data.slug or slugify(data.name)
        if not slug:
            raise InvalidInput("Give the district a slug (letters and digits).", field="slug")
        existing = await self.session.exec(
            select(District.id).where(District.process_id == process_id, District.slug == slug)
        )
        if existing.first() is not None:
            raise Conflict(f"This process already has a district {slug!r}.", field="name")
        district = District(
            process_id=process_id,
            name=data.name,
            slug=slug,
            budget=data.budget,
            is_citywide=data.is_citywide,
        )
        self.session.add(district)
        await self.session.flush()
        await audit.append(
            self.session,
            "process.district_added",
            actor_id=actor.id,
            subject=f"process:{process_id}",
            data={
                "district_id": district.id,
                "name": district.name,
                "budget": district.budget,
                "is_citywide": district.is_citywide,
            },
        )
        return district

    async def update_district(
        self, actor: User, process_id: int, district_id: int, data: DistrictUpdate | dict[str, Any]
    ) -> District:
        await self._require_admin(actor)
        if isinstance(data, dict):
            data = validate_input(DistrictUpdate, data)
        process = await self.get(process_id)
        self._require_editable(process)
        district = await self.district(process_id, district_id)
        before = {
            "name": district.name,
            "budget": district.budget,
            "is_citywide": district.is_citywide,
        }
        district.name, district.budget, district.is_citywide = (
            data.name,
            data.budget,
            data.is_citywide,
        )
        self.session.add(district)
        await self.session.flush()
        await audit.append(
            self.session,
            "process.district_updated",
            actor_id=actor.id,
            subject=f"process:{process_id}",
            data={
                "district_id": district.id,
                "before": before,
                "after": {
                    "name": district.name,
                    "budget": district.budget,
                    "is_citywide": district.is_citywide,
                },
            },
        )
        return district

    async def add_category(
        self, actor: User, process_id: int, data: CategoryCreate | dict[str, Any]
    ) -> Category:
        await self._require_admin(actor)
        if isinstance(data, dict):
            data = validate_input(CategoryCreate, data)
        process = await self.get(process_id)
        self._require_editable(process)
        existing = await self.session.exec(
            select(Category.id).where(Category.process_id == process_id, Category.name == data.name)
        )
        if existing.first() is not None:
            raise Conflict(f"This process already has a category {data.name!r}.", field="name")
        category = Category(process_id=process_id, name=data.name)
        self.session.add(category)
        await self.session.flush()
        await audit.append(
            self.session,
            "process.category_added",
            actor_id=actor.id,
            subject=f"process:{process_id}",
            data={"category_id": category.id, "name": category.name},
        )
        return category

    async def advance_phase(self, actor: User, process_id: int, to_phase: Phase | str) -> Process:
        """Move the process to the next phase, and only that one.

        Entering the voting phase checks and freezes the configuration and stores its hash. The
        update is conditional on the phase read, so two admins clicking at once move it once.
        """
        await self._require_admin(actor)
        process = await self.get(process_id)
        try:
            target = Phase(to_phase)
        except ValueError:
            raise InvalidInput(f"Unknown phase {to_phase!r}.", field="phase") from None
        current = Phase(process.phase)
        expected = next_phase(process.kind, current)
        if expected is None:
            raise WrongPhase(f"The process is {current}: there is no phase after it.")
        if target is not expected:
            raise WrongPhase(
                f"The process is in the {current} phase; it can only move to {expected}, "
                f"not {target}."
            )
        await check_phase_change(self.session, process, target)
        values: dict[str, Any] = {"phase": str(target), "updated_at": utcnow()}
        digest = None
        if target is voting_phase(process.kind):
            districts = await self.districts(process_id)
            self._check_ready_for_voting(process, districts)
            digest = config_hash(process, districts)
            values |= {"frozen_hash": digest, "frozen_at": values["updated_at"]}
        result = await self.session.exec(
            sa.update(Process)
            .where(Process.id == process_id, Process.phase == str(current))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise Conflict("This process was changed by someone else; reload and try again.")
        self.session.add(
            PhaseChange(
                process_id=process_id,
                from_phase=str(current),
                to_phase=str(target),
                actor_id=actor.id,
                at=values["updated_at"],
            )
        )
        await self.session.flush()
        await self.session.refresh(process)
        data: dict[str, Any] = {"from": str(current), "to": str(target)}
        if digest:
            data["frozen_hash"] = digest
        await audit.append(
            self.session,
            "process.phase_changed",
            actor_id=actor.id,
            subject=f"process:{process_id}",
            data=data,
        )
        return process

    def _check_ready_for_voting(self, process: Process, districts: list[District]) -> None:
        if not districts:
            raise WrongPhase("Add at least one district before voting opens.")
        if process.kind == ProcessKind.BUDGETING:
            from tally import RULES

            if not process.rule_id:
                raise InvalidInput("Choose the tally rule before voting opens.", field="rule_id")
            if process.rule_id not in RULES:
                raise InvalidInput(f"Unknown rule {process.rule_id!r}.", field="rule_id")
            if not process.ballot_config_dict:
                raise InvalidInput(
                    "Set the ballot configuration before voting opens.", field="ballot_config"
                )
            _check_ballot_config(process.ballot_config_dict)
            empty = [d.name for d in districts if d.budget <= 0]
            if empty:
                raise InvalidInput(
                    f"Every district needs a budget before voting opens: {', '.join(empty)}.",
                    field="budget",
                )


def _check_ballot_config(config: dict[str, Any]) -> None:
    """Validate with ``ballots.formats.config_from_dict`` when that module is installed.

    The ballot formats live in the ``ballots`` package, which depends on this module; importing it
    lazily keeps the kernel free of that dependency. Without it only the JSON shape is checked.
    A knapsack ballot may leave out its ``budget``: each district's own budget is used.
    """
    try:
        from ballots import formats
    except ImportError:
        return
    from_dict = getattr(formats, "config_from_dict", None) or getattr(formats, "from_dict", None)
    if from_dict is None:
        return
    if config.get("format") == "knapsack" and "budget" not in config:
        config = {**config, "budget": 1}
    try:
        from_dict(config)
    except (ValueError, TypeError, KeyError, DomainError) as exc:
        raise InvalidInput(f"Ballot configuration: {exc}.", field="ballot_config") from None


def _config_summary(process: Process) -> dict[str, Any]:
    return {
        "name": process.name,
        "currency": process.currency,
        "min_age": process.min_age,
        "support_threshold": process.support_threshold,
        "flag_threshold": process.flag_threshold,
        "ballot_config": process.ballot_config_dict,
        "rule_id": process.rule_id,
        "rule_params": process.rule_params_dict,
        "tie_break": process.tie_break,
        "schedule": process.schedule_dict,
    }
