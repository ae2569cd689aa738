"""PB ballot formats and their validation: pure functions, no I/O.

A district's ballot is one of five formats, each a frozen configuration:

- ``approval``: select between ``min_selections`` and ``max_selections`` projects
  (``choose-1`` is approval with exactly one);
- ``knapsack``: approval whose total cost must fit the district ``budget`` (the Stanford PB
  platform's knapsack ballot, Goel et al. 2019), with an optional minimum count;
- ``cumulative``: spread at most ``total_points`` over projects, at most ``max_per_project``
  each, at least ``min_total`` in all;
- ``ranked``: rank up to ``max_ranks`` projects best first (top-k), each at most once;
- ``score``: give projects a whole-number score from ``min_score`` to ``max_score``, scoring at
  least ``min_scored`` of them.

``validate_ballot`` turns what a resident sent into a normalised ``ValidBallot`` or raises
``InvalidBallot`` with one plain-language message; ``summary`` gives the live counters the
ballot page shows while the resident fills it in, and never raises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, ClassVar

from pb.errors import InvalidBallot
from tally.model import Ballot, BallotConstraints, VoteType

__all__ = [
    "FORMATS",
    "ApprovalConfig",
    "BallotConfig",
    "BallotSummary",
    "CumulativeConfig",
    "FormBallot",
    "InvalidBallot",
    "KnapsackConfig",
    "RankedConfig",
    "ScoreConfig",
    "ValidBallot",
    "canonical_json",
    "config_from_dict",
    "summary",
    "to_tally_ballot",
    "validate_ballot",
]


# ------------------------------------------------------------------------------ configurations
def _require_int(name: str, value: object, minimum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")


@dataclass(frozen=True, slots=True)
class ApprovalConfig:
    """Select between ``min_selections`` and ``max_selections`` projects (no maximum if None)."""

    format: ClassVar[str] = "approval"
    min_selections: int = 1
    max_selections: int | None = None

    def __post_init__(self) -> None:
        _require_int("min_selections", self.min_selections, 0)
        if self.max_selections is not None:
            _require_int("max_selections", self.max_selections, max(1, self.min_selections))

    @property
    def vote_type(self) -> VoteType:
        single = self.min_selections == self.max_selections == 1
        return VoteType.CHOOSE_ONE if single else VoteType.APPROVAL

    def constraints(self) -> BallotConstraints:
        """The same limits in pabulib's META terms."""
        return BallotConstraints(min_length=self.min_selections, max_length=self.max_selections)

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, **asdict(self)}


@dataclass(frozen=True, slots=True)
class KnapsackConfig:
    """Select projects whose total cost is at most ``budget``; at least ``min_selections``."""

    format: ClassVar[str] = "knapsack"
    budget: int
    min_selections: int = 1

    def __post_init__(self) -> None:
        _require_int("budget", self.budget, 1)
        _require_int("min_selections", self.min_selections, 0)

    @property
    def vote_type(self) -> VoteType:
        return VoteType.APPROVAL

    def constraints(self) -> BallotConstraints:
        return BallotConstraints(min_length=self.min_selections, max_sum_cost=self.budget)

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, **asdict(self)}


@dataclass(frozen=True, slots=True)
class CumulativeConfig:
    """Give at most ``total_points`` in all, at most ``max_per_project`` each, ``min_total`` at least."""

    format: ClassVar[str] = "cumulative"
    total_points: int
    max_per_project: int | None = None
    min_total: int = 1

    def __post_init__(self) -> None:
        _require_int("total_points", self.total_points, 1)
        if self.max_per_project is not None:
            _require_int("max_per_project", self.max_per_project, 1)
        _require_int("min_total", self.min_total, 0)
        if self.min_total > self.total_points:
            raise ValueError(
                f"min_total ({self.min_total}) cannot exceed total_points ({self.total_points})"
            )

    @property
    def vote_type(self) -> VoteType:
        return VoteType.CUMULATIVE

    def constraints(self) -> BallotConstraints:
        return BallotConstraints(
            max_points=self.max_per_project,
            min_sum_points=self.min_total,
            max_sum_points=self.total_points,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, **asdict(self)}


