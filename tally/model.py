"""The tally's data model: immutable elections in, immutable outcomes out.

Money is exact: project costs are integers (currency units, or minor units when the caller scales
them) and a budget is an ``int`` or a ``Fraction`` (real files carry budgets such as 2838616.34).
No float ever takes part in a decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from functools import cached_property
from typing import Any

Number = int | Fraction


class VoteType(StrEnum):
    """Ballot formats, named as in pabulib's META ``vote_type``."""

    APPROVAL = "approval"
    CHOOSE_ONE = "choose-1"
    CUMULATIVE = "cumulative"
    SCORING = "scoring"
    ORDINAL = "ordinal"


@dataclass(frozen=True, slots=True)
class Project:
    """A project on the ballot. ``extra`` keeps other columns (as text) for faithful export."""

    id: str
    cost: Number
    name: str = ""
    categories: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    district: str = ""
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Ballot:
    """One ballot, or ``weight`` identical ones.

    ``projects`` is the approved set (approval, choose-1), the supported projects (cumulative,
    scoring), or the ranking best first (ordinal). ``points`` is empty for approval ballots and
    otherwise aligned with ``projects`` (cumulative points, scores, or explicit ordinal points).
    """

    projects: tuple[str, ...]
    points: tuple[Number, ...] = ()
    weight: int = 1

    def __post_init__(self) -> None:
        if self.points and len(self.points) != len(self.projects):
            raise ValueError("points must be aligned with projects")
        if self.weight < 1:
            raise ValueError("weight must be a positive integer")


@dataclass(frozen=True, slots=True)
class BallotConstraints:
    """Ballot limits as declared in pabulib META; ``None`` means no limit."""

    min_length: int | None = None
    max_length: int | None = None
    min_sum_cost: Number | None = None
    max_sum_cost: Number | None = None
    min_points: Number | None = None
    max_points: Number | None = None
    min_sum_points: Number | None = None
    max_sum_points: Number | None = None


@dataclass(frozen=True)
class Election:
    """One district's vote: budget, projects in declaration order, ballots.

    ``exclusive_groups`` lists sets of mutually exclusive projects (at most one selected);
    ``category_caps`` maps a category to the most money its projects may take together.
    ``meta`` keeps the source's META rows, in order, for export and for ``rule`` lookup.
    """

    budget: Number
    projects: tuple[Project, ...]
    ballots: tuple[Ballot, ...]
    vote_type: VoteType = VoteType.APPROVAL
    constraints: BallotConstraints = field(default_factory=BallotConstraints)
    min_project_score_threshold: Number | None = None
    exclusive_groups: tuple[frozenset[str], ...] = ()
    category_caps: tuple[tuple[str, Number], ...] = ()
    meta: tuple[tuple[str, str], ...] = ()

    @cached_property
    def project_by_id(self) -> Mapping[str, Project]:
        return {p.id: p for p in self.projects}

    @cached_property
    def num_voters(self) -> int:
        return sum(b.weight for b in self.ballots)

    @cached_property
    def supporters(self) -> Mapping[str, int]:
        """Number of voters (weighted) whose ballot names each project."""
        counts = dict.fromkeys(self.project_by_id, 0)
        for b in self.ballots:
            for pid in b.projects:
                counts[pid] += b.weight
        return counts

    def meta_value(self, key: str, default: str | None = None) -> str | None:
        for k, v in self.meta:
            if k == key:
                return v
        return default


@dataclass(frozen=True, slots=True)
class Round:
    """One step of a rule, for explanations and round-by-round tables.

    ``decision`` is a short verb such as ``selected``, ``skipped``, ``eliminated``, ``stopped``;
    ``reason`` is one plain sentence; ``details`` holds exact figures (ints, Fractions, strings,
    and lists/dicts of them) that ``to_jsonable`` turns into JSON.
    """

    number: int
    decision: str
    project: str | None = None
    reason: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a rule decided: selected projects in selection order, with the rounds that explain it."""

    rule: str
    budget: Number
    selected: tuple[str, ...]
    total_cost: Number
    rounds: tuple[Round, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    tie_break: str = ""

    @property
    def leftover(self) -> Number:
        return self.budget - self.total_cost

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "params": to_jsonable(dict(self.params)),
            "tie_break": self.tie_break,
            "budget": to_jsonable(self.budget),
            "selected": list(self.selected),
            "total_cost": to_jsonable(self.total_cost),
            "leftover": to_jsonable(self.leftover),
            "rounds": [
                {
                    "number": r.number,
                    "decision": r.decision,
                    "project": r.project,
                    "reason": r.reason,
                    "details": to_jsonable(dict(r.details)),
                }
                for r in self.rounds
            ],
        }


def format_number(x: Number) -> str:
    """Exact decimal text when it terminates (``2838616.34``), else ``p/q``."""
    if isinstance(x, int) or x.denominator == 1:
        return str(int(x))
    d = x.denominator
    twos = fives = 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        return f"{x.numerator}/{x.denominator}"
    digits = max(twos, fives)
    scaled = abs(x.numerator) * 10**digits // x.denominator
    sign = "-" if x < 0 else ""
    text = str(scaled).rjust(digits + 1, "0")
    return f"{sign}{text[:-digits]}.{text[-digits:]}"


def to_jsonable(value: Any) -> Any:
    """Integers stay numbers; Fractions become exact decimal strings (or ``p/q``)."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else format_number(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return [to_jsonable(v) for v in items]
    if isinstance(value, StrEnum):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")
