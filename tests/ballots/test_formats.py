"""Ballot formats: every format, every failure with its message, boundaries, and properties."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ballots
from ballots.formats import (
    FORMATS,
    ApprovalConfig,
    BallotConfig,
    CumulativeConfig,
    InvalidBallot,
    KnapsackConfig,
    RankedConfig,
    ScoreConfig,
    ValidBallot,
    canonical_json,
    config_from_dict,
    summary,
    to_tally_ballot,
    validate_ballot,
)
from tally.model import Ballot, VoteType

PROJECTS = {"P1": 40_000, "P2": 60_000, "P3": 20_000, "P4": 70_000}


def rejects(config: BallotConfig, raw: Any, code: str, message: str) -> None:
    with pytest.raises(InvalidBallot) as info:
        validate_ballot(config, PROJECTS, raw)
    assert info.value.code == code
    assert info.value.message == message
    assert str(info.value) == message


# -------------------------------------------------------------------------------- approval
def test_approval_accepts_up_to_max_in_ballot_order() -> None:
    config = ApprovalConfig(max_selections=3)
    valid = validate_ballot(config, PROJECTS, ["P3", "P1", "P2"])
    assert valid == ValidBallot("approval", ("P1", "P2", "P3"))
    assert to_tally_ballot(valid) == Ballot(("P1", "P2", "P3"))


@pytest.mark.parametrize(
    ("config", "raw", "code", "message"),
    [
        (ApprovalConfig(max_selections=3), ["P1", "P2", "P3", "P4"], "too-many",
         "Select at most 3 projects (you selected 4)."),
        (ApprovalConfig(max_selections=1), ["P1", "P2"], "too-many",
         "Select at most 1 project (you selected 2)."),
        (ApprovalConfig(min_selections=2), ["P1"], "too-few",
         "Select at least 2 projects (you selected 1)."),
        (ApprovalConfig(), [], "too-few", "Select at least 1 project (you selected 0)."),
        (ApprovalConfig(), ["P1", "X"], "unknown-project", "Project X is not on this ballot."),
        (ApprovalConfig(), ["P1", "P1"], "duplicate", "Select each project at most once."),
        (ApprovalConfig(), ["P1", 2], "malformed",
         "This ballot could not be read: project ids must be text."),
        (ApprovalConfig(), "P1", "malformed",
         "This ballot could not be read: send a list of projects."),
        (ApprovalConfig(), {"P1": 1}, "malformed",
         "This ballot could not be read: send a list of projects."),
    ],
)  # fmt: skip
def test_approval_failures(config: ApprovalConfig, raw: Any, code: str, message: str) -> None:
    rejects(config, raw, code, message)


def test_choose_one_is_approval_with_exactly_one() -> None:
    config = ApprovalConfig(min_selections=1, max_selections=1)
    assert config.vote_type is VoteType.CHOOSE_ONE
    assert validate_ballot(config, PROJECTS, ["P2"]).projects == ("P2",)
    rejects(config, [], "too-few", "Select at least 1 project (you selected 0).")


def test_blank_approval_ballot_when_allowed() -> None:
    assert validate_ballot(ApprovalConfig(min_selections=0), PROJECTS, []).projects == ()


def test_approval_accepts_a_set() -> None:
    assert validate_ballot(ApprovalConfig(), PROJECTS, {"P2", "P1"}).projects == ("P1", "P2")


# -------------------------------------------------------------------------------- knapsack
def test_knapsack_exactly_the_budget_is_accepted() -> None:
    config = KnapsackConfig(budget=100_000)
    assert validate_ballot(config, PROJECTS, ["P2", "P1"]).projects == ("P1", "P2")


def test_knapsack_over_budget() -> None:
    rejects(
        KnapsackConfig(budget=100_000), ["P1", "P2", "P3"], "over-budget",
        "These projects cost 120,000 in total, more than the 100,000 budget.",
    )  # fmt: skip


def test_knapsack_minimum_count_and_unknown_project() -> None:
    rejects(KnapsackConfig(budget=100_000, min_selections=2), ["P1"], "too-few",
            "Select at least 2 projects (you selected 1).")  # fmt: skip
    rejects(KnapsackConfig(budget=100_000), ["Q9"], "unknown-project",
            "Project Q9 is not on this ballot.")  # fmt: skip
    rejects(KnapsackConfig(budget=100_000), ["P3", "P3"], "duplicate",
            "Select each project at most once.")  # fmt: skip


# ------------------------------------------------------------------------------ cumulative
def test_cumulative_accepts_exactly_the_total_and_drops_zeros() -> None:
    config = CumulativeConfig(total_points=10, max_per_project=5)
    valid = validate_ballot(config, PROJECTS, {"P3": 5, "P1": "5", "P2": 0})
    assert valid == ValidBallot("cumulative", ("P1", "P3"), (5, 5))
    assert to_tally_ballot(valid) == Ballot(("P1", "P3"), (5, 5))


def test_cumulative_accepts_pairs() -> None:
    config = CumulativeConfig(total_points=10)
    assert validate_ballot(config, PROJECTS, [["P2", 3], ("P1", 1)]).points == (1, 3)


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        ({"P1": 6, "P2": 5}, "too-many-points", "Give at most 10 points in total (you gave 11)."),
        ({"P1": 1}, "too-few-points", "Give at least 2 points in total (you gave 1)."),
        ({"P1": 7}, "over-cap", "Give at most 6 points to one project (project P1 has 7)."),
        ({"P1": -2, "P2": 4}, "negative", "Points cannot be negative (project P1 has -2)."),
        ({"P1": 1.5}, "not-integer", "Points must be whole numbers (project P1 has 1.5)."),
        ({"P1": "two"}, "not-integer", "Points must be whole numbers (project P1 has two)."),
        ({"P1": True}, "not-integer", "Points must be whole numbers (project P1 has True)."),
        ({"P1": None}, "not-integer", "Points must be whole numbers (project P1 has None)."),
        ({"X": 1}, "unknown-project", "Project X is not on this ballot."),
        ([("P1", 1), ("P1", 2)], "duplicate", "Give points to each project only once."),
        (["P1", "P2"], "malformed",
         "This ballot could not be read: send each project with its points."),
    ],
)  # fmt: skip
def test_cumulative_failures(raw: Any, code: str, message: str) -> None:
    rejects(CumulativeConfig(total_points=10, max_per_project=6, min_total=2), raw, code, message)


def test_cumulative_single_point_wording() -> None:
    rejects(CumulativeConfig(total_points=1), {"P1": 2}, "too-many-points",
            "Give at most 1 point in total (you gave 2).")  # fmt: skip


# ---------------------------------------------------------------------------------- ranked
def test_ranked_keeps_rank_order_and_accepts_exactly_k() -> None:
    config = RankedConfig(max_ranks=3)
    valid = validate_ballot(config, PROJECTS, ("P4", "P1", "P2"))
    assert valid == ValidBallot("ranked", ("P4", "P1", "P2"))
    assert to_tally_ballot(valid) == Ballot(("P4", "P1", "P2"))


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        (["P1", "P2", "P1"], "duplicate", "Rank each project at most once."),
        (["P1", "P2", "P3", "P4"], "too-many", "Rank at most 3 projects (you ranked 4)."),
        (["P1"], "too-few", "Rank at least 2 projects (you ranked 1)."),
        (["P1", "Z"], "unknown-project", "Project Z is not on this ballot."),
        ({"P1", "P2"}, "malformed", "This ballot could not be read: send the projects in order."),
    ],
)
def test_ranked_failures(raw: Any, code: str, message: str) -> None:
    rejects(RankedConfig(max_ranks=3, min_ranks=2), raw, code, message)


# ----------------------------------------------------------------------------------- score
def test_score_accepts_range_ends_and_keeps_zero_scores() -> None:
    config = ScoreConfig(min_score=0, max_score=5, min_scored=2)
    valid = validate_ballot(config, PROJECTS, {"P2": 0, "P1": 5})
    assert valid == ValidBallot("score", ("P1", "P2"), (5, 0))


def test_score_negative_range() -> None:
    config = ScoreConfig(min_score=-2, max_score=2)
    assert validate_ballot(config, PROJECTS, {"P1": "-2"}).points == (-2,)


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        ({"P1": 6, "P2": 1}, "out-of-range",
         "Give each project a score from 0 to 5 (project P1 has 6)."),
        ({"P1": -1, "P2": 1}, "out-of-range",
         "Give each project a score from 0 to 5 (project P1 has -1)."),
        ({"P1": 4}, "too-few", "Score at least 2 projects (you scored 1)."),
        ({"P1": 2.5}, "not-integer", "Scores must be whole numbers (project P1 has 2.5)."),
        ({"P9": 1}, "unknown-project", "Project P9 is not on this ballot."),
        ([("P1", 1), ("P1", 1)], "duplicate", "Score each project only once."),
    ],
)  # fmt: skip
def test_score_failures(raw: Any, code: str, message: str) -> None:
    rejects(ScoreConfig(min_score=0, max_score=5, min_scored=2), raw, code, message)


def test_first_problem_wins() -> None:
    # Unknown project is checked before the count.
    rejects(ApprovalConfig(max_selections=1), ["P1", "X"], "unknown-project",
            "Project X is not on this ballot.")  # fmt: skip


def test_long_project_ids_are_shortened_in_messages() -> None:
    with pytest.raises(InvalidBallot) as info:
        validate_ballot(ApprovalConfig(), PROJECTS, ["x" * 500])
    assert len(info.value.message) < 80


def test_not_a_config() -> None:
    with pytest.raises(TypeError):
        validate_ballot(object(), PROJECTS, [])  # type: ignore[arg-type]


# --------------------------------------------------------------------------------- summary
def test_summary_knapsack_money() -> None:
    config = KnapsackConfig(budget=100_000)
    s = summary(config, PROJECTS, ["P1", "P2", "P3", "nope", "P1"])
    assert (s.selected, s.money_used, s.money_left) == (3, 120_000, -20_000)
    assert not s.valid and s.message == "Project nope is not on this ballot."
    ok = summary(config, PROJECTS, ["P1"])
    assert ok.valid and ok.message == "" and ok.money_left == 60_000


def test_summary_cumulative_points() -> None:
    config = CumulativeConfig(total_points=10)
    s = summary(config, PROJECTS, {"P1": "3", "P2": 0, "P3": "x"})
    assert (s.selected, s.points_used, s.points_left) == (1, 3, 7)
    assert s.money_left is None and s.message.startswith("Points must be whole numbers")


def test_summary_counts_for_other_formats() -> None:
    assert summary(ApprovalConfig(max_selections=2), PROJECTS, ["P1"]).max_selected == 2
    assert summary(RankedConfig(max_ranks=3), PROJECTS, ["P2", "P1"]).selected == 2
    scored = summary(ScoreConfig(min_score=0, max_score=3), PROJECTS, {"P1": 0, "P2": 2})
    assert scored.selected == 2 and scored.points_left is None
    assert summary(ApprovalConfig(), PROJECTS, 42).selected == 0


# ------------------------------------------------------------------------- configurations
CONFIGS = [
    ApprovalConfig(min_selections=1, max_selections=3),
    KnapsackConfig(budget=100_000, min_selections=0),
    CumulativeConfig(total_points=10, max_per_project=4, min_total=1),
    RankedConfig(max_ranks=5, min_ranks=1),
    ScoreConfig(min_score=-2, max_score=2, min_scored=3),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_config_round_trip_and_canonical_json(config: BallotConfig) -> None:
    data = config.to_dict()
    assert data["format"] == config.format
    assert config_from_dict(data) == config
    text = canonical_json(config)
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    shuffled = dict(reversed(list(data.items())))
    assert canonical_json(config_from_dict(shuffled)) == text


def test_canonical_json_example() -> None:
    assert canonical_json(ApprovalConfig(max_selections=3)) == (
        '{"format":"approval","max_selections":3,"min_selections":1}'
    )


def test_vote_types_and_constraints() -> None:
    assert [c.vote_type for c in CONFIGS] == [
        VoteType.APPROVAL, VoteType.APPROVAL, VoteType.CUMULATIVE, VoteType.ORDINAL,
        VoteType.SCORING,
    ]  # fmt: skip
    assert CONFIGS[1].constraints().max_sum_cost == 100_000
    assert CONFIGS[2].constraints().max_sum_points == 10
    assert set(FORMATS) == {"approval", "knapsack", "cumulative", "ranked", "score"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"format": "borda"}, "unknown ballot format 'borda'"),
        ({}, "unknown ballot format None"),
        ("approval", "must be a mapping"),
        ({"format": "approval", "max": 3}, "unknown parameter.*max; allowed"),
        ({"format": "knapsack"}, "knapsack ballots need: budget"),
        ({"format": "knapsack", "budget": 0}, "budget must be at least 1"),
        ({"format": "knapsack", "budget": "100"}, "budget must be a whole number"),
        ({"format": "approval", "min_selections": 3, "max_selections": 2},
         "max_selections must be at least 3"),
        ({"format": "approval", "min_selections": -1}, "min_selections must be at least 0"),
        ({"format": "approval", "max_selections": True}, "whole number"),
        ({"format": "cumulative", "total_points": 5, "min_total": 6}, "cannot exceed"),
        ({"format": "cumulative", "total_points": 5, "max_per_project": 0}, "at least 1"),
        ({"format": "ranked", "max_ranks": 0}, "max_ranks must be at least 1"),
        ({"format": "score", "min_score": 3, "max_score": 3}, "must be greater"),
        ({"format": "score", "min_score": 0, "max_score": 1.5}, "whole number"),
    ],
)  # fmt: skip
def test_bad_configs(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config_from_dict(data)


def test_package_exports() -> None:
    assert set(ballots.__all__) <= set(dir(ballots))
    assert "validate_ballot" in ballots.__all__ and "check_age" in ballots.__all__


# ------------------------------------------------------------------------------ properties
IDS = ["P1", "P2", "P3", "P4", "X"]
junk_value = st.one_of(
    st.integers(-3, 12),
    st.integers().map(str),
    st.sampled_from(["", " 3 ", "1.0", "abc", "+2", "-0"]),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
)
junk_id = st.one_of(st.sampled_from(IDS), st.integers(0, 3), st.none(), st.text(max_size=3))
raw_ballots = st.one_of(
    st.lists(junk_id, max_size=6),
    st.lists(st.sampled_from(IDS), max_size=6).map(tuple),
    st.sets(st.sampled_from(IDS)),
    st.dictionaries(junk_id.filter(lambda x: x is not None), junk_value, max_size=5),
    st.dictionaries(st.sampled_from(IDS[:4]), st.integers(-1, 6), max_size=4),
    st.lists(st.tuples(st.sampled_from(IDS), junk_value), max_size=5),
    st.one_of(st.none(), st.integers(), st.text(max_size=4)),
)
configs = st.one_of(
    st.builds(
        lambda lo, extra: ApprovalConfig(lo, None if extra is None else max(1, lo + extra)),
        st.integers(0, 3), st.one_of(st.none(), st.integers(0, 3)),
    ),
    st.builds(KnapsackConfig, st.integers(1, 200_000), st.integers(0, 2)),
    st.builds(
        lambda total, cap, low: CumulativeConfig(total, cap, min(low, total)),
        st.integers(1, 12), st.one_of(st.none(), st.integers(1, 6)), st.integers(0, 4),
    ),
    st.builds(
        lambda low, extra: RankedConfig(None if extra is None else max(1, low + extra), low),
        st.integers(0, 3), st.one_of(st.none(), st.integers(0, 3)),
    ),
    st.builds(
        lambda lo, span, n: ScoreConfig(lo, lo + span, n),
        st.integers(-3, 2), st.integers(1, 6), st.integers(0, 3),
    ),
)  # fmt: skip


def satisfies(config: BallotConfig, valid: ValidBallot) -> bool:
    """The ballot obeys every limit of its configuration."""
    ids = valid.projects
    if len(set(ids)) != len(ids) or not set(ids) <= set(PROJECTS):
        return False
    if valid.points and len(valid.points) != len(ids):
        return False
    if isinstance(config, ApprovalConfig):
        high = config.max_selections
        return not valid.points and config.min_selections <= len(ids) <= (high or len(ids))
    if isinstance(config, KnapsackConfig):
        cost = sum(PROJECTS[p] for p in ids)
        return not valid.points and len(ids) >= config.min_selections and cost <= config.budget
    if isinstance(config, CumulativeConfig):
        cap = config.max_per_project or config.total_points
        return (
            all(0 < v <= cap for v in valid.points)
            and config.min_total <= sum(valid.points) <= config.total_points
        )
    if isinstance(config, RankedConfig):
        high = config.max_ranks or len(ids)
        return not valid.points and config.min_ranks <= len(ids) <= high
    assert isinstance(config, ScoreConfig)
    return len(ids) >= config.min_scored and all(
        config.min_score <= v <= config.max_score for v in valid.points
    )


@st.composite
def config_and_ballot(draw: st.DrawFn) -> tuple[BallotConfig, Any]:
    """A configuration and a ballot: half of the time shaped for the format, else anything."""
    config = draw(configs)
    if draw(st.booleans()):
        return config, draw(raw_ballots)
    if isinstance(config, (CumulativeConfig, ScoreConfig)):
        plausible = st.dictionaries(st.sampled_from(IDS), st.integers(-3, 12), max_size=5)
    else:
        plausible = st.lists(st.sampled_from(IDS[:4] * 3 + ["X"]), max_size=5)
    return config, draw(plausible)


# The first text draw in a fresh checkout builds Hypothesis's Unicode table (about 1.5 s), which
# the too_slow health check mistakes for a slow strategy.
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(config_and_ballot())
def test_every_ballot_is_accepted_within_limits_or_rejected_cleanly(case) -> None:  # type: ignore[no-untyped-def]
    config, raw = case
    try:
        valid = validate_ballot(config, PROJECTS, raw)
    except InvalidBallot as exc:
        assert exc.code and exc.message and exc.message.endswith(".")
    else:
        assert satisfies(config, valid)
        assert all(type(v) is int for v in valid.points)
        to_tally_ballot(valid)
    s = summary(config, PROJECTS, raw)
    assert s.valid == (s.message == "")


@settings(max_examples=100)
@given(configs)
def test_config_dict_round_trip(config) -> None:  # type: ignore[no-untyped-def]
    assert config_from_dict(json.loads(canonical_json(config))) == config