@dataclass(frozen=True, slots=True)
class RankedConfig:
    """Rank between ``min_ranks`` and ``max_ranks`` projects best first (no maximum if None)."""

    format: ClassVar[str] = "ranked"
    max_ranks: int | None = None
    min_ranks: int = 1

    def __post_init__(self) -> None:
        _require_int("min_ranks", self.min_ranks, 0)
        if self.max_ranks is not None:
            _require_int("max_ranks", self.max_ranks, max(1, self.min_ranks))

    @property
    def vote_type(self) -> VoteType:
        return VoteType.ORDINAL

    def constraints(self) -> BallotConstraints:
        return BallotConstraints(min_length=self.min_ranks, max_length=self.max_ranks)

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, **asdict(self)}


@dataclass(frozen=True, slots=True)
class ScoreConfig:
    """Score projects from ``min_score`` to ``max_score``; score at least ``min_scored`` of them."""

    format: ClassVar[str] = "score"
    min_score: int
    max_score: int
    min_scored: int = 1

    def __post_init__(self) -> None:
        _require_int("min_score", self.min_score)
        _require_int("max_score", self.max_score)
        if self.max_score <= self.min_score:
            raise ValueError(
                f"max_score ({self.max_score}) must be greater than min_score ({self.min_score})"
            )
        _require_int("min_scored", self.min_scored, 0)

    @property
    def vote_type(self) -> VoteType:
        return VoteType.SCORING

    def constraints(self) -> BallotConstraints:
        return BallotConstraints(
            min_length=self.min_scored, min_points=self.min_score, max_points=self.max_score
        )

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, **asdict(self)}


BallotConfig = ApprovalConfig | KnapsackConfig | CumulativeConfig | RankedConfig | ScoreConfig

FORMATS: dict[str, type[BallotConfig]] = {
    c.format: c
    for c in (ApprovalConfig, KnapsackConfig, CumulativeConfig, RankedConfig, ScoreConfig)
}


# ``revote`` (default true): a resident may replace their online ballot until voting closes.
COMMON_KEYS = ("revote",)


def config_from_dict(data: Mapping[str, Any]) -> BallotConfig:
    """Rebuild a configuration from ``to_dict`` output; ``ValueError`` names what is wrong."""
    if not isinstance(data, Mapping):
        raise ValueError("a ballot configuration must be a mapping")
    name = data.get("format")
    cls = FORMATS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown ballot format {name!r}; known: {', '.join(sorted(FORMATS))}")
    if "revote" in data and not isinstance(data["revote"], bool):
        raise ValueError(f"revote must be true or false, not {data['revote']!r}")
    # Keys shared by every format (how casting behaves), not part of the ballot's shape.
    params = {k: v for k, v in data.items() if k not in ("format", *COMMON_KEYS)}
    allowed = [f.name for f in fields(cls)]
    unknown = sorted(str(k) for k in params if k not in allowed)
    if unknown:
        raise ValueError(
            f"unknown parameter(s) for {name} ballots: {', '.join(unknown)}; "
            f"allowed: {', '.join(allowed)}"
        )
    missing = [
        f.name
        for f in fields(cls)
        if f.name not in params and f.default is MISSING and f.default_factory is MISSING
    ]
    if missing:
        raise ValueError(f"{name} ballots need: {', '.join(missing)}")
    return cls(**params)


