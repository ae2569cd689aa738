"""Input and output shapes of the proposal domain, with their validation.

Money is always an integer number of minor currency units (cents for EUR). Text fields are
stripped; empty or oversized fields, fractional or negative amounts are refused with a message
naming the field. ``XPublic`` shapes are what the JSON API publishes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import field_validator, model_validator
from sqlmodel import Field, SQLModel

from pb.processes import whole_minor_units
from proposals.lifecycle import ProposalStatus
from proposals.models import Proposal

__all__ = [
    "MAX_BREAKDOWN_LINES",
    "CommentCreate",
    "CostLine",
    "CostingInput",
    "DecisionInput",
    "FlagCreate",
    "ProposalBase",
    "ProposalCreate",
    "ProposalEventPublic",
    "ProposalPage",
    "ProposalPublic",
    "ProposalUpdate",
]

MAX_BREAKDOWN_LINES = 50
MAX_COST = 10**15  # far above any city budget in minor units, well inside BIGINT


def _text(v: Any) -> Any:
    """Strip, and normalise line ends so length limits count what the reader sees."""
    if isinstance(v, str):
        return v.replace("\r\n", "\n").strip()
    return v


def _optional_id(v: Any) -> Any:
    return None if v in ("", None) else v


class ProposalBase(SQLModel):
    title: str = Field(min_length=5, max_length=120)
    summary: str = Field(min_length=10, max_length=300)
    description: str = Field(min_length=20, max_length=10_000)
    district_id: int = Field(gt=0)
    category_id: int | None = Field(default=None, gt=0)
    estimated_cost: int = Field(ge=0, le=MAX_COST)
    location: str = Field(default="", max_length=200)

    _texts = field_validator("title", "summary", "description", "location", mode="before")(_text)
    _category = field_validator("category_id", mode="before")(_optional_id)

    @field_validator("title", "summary")
    @classmethod
    def _one_line(cls, v: str) -> str:
        if "\n" in v:
            raise ValueError("Must fit on one line")
        return v

    @field_validator("estimated_cost", mode="before")
    @classmethod
    def _cost(cls, v: Any) -> Any:
        return whole_minor_units(v, "Estimated cost")


class ProposalCreate(ProposalBase):
    pass


class ProposalUpdate(ProposalBase):
    pass


class CostLine(SQLModel):
    item: str = Field(min_length=1, max_length=200)
    amount: int = Field(ge=0, le=MAX_COST)

    _item = field_validator("item", mode="before")(_text)

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, v: Any) -> Any:
        return whole_minor_units(v, "Amount")


class CostingInput(SQLModel):
    """A valuator's report: official cost with its breakdown, feasibility, duration."""

    feasible: bool
    official_cost: int | None = Field(default=None, ge=0, le=MAX_COST)
    breakdown: list[CostLine] = Field(default_factory=list, max_length=MAX_BREAKDOWN_LINES)
    unfeasible_reason: str = Field(default="", max_length=5000)
    duration_months: int | None = Field(default=None, ge=1, le=240)

    _reason = field_validator("unfeasible_reason", mode="before")(_text)
    _duration = field_validator("duration_months", mode="before")(_optional_id)

    @field_validator("official_cost", mode="before")
    @classmethod
    def _cost(cls, v: Any) -> Any:
        return None if v in ("", None) else whole_minor_units(v, "Official cost")

    @model_validator(mode="after")
    def _consistent(self) -> CostingInput:
        if self.feasible:
            if self.official_cost is None:
                raise _field_error("official_cost", "A feasible proposal needs an official cost")
            if not self.breakdown:
                raise _field_error(
                    "breakdown", "Break the official cost down into at least one line"
                )
        elif len(self.unfeasible_reason) < 10:
            raise _field_error(
                "unfeasible_reason",
                "Explain publicly why the proposal is unfeasible (at least 10 characters)",
            )
        if self.breakdown:
            total = sum(line.amount for line in self.breakdown)
            if self.official_cost is None or total != self.official_cost:
                raise _field_error(
                    "breakdown",
                    f"The breakdown adds up to {total}, not to the official cost "
                    f"{self.official_cost if self.official_cost is not None else '(missing)'}",
                )
        return self


class DecisionInput(SQLModel):
    """A moderator's or valuator's decision: the version they saw and an optional reason."""

    reason: str = Field(default="", max_length=2000)
    version: int | None = Field(default=None, ge=1)
    merge_into_id: int | None = Field(default=None, gt=0)

    _reason = field_validator("reason", mode="before")(_text)
    _ids = field_validator("version", "merge_into_id", mode="before")(_optional_id)


class CommentCreate(SQLModel):
    body: str = Field(min_length=2, max_length=2000)

    _body = field_validator("body", mode="before")(_text)


class FlagCreate(SQLModel):
    reason: str = Field(default="", max_length=500)

    _reason = field_validator("reason", mode="before")(_text)


class ProposalEventPublic(SQLModel):
    action: str
    from_status: str | None
    to_status: str
    reason: str
    at: datetime


class ProposalPublic(SQLModel):
    """A published proposal as open data. Costing fields are filled once prices are published."""

    id: int
    process_id: int
    district_id: int
    category_id: int | None
    title: str
    summary: str
    description: str
    location: str
    estimated_cost: int
    status: ProposalStatus
    support_count: int
    merged_into_id: int | None
    official_cost: int | None = None
    cost_breakdown: list[dict[str, Any]] | None = None
    feasible: bool | None = None
    unfeasible_reason: str | None = None
    duration_months: int | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Proposal) -> ProposalPublic:
        public = p.costing_published_at is not None
        return cls(
            id=p.id,
            process_id=p.process_id,
            district_id=p.district_id,
            category_id=p.category_id,
            title=p.title,
            summary=p.summary,
            description=p.description,
            location=p.location,
            estimated_cost=p.estimated_cost,
            status=ProposalStatus(p.status),
            support_count=p.support_count,
            merged_into_id=p.merged_into_id,
            official_cost=p.official_cost if public else None,
            cost_breakdown=p.breakdown if public else None,
            feasible=p.feasible if public else None,
            unfeasible_reason=(p.unfeasible_reason or None) if public else None,
            duration_months=p.duration_months if public else None,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class ProposalPage(SQLModel):
    """One page of published proposals."""

    items: list[ProposalPublic]
    total: int
    page: int
    per_page: int
    pages: int


def _field_error(field: str, message: str) -> ValueError:
    """A model-level problem that still names its field (see ``pb.processes.validate_input``)."""
    return FieldProblem(field, message)


class FieldProblem(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
