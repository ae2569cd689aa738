"""Hypothesis strategies that generate small elections of every ballot type."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import strategies as st

from tally.model import Ballot, BallotConstraints, Election, Project, VoteType


@st.composite
def projects(draw, min_size: int = 1, max_size: int = 7, max_cost: int = 100):
    n = draw(st.integers(min_size, max_size))
    costs = draw(st.lists(st.integers(1, max_cost), min_size=n, max_size=n))
    return tuple(Project(id=f"p{i + 1}", cost=c) for i, c in enumerate(costs))


def _collapse(ballots: list[Ballot]) -> tuple[Ballot, ...]:
    """Identical ballots become one weighted ballot, in first-seen order."""
    weights: dict[tuple, int] = {}
    for b in ballots:
        key = (b.projects, b.points)
        weights[key] = weights.get(key, 0) + b.weight
    return tuple(Ballot(projects=k[0], points=k[1], weight=w) for k, w in weights.items())


@st.composite
def elections(
    draw,
    vote_type: VoteType = VoteType.APPROVAL,
    max_projects: int = 7,
    max_voters: int = 12,
    max_cost: int = 100,
    collapse: bool = False,
    fractional_budget: bool = False,
):
    """An election of the given ballot type: non-empty ballots, budget around the total cost."""
    ps = draw(projects(max_size=max_projects, max_cost=max_cost))
    ids = [p.id for p in ps]
    total = sum(p.cost for p in ps)
    budget = draw(st.integers(1, max(1, total)))
    if fractional_budget and draw(st.booleans()):
        budget = Fraction(budget * 100 + draw(st.integers(0, 99)), 100)
    n = draw(st.integers(1, max_voters))
    ballots: list[Ballot] = []
    for _ in range(n):
        if vote_type == VoteType.CHOOSE_ONE:
            chosen = (draw(st.sampled_from(ids)),)
        else:
            subset = draw(
                st.lists(st.sampled_from(ids), min_size=1, max_size=len(ids), unique=True)
            )
            chosen = tuple(subset) if vote_type == VoteType.ORDINAL else tuple(sorted(subset))
        if vote_type in (VoteType.CUMULATIVE, VoteType.SCORING):
            pts = tuple(draw(st.integers(1, 5)) for _ in chosen)
        else:
            pts = ()
        ballots.append(Ballot(projects=chosen, points=pts))
    ballots_t = _collapse(ballots) if collapse else tuple(ballots)
    constraints = (
        BallotConstraints(max_length=1, min_length=1)
        if vote_type == VoteType.CHOOSE_ONE
        else BallotConstraints()
    )
    return Election(
        budget=budget, projects=ps, ballots=ballots_t, vote_type=vote_type, constraints=constraints
    )