def canonical_json(config: BallotConfig) -> str:
    """Stable JSON (sorted keys, no spaces) so a configuration can be hashed and compared."""
    return json.dumps(config.to_dict(), sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------------------------- validation
@dataclass(frozen=True, slots=True)
class ValidBallot:
    """A checked ballot: project ids (ballot order, or rank order for ranked) and their points.

    ``points`` is empty for approval, knapsack and ranked ballots.
    """

    format: str
    projects: tuple[str, ...]
    points: tuple[int, ...] = ()


_INTEGER = re.compile(r"[+-]?\d{1,18}")


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _show(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _read_ids(raw: object) -> list[Any]:
    """A list, tuple, set or frozenset of entries, else ``malformed``."""
    if isinstance(raw, (list, tuple)):
        return list(raw)
    if isinstance(raw, (set, frozenset)):
        return sorted(raw, key=repr)  # no order of its own: make error reports repeatable
    raise InvalidBallot("malformed", "This ballot could not be read: send a list of projects.")


def _read_pairs(raw: object) -> list[tuple[Any, Any]]:
    """A mapping or a list of (project, points) pairs, else ``malformed``."""
    if isinstance(raw, Mapping):
        return list(raw.items())
    if isinstance(raw, (list, tuple)) and all(
        isinstance(p, (list, tuple)) and len(p) == 2 for p in raw
    ):
        return [(p[0], p[1]) for p in raw]
    raise InvalidBallot(
        "malformed", "This ballot could not be read: send each project with its points."
    )


def _check_ids(ids: list[Any], projects: Mapping[str, int], duplicate: str) -> list[str]:
    """Every id is text, on the ballot, and named once."""
    seen: set[str] = set()
    for pid in ids:
        if not isinstance(pid, str):
            raise InvalidBallot(
                "malformed", "This ballot could not be read: project ids must be text."
            )
        if pid not in projects:
            raise InvalidBallot("unknown-project", f"Project {_show(pid)} is not on this ballot.")
        if pid in seen:
            raise InvalidBallot("duplicate", duplicate)
        seen.add(pid)
    return ids


def _parse_int(value: object) -> int | None:
    """An int, or the text of one; anything else (floats, bools, "1.5") is not a whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _read_points(
    raw: object, projects: Mapping[str, int], noun: str, duplicate: str
) -> dict[str, int]:
    """Checked ``project → whole number`` entries, in the order sent."""
    pairs = _read_pairs(raw)
    _check_ids([pid for pid, _ in pairs], projects, duplicate)
    out: dict[str, int] = {}
    for pid, value in pairs:
        number = _parse_int(value)
        if number is None:
            raise InvalidBallot(
                "not-integer",
                f"{noun.capitalize()} must be whole numbers (project {_show(pid)} has {_show(value)}).",
            )
        out[pid] = number
    return out


def _in_ballot_order(chosen: set[str] | dict[str, int], projects: Mapping[str, int]) -> list[str]:
    return [pid for pid in projects if pid in chosen]


def _check_count(n: int, low: int, high: int | None, verb: str, past: str) -> None:
    if high is not None and n > high:
        raise InvalidBallot(
            "too-many", f"{verb} at most {_plural(high, 'project')} (you {past} {n:,})."
        )
    if n < low:
        raise InvalidBallot(
            "too-few", f"{verb} at least {_plural(low, 'project')} (you {past} {n:,})."
        )


def _validate_approval(
    config: ApprovalConfig | KnapsackConfig, projects: Mapping[str, int], raw: object
) -> ValidBallot:
    ids = _check_ids(_read_ids(raw), projects, "Select each project at most once.")
    high = config.max_selections if isinstance(config, ApprovalConfig) else None
    _check_count(len(ids), config.min_selections, high, "Select", "selected")
    if isinstance(config, KnapsackConfig):
        cost = sum(projects[pid] for pid in ids)
        if cost > config.budget:
            raise InvalidBallot(
                "over-budget",
                f"These projects cost {cost:,} in total, more than the {config.budget:,} budget.",
            )
    return ValidBallot(config.format, tuple(_in_ballot_order(set(ids), projects)))


def _validate_cumulative(
    config: CumulativeConfig, projects: Mapping[str, int], raw: object
) -> ValidBallot:
    points = _read_points(raw, projects, "points", "Give points to each project only once.")
    for pid, value in points.items():
        if value < 0:
            raise InvalidBallot(
                "negative", f"Points cannot be negative (project {_show(pid)} has {value:,})."
            )
        cap = config.max_per_project
        if cap is not None and value > cap:
            raise InvalidBallot(
                "over-cap",
                f"Give at most {_plural(cap, 'point')} to one project "
                f"(project {_show(pid)} has {value:,}).",
            )
    total = sum(points.values())
    if total > config.total_points:
        raise InvalidBallot(
            "too-many-points",
            f"Give at most {_plural(config.total_points, 'point')} in total (you gave {total:,}).",
        )
    if total < config.min_total:
        raise InvalidBallot(
            "too-few-points",
            f"Give at least {_plural(config.min_total, 'point')} in total (you gave {total:,}).",
        )
    kept = {pid: v for pid, v in points.items() if v > 0}
    order = _in_ballot_order(kept, projects)
    return ValidBallot(config.format, tuple(order), tuple(kept[pid] for pid in order))


def _validate_ranked(config: RankedConfig, projects: Mapping[str, int], raw: object) -> ValidBallot:
    if isinstance(raw, (set, frozenset)):
        raise InvalidBallot(
            "malformed", "This ballot could not be read: send the projects in order."
        )
    ids = _check_ids(_read_ids(raw), projects, "Rank each project at most once.")
    _check_count(len(ids), config.min_ranks, config.max_ranks, "Rank", "ranked")
    return ValidBallot(config.format, tuple(ids))


def _validate_score(config: ScoreConfig, projects: Mapping[str, int], raw: object) -> ValidBallot:
    scores = _read_points(raw, projects, "scores", "Score each project only once.")
    for pid, value in scores.items():
        if not config.min_score <= value <= config.max_score:
            raise InvalidBallot(
                "out-of-range",
                f"Give each project a score from {config.min_score:,} to {config.max_score:,} "
                f"(project {_show(pid)} has {value:,}).",
            )
    _check_count(len(scores), config.min_scored, None, "Score", "scored")
    order = _in_ballot_order(scores, projects)
    return ValidBallot(config.format, tuple(order), tuple(scores[pid] for pid in order))


def validate_ballot(config: BallotConfig, projects: Mapping[str, int], raw: object) -> ValidBallot:
    """Check a ballot against its format; raise ``InvalidBallot`` with the first problem found.

    ``projects`` maps each project on this ballot to its cost. ``raw`` is a list of project ids
    (approval, knapsack; ranked: best first) or a mapping / list of pairs ``project → points``
    (cumulative, score; points may be ints or their text). Checks run in a fixed order: shape,
    unknown project, duplicate, whole numbers, per-project limits, counts, totals.
    """
    if isinstance(config, (ApprovalConfig, KnapsackConfig)):
        return _validate_approval(config, projects, raw)
    if isinstance(config, CumulativeConfig):
        return _validate_cumulative(config, projects, raw)
    if isinstance(config, RankedConfig):
        return _validate_ranked(config, projects, raw)
    if isinstance(config, ScoreConfig):
        return _validate_score(config, projects, raw)
    raise TypeError(f"not a ballot configuration: {type(config).__name__}")


def to_tally_ballot(valid: ValidBallot) -> Ballot:
    """The tally's view of a checked ballot (weight 1)."""
    return Ballot(projects=valid.projects, points=valid.points)


# ------------------------------------------------------------------------------- form ballots
_MAX_FORM_VALUE = 40


@dataclass(frozen=True, slots=True)
class FormBallot:
    """A ballot as a web form posts it, read before its format is known.

    ``ticked`` holds the ``project`` boxes (approval, knapsack); ``fields`` the non-empty
    ``points-<id>`` (cumulative, score) and ``rank-<id>`` (ranked) fields. ``raw`` turns it into
    what ``validate_ballot`` reads for a given configuration.
    """

    ticked: tuple[str, ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_items(cls, items: Iterable[tuple[str, object]]) -> FormBallot:
        ticked: list[str] = []
        values: dict[str, str] = {}
        for name, value in items:
            if not isinstance(value, str):
                continue
            if name == "project":
                ticked.append(value[:_MAX_FORM_VALUE])
            elif name.startswith(("points-", "rank-")) and value.strip():
                values[name[:_MAX_FORM_VALUE]] = value.strip()[:_MAX_FORM_VALUE]
        return cls(tuple(ticked), values)

    def raw(self, config: BallotConfig, project_ids: Iterable[str]) -> object:
        """Approval, knapsack: the ticked ids. Cumulative, score: ``{id: points}``. Ranked: the
        ids ordered by their rank numbers (whole numbers from 1, each used once)."""
        if isinstance(config, (ApprovalConfig, KnapsackConfig)):
            return list(self.ticked)
        if isinstance(config, (CumulativeConfig, ScoreConfig)):
            return {
                pid: self.fields[f"points-{pid}"]
                for pid in project_ids
                if f"points-{pid}" in self.fields
            }
        ranks: dict[int, str] = {}
        for pid in project_ids:
            text = self.fields.get(f"rank-{pid}")
            if text is None:
                continue
            if not text.isdecimal() or int(text) < 1:
                raise InvalidBallot("not-integer", "Ranks must be whole numbers from 1.")
            if int(text) in ranks:
                raise InvalidBallot("duplicate", f"Give rank {int(text)} to one project only.")
            ranks[int(text)] = pid
        return [ranks[r] for r in sorted(ranks)]


# ------------------------------------------------------------------------------------- summary
@dataclass(frozen=True, slots=True)
class BallotSummary:
    """Live counters for the ballot page; ``message`` is the first problem, "" when valid.

    ``money_left`` and ``points_left`` may be negative (over the limit); fields that do not
    apply to the format are ``None``.
    """

    selected: int
    max_selected: int | None
    money_used: int
    money_left: int | None
    points_used: int | None
    points_left: int | None
    valid: bool
    message: str


def _lenient_entries(raw: object) -> list[tuple[object, int | None]]:
    """Whatever can be read from ``raw`` as (project, points) pairs; bare ids get 1 point."""
    if isinstance(raw, Mapping):
        pairs = list(raw.items())
    elif isinstance(raw, (list, tuple, set, frozenset)):
        pairs = [
            (e[0], e[1]) if isinstance(e, (list, tuple)) and len(e) == 2 else (e, 1) for e in raw
        ]
    else:
        return []
    return [(pid, _parse_int(value)) for pid, value in pairs]


def summary(config: BallotConfig, projects: Mapping[str, int], raw: object) -> BallotSummary:
    """Counters for a partly filled ballot: projects chosen, money used and left, points left.

    Unknown projects, repeats and unreadable points are ignored in the counters (the
    ``message`` still reports them), so the page can update on every change.
    """
    chosen: dict[str, int | None] = {}
    for pid, value in _lenient_entries(raw):
        if isinstance(pid, str) and pid in projects and pid not in chosen:
            chosen[pid] = value
    if isinstance(config, CumulativeConfig):
        counted = [pid for pid, v in chosen.items() if v is not None and v > 0]
    elif isinstance(config, ScoreConfig):
        counted = [pid for pid, v in chosen.items() if v is not None]
    else:
        counted = list(chosen)
    money = sum(projects[pid] for pid in counted)
    try:
        validate_ballot(config, projects, raw)
        valid, message = True, ""
    except InvalidBallot as exc:
        valid, message = False, exc.message
    points_used = (
        sum(chosen[pid] or 0 for pid in counted) if isinstance(config, CumulativeConfig) else None
    )
    if isinstance(config, ApprovalConfig):
        max_selected: int | None = config.max_selections
    elif isinstance(config, RankedConfig):
        max_selected = config.max_ranks
    else:
        max_selected = None
    return BallotSummary(
        selected=len(counted),
        max_selected=max_selected,
        money_used=money,
        money_left=config.budget - money if isinstance(config, KnapsackConfig) else None,
        points_used=points_used,
        points_left=(
            config.total_points - points_used
            if isinstance(config, CumulativeConfig) and points_used is not None
            else None
        ),
        valid=valid,
        message=message,
    )
