"""Reading a ballot from the ballot page's form fields, for each format."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ballots.formats import (
    ApprovalConfig,
    CumulativeConfig,
    FormBallot,
    InvalidBallot,
    KnapsackConfig,
    RankedConfig,
    ScoreConfig,
    validate_ballot,
)

PROJECTS = {"1": 40, "2": 30, "3": 20, "4": 10}


def form(*items: tuple[str, object]) -> FormBallot:
    return FormBallot.from_items(items)


def test_ticked_boxes_for_approval_and_knapsack() -> None:
    posted = form(("project", "2"), ("project", "1"), ("_csrf_token", "x"), ("points-3", "5"))
    assert posted.raw(ApprovalConfig(), PROJECTS) == ["2", "1"]
    valid = validate_ballot(
        KnapsackConfig(budget=70), PROJECTS, posted.raw(KnapsackConfig(budget=70), PROJECTS)
    )
    assert valid.projects == ("1", "2")


def test_points_fields_for_cumulative_and_score_skip_empty_ones() -> None:
    posted = form(("points-1", " 3 "), ("points-2", ""), ("points-4", "2"), ("rank-1", "1"))
    assert posted.raw(CumulativeConfig(total_points=5), PROJECTS) == {"1": "3", "4": "2"}
    valid = validate_ballot(
        ScoreConfig(min_score=0, max_score=5),
        PROJECTS,
        posted.raw(ScoreConfig(min_score=0, max_score=5), PROJECTS),
    )
    assert valid.projects == ("1", "4") and valid.points == (3, 2)


def test_points_for_projects_not_on_the_ballot_are_ignored() -> None:
    posted = form(("points-99", "5"), ("points-1", "1"))
    assert posted.raw(CumulativeConfig(total_points=5), PROJECTS) == {"1": "1"}


@pytest.mark.parametrize(
    ("ranks", "message"),
    [
        ({"rank-1": "1", "rank-2": "1"}, "Give rank 1 to one project only."),
        ({"rank-1": "0"}, "Ranks must be whole numbers from 1."),
        ({"rank-1": "first"}, "Ranks must be whole numbers from 1."),
    ],
)
def test_bad_ranks_are_invalid_ballots(ranks: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidBallot, match=message) as info:
        form(*ranks.items()).raw(RankedConfig(), PROJECTS)
    assert info.value.status_code == 422


@given(st.permutations(list(PROJECTS)), st.integers(min_value=1, max_value=4), st.integers(0, 5))
def test_ranks_order_projects_best_first(order: list[str], k: int, gap: int) -> None:
    # Rank numbers need not be consecutive: only their order counts.
    items = [(f"rank-{pid}", str(1 + i * (gap + 1))) for i, pid in enumerate(order[:k])]
    raw = form(*reversed(items)).raw(RankedConfig(), PROJECTS)
    assert raw == order[:k]
    assert validate_ballot(RankedConfig(), PROJECTS, raw).projects == tuple(order[:k])


def test_long_values_are_cut() -> None:
    posted = form(("project", "9" * 1000), ("points-" + "1" * 500, "1"))
    assert len(posted.ticked[0]) == 40 and all(len(k) <= 40 for k in posted.fields)
