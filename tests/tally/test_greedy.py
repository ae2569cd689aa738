"""Greedy rules and Borda greedy: worked examples, properties, and pabutools as a second opinion."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tally
from tally import pabulib, scoring
from tally.model import Ballot, Election, Outcome, Project, VoteType
from tally.rules import borda, greedy
from tally.tiebreak import TieBreak
from tests.tally.strategies import elections
from tests.tally.test_pabulib import BIG, FILES, file_params, needs_data, text_of

GREEDY_RULES = ("greedy", "greedy-no-skip", "greedy-threshold", "greedy-exclusive", "greedy-custom")
VOTE_TYPES = [
    VoteType.APPROVAL,
    VoteType.CHOOSE_ONE,
    VoteType.CUMULATIVE,
    VoteType.SCORING,
    VoteType.ORDINAL,
]
TB = TieBreak()


def approval(
    budget: int | Fraction, costs: dict[str, int], ballots: list[tuple[str, ...]], **kw
) -> Election:
    projects = tuple(Project(pid, c) for pid, c in costs.items())
    return Election(
        budget=budget, projects=projects, ballots=tuple(Ballot(b) for b in ballots), **kw
    )


# votes: a 4, b 3, c 2, d 1; costs a 60, b 50, c 30, d 10; budget 100
BASIC = approval(
    100,
    {"a": 60, "b": 50, "c": 30, "d": 10},
    [("a", "b", "c", "d"), ("a", "b", "c"), ("a", "b"), ("a",)],
)


def summary(o: Outcome) -> list[tuple[str, str | None, str]]:
    return [(r.decision, r.project, r.reason) for r in o.rounds]


# ------------------------------------------------------------------------ worked examples


def test_greedy_skips_what_does_not_fit_and_goes_on() -> None:
    o = tally.run("greedy", BASIC)
    assert o.selected == ("a", "c", "d") and o.total_cost == 100 and o.leftover == 0
    assert summary(o) == [
        ("selected", "a", "cost 60 fits in the 100 left"),
        ("skipped", "b", "cost 50 exceeds the 40 left"),
        ("selected", "c", "cost 30 fits in the 40 left"),
        ("selected", "d", "cost 10 fits in the 10 left"),
    ]
    assert o.rounds[1].details == {
        "rank": 2,
        "score": 3,
        "cost": 50,
        "remaining_before": 40,
        "shortfall": 10,
    }
    assert [r.number for r in o.rounds] == [1, 2, 3, 4]


def test_greedy_no_skip_stops_at_the_first_misfit() -> None:
    o = tally.run("greedy-no-skip", BASIC)
    assert o.selected == ("a",) and o.leftover == 40
    assert summary(o) == [
        ("selected", "a", "cost 60 fits in the 100 left"),
        ("skipped", "b", "cost 50 exceeds the 40 left; the count stops here"),
        ("skipped", "c", "not considered: the count stopped at b, which did not fit"),
        ("skipped", "d", "not considered: the count stopped at b, which did not fit"),
    ]


def test_greedy_threshold_from_the_election_a_number_or_a_percentage() -> None:
    e = replace(BASIC, min_project_score_threshold=3)
    o = tally.run("greedy-threshold", e)
    assert o.selected == ("a",)
    assert o.rounds[2].reason == "score 2 is below the threshold 3"
    assert o.params["threshold"] == 3
    # 50% of 4 voters = 2: c is eligible again, d (1 vote) is not
    assert tally.run("greedy-threshold", e, threshold="50%").selected == ("a", "c")
    assert tally.run("greedy-threshold", BASIC, threshold=2).selected == ("a", "c")
    assert tally.run("greedy-threshold", BASIC, threshold="62.5%").selected == ("a",)  # 2.5 votes
    with pytest.raises(ValueError, match="needs a minimum score"):
        tally.run("greedy-threshold", BASIC)
    with pytest.raises(ValueError, match="percentage"):
        tally.run("greedy-threshold", BASIC, threshold="lots")
    # plain greedy ignores the declared minimum; the other variants apply it
    assert tally.run("greedy", e).selected == ("a", "c", "d")
    assert tally.run("greedy-no-skip", e).selected == ("a",)
    assert tally.run("greedy-no-skip", e, threshold=0).selected == ("a",)


def test_greedy_exclusive_groups_and_category_caps() -> None:
    e = replace(BASIC, exclusive_groups=(frozenset({"a", "c"}),))
    o = tally.run("greedy-exclusive", e)
    assert o.selected == ("a", "d")
    assert o.rounds[2].reason == "excluded: conflicts with a already selected"
    projects = (
        Project("a", 60, categories=("roads",)),
        Project("b", 50),
        Project("c", 30, categories=("roads", "green")),
        Project("d", 10),
    )
    capped = replace(BASIC, projects=projects, category_caps=(("roads", 80),))
    o = tally.run("greedy-exclusive", capped)
    assert o.selected == ("a", "d")
    assert (
        o.rounds[2].reason
        == "category 'roads' would exceed its cap: 60 already spent of 80, and the project costs 30"
    )


def test_greedy_custom_funds_the_misfit_from_the_reserve_when_80_percent_is_covered() -> None:
    # after a (60), 40 is left; b costs 50 and 40 >= 80% of 50: funded, 10 from the reserve
    o = tally.run("greedy-custom", BASIC)
    assert o.selected == ("a", "b") and o.total_cost == 110 and o.leftover == -10
    assert o.rounds[1].details["from_reserve"] == 10
    assert "10 comes from the reserve; the count stops here" in o.rounds[1].reason
    assert o.rounds[2].decision == "skipped" and "stopped at b" in o.rounds[2].reason
    assert greedy.explain(o, BASIC, "b").endswith(
        "It was selected: cost 50 exceeds the 40 left, but that covers at least 80% of it: "
        "10 comes from the reserve; the count stops here."
    )
    # at 90% the reserve does not apply and the count stops as greedy-no-skip does
    strict = tally.run("greedy-custom", BASIC, reserve_share="90%")
    assert strict.selected == ("a",)
    assert (
        strict.rounds[1].reason
        == "cost 50 exceeds the 40 left, which covers less than 90% of it; the count stops here"
    )
    assert tally.run("greedy-custom", BASIC, reserve_share=Fraction(9, 10)).selected == ("a",)
    with pytest.raises(ValueError):
        tally.run("greedy-custom", BASIC, reserve_share="150%")


def test_ties_in_score_follow_the_tie_break() -> None:
    e = approval(50, {"p1": 30, "p2": 20, "p10": 30}, [("p1", "p2", "p10")])
    assert tally.run("greedy", e).selected == ("p2", "p1")  # lower cost first, then id p1 < p10
    assert tally.run("greedy", e, "higher-cost").selected == ("p1", "p2")
    assert tally.run("greedy", e, "project-id").selected == ("p1", "p2")
    lottery = tally.run("greedy", e, "lottery:2026")
    assert lottery.selected == tally.run("greedy", e, "lottery:2026").selected
    assert lottery.tie_break == "lottery:2026"


def test_fractional_budget_is_exact() -> None:
    e = approval(Fraction(1001, 10), {"a": 60, "b": 40, "c": Fraction(1, 10)}, [("a", "b", "c")])
    o = tally.run("greedy", e)
    assert o.selected == ("c", "b", "a") and o.leftover == 0  # all tie on votes: cheapest first
    assert tally.run("greedy", replace(e, budget=Fraction(10009, 100))).selected == ("c", "b")


def test_cumulative_and_scoring_sum_points() -> None:
    projects = (Project("x", 50), Project("y", 50), Project("z", 50))
    ballots = (Ballot(("x", "y"), (1, 4)), Ballot(("x", "z"), (2, 2), weight=2))
    for vt in (VoteType.CUMULATIVE, VoteType.SCORING):
        e = Election(budget=100, projects=projects, ballots=ballots, vote_type=vt)
        assert dict(scoring.scores(e)) == {"x": 5, "y": 4, "z": 4}
        assert tally.run("greedy", e).selected == (
            "x",
            "z",
        )  # y and z tie on points; z has more supporters


def test_ordinal_scoring_schemes() -> None:
    projects = tuple(Project(p, 10) for p in "abcd")
    ballots = (Ballot(("a", "b", "c")), Ballot(("b",), weight=2))
    e = Election(budget=20, projects=projects, ballots=ballots, vote_type=VoteType.ORDINAL)
    assert dict(scoring.scores(e)) == {
        "a": 3,
        "b": 2 + 2,
        "c": 1,
        "d": 0,
    }  # ballot-length: 3-2-1, 1
    assert dict(scoring.scores(e, ordinal="max-length")) == {"a": 3, "b": 2 + 6, "c": 1, "d": 0}
    assert dict(scoring.scores(e, ordinal="borda")) == {"a": 3, "b": 2 + 6, "c": 1, "d": 0}
    assert dict(scoring.scores(e, ordinal="borda-ballot")) == {"a": 2, "b": 1, "c": 0, "d": 0}
    assert dict(scoring.scores(e, ordinal="dowdall")) == {
        "a": 1,
        "b": Fraction(1, 2) + 2,
        "c": Fraction(1, 3),
        "d": 0,
    }
    assert tally.run("greedy", e).selected == ("b", "a")
    assert tally.run("greedy", e, ordinal_scoring="borda-ballot").selected == ("a", "b")
    with pytest.raises(ValueError, match="unknown ordinal scoring"):
        tally.run("greedy", e, ordinal_scoring="plurality")
    explicit = replace(
        e, ballots=(Ballot(("a", "b", "c"), (10, 1, 1)), Ballot(("b",), (1,), weight=2))
    )
    assert dict(scoring.scores(explicit)) == {"a": 10, "b": 3, "c": 1, "d": 0}
    assert dict(scoring.scores(explicit, explicit_points=False)) == {"a": 3, "b": 4, "c": 1, "d": 0}


def test_krakow_scores_are_3_2_1_by_rank() -> None:
    """The Kraków files' score column is what the default ordinal scoring computes."""
    if not FILES:
        pytest.skip("shared pabulib data folder not found")
    pb = pabulib.parse(text_of(FILES[0].parent / "Poland_Krakow_2025_Swoszowice.pb"))
    e = pb.to_election()
    col = pb.projects.index("score")
    assert {row[0]: int(row[col]) for row in pb.projects.rows} == dict(scoring.scores(e))


@needs_data
def test_krakow_outcome_needs_the_3_2_1_scoring() -> None:
    """Kraków 2024 Dębniki's official outcome comes out of ``ballot-length`` points (3-2-1 for a
    3-long ballot), not out of classic Borda (35-34-33 with 36 projects)."""
    pb = pabulib.parse(text_of(FILES[0].parent / "Poland_Krakow_2024_Debniki.pb"))
    e = pb.to_election()
    official = {pid for pid, mark in pb.selected_column().items() if mark == "1"}
    assert set(tally.run("greedy", e).selected) == official
    assert set(tally.run("borda-greedy", e).selected) != official


def test_borda_greedy() -> None:
    projects = tuple(Project(p, 10) for p in "abcd")
    ballots = (Ballot(("a", "b", "c")), Ballot(("b",), weight=2))
    e = Election(budget=20, projects=projects, ballots=ballots, vote_type=VoteType.ORDINAL)
    o = tally.run("borda-greedy", e)  # Borda with 4 projects: a 3, b 2+3+3, c 1
    assert o.selected == ("b", "a") and o.rule == "borda-greedy"
    assert [r.details["score"] for r in o.rounds] == [8, 3, 1, 0]
    assert tally.run("borda-greedy", e, points="borda-ballot").rounds[0].details["score"] == 2
    with pytest.raises(ValueError, match="ordinal"):
        tally.run("borda-greedy", BASIC)
    text = borda.explain(o, e, "c")
    assert text.startswith(
        "c ranked 3rd of 4 with 1 Borda points and costs 10. It was not selected"
    )


def test_explanations() -> None:
    o = tally.run("greedy", BASIC)
    assert greedy.explain(o, BASIC, "a") == (
        "a ranked 1st of 4 with 4 votes and costs 60. It was selected: cost 60 fits in the 100 left. 40 remained after it."
    )
    assert greedy.explain(o, BASIC, "b") == (
        "b ranked 2nd of 4 with 3 votes and costs 50. It was not selected: when its turn came, 40 was left "
        "after funding 1 higher-ranked project (a), 10 short of its cost. Cheaper projects ranked below it "
        "still fit and were funded: c, d."
    )
    stop = tally.run("greedy-no-skip", BASIC)
    assert greedy.explain(stop, BASIC, "b").endswith(
        "Under greedy-no-skip the count stopped there."
    )
    assert "did not fit" in greedy.explain(stop, BASIC, "c")
    thr = tally.run("greedy-threshold", BASIC, threshold=3)
    assert greedy.explain(thr, BASIC, "d").endswith(
        "It was not eligible: 1 is below the threshold of 3 votes."
    )
    excl = tally.run("greedy-exclusive", replace(BASIC, exclusive_groups=(frozenset({"a", "c"}),)))
    assert greedy.explain(excl, BASIC, "c").endswith(
        "It was not selected: it is mutually exclusive with a, which was selected first."
    )
    with pytest.raises(KeyError):
        greedy.explain(o, BASIC, "zz")


# ------------------------------------------------------------------------------ properties


def _threshold_of(o: Outcome) -> Fraction | int | None:
    return o.params.get("threshold")


@pytest.mark.parametrize("rule", GREEDY_RULES)
@pytest.mark.parametrize("vote_type", VOTE_TYPES, ids=str)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_greedy_properties(rule: str, vote_type: VoteType, data: st.DataObject) -> None:
    e = data.draw(elections(vote_type=vote_type, fractional_budget=True))
    if rule == "greedy-threshold":
        e = replace(e, min_project_score_threshold=data.draw(st.integers(0, 6)))
    if rule == "greedy-exclusive" and len(e.projects) >= 2:
        ids = [p.id for p in e.projects]
        groups = data.draw(st.lists(st.frozensets(st.sampled_from(ids), min_size=2), max_size=2))
        e = replace(e, exclusive_groups=tuple(groups))
    o = tally.run(rule, e)
    score = scoring.scores(e)
    costs = {p.id: p.cost for p in e.projects}
    chosen = set(o.selected)

    # well-formed: one round per project, ranked by score, selections in round order
    assert sorted(r.project for r in o.rounds) == sorted(costs)
    assert [r.details["score"] for r in o.rounds] == sorted((score[p] for p in costs), reverse=True)
    assert o.selected == tuple(r.project for r in o.rounds if r.decision == "selected")
    assert len(chosen) == len(o.selected) and o.total_cost == sum(costs[p] for p in o.selected)
    # feasible (Poznań's rule may overspend by the reserve part of the last project only)
    if rule == "greedy-custom":
        overspend = o.total_cost - e.budget
        assert overspend <= 0 or overspend <= Fraction(1, 5) * costs[o.selected[-1]]
    else:
        assert o.total_cost <= e.budget
    # deterministic, and blind to the order of ballots and to collapsing identical ones
    assert tally.run(rule, e) == o
    assert tally.run(rule, replace(e, ballots=e.ballots[::-1])).selected == o.selected
    expanded = tuple(Ballot(b.projects, b.points) for b in e.ballots for _ in range(b.weight))
    assert tally.run(rule, replace(e, ballots=expanded)).selected == o.selected
    # the minimum score is respected
    t = _threshold_of(o)
    eligible = [p for p in costs if t is None or score[p] >= t]
    assert all(score[p] >= t for p in chosen) if t is not None else True
    # plain greedy, greedy-threshold: exhaustive among eligible projects
    if rule in ("greedy", "greedy-threshold"):
        assert all(costs[p] > o.leftover for p in eligible if p not in chosen)
    # no-skip: the selection is a prefix of the eligible ranking
    if rule == "greedy-no-skip":
        ranked = [r.project for r in o.rounds if r.project in eligible]
        assert list(o.selected) == ranked[: len(o.selected)]
    if rule == "greedy-exclusive":
        assert all(len(g & chosen) <= 1 for g in e.exclusive_groups)


@settings(max_examples=60, deadline=None)
@given(elections(vote_type=VoteType.APPROVAL))
def test_category_caps_are_respected(e: Election) -> None:
    cats = ("roads", "green")
    projects = tuple(replace(p, categories=(cats[i % 2],)) for i, p in enumerate(e.projects))
    e = replace(e, projects=projects, category_caps=(("roads", e.budget // 3),))
    o = tally.run("greedy-exclusive", e)
    assert (
        sum(e.project_by_id[p].cost for p in o.selected if "roads" in e.project_by_id[p].categories)
        <= e.budget // 3
    )


# ------------------------------------------------------------------------ pabutools opinion


class _TotalSat:
    """A pabutools satisfaction profile whose total for a project is score × cost, so that
    pabutools' greedy (which ranks by total satisfaction per unit of cost) ranks by score."""

    def __init__(self, totals: dict[str, Fraction]) -> None:
        self.totals = totals

    def total_satisfaction_project(self, project) -> object:
        from pabutools.fractions import frac

        value = Fraction(self.totals.get(project.name, 0)) * Fraction(project.cost)
        return frac(value.numerator, value.denominator)


def _pabutools_greedy(
    instance, profile, totals: dict[str, Fraction], rank: dict[str, int]
) -> list[str]:
    from pabutools.rules import greedy_utilitarian_welfare
    from pabutools.tiebreaking import TieBreakingRule

    tie = TieBreakingRule(lambda inst, prof, proj: rank[proj.name])
    chosen = greedy_utilitarian_welfare(
        instance, profile, sat_profile=_TotalSat(totals), is_sat_additive=True, tie_breaking=tie
    )
    return [p.name for p in chosen]


def _pabutools_scores(instance, profile) -> dict[str, Fraction]:
    """Scores counted from pabutools' own reading of the ballots (votes, points, 3-2-1 ranks)."""
    vote_type = instance.meta["vote_type"]
    totals: dict[str, Fraction] = {p.name: Fraction(0) for p in instance}
    for b in profile:
        if vote_type in ("approval", "choose-1"):
            for p in b:
                totals[p.name] += 1
        elif vote_type == "ordinal":
            for p in b:
                totals[p.name] += len(b) - b.position(p)
        else:
            for p, v in b.items():
                totals[p.name] += Fraction(v)
    return totals


def _pabutools_on_text(text: str, e: Election, tb: TieBreak) -> list[str]:
    from pabutools.election.pabulib import parse_pabulib_from_string

    instance, profile = parse_pabulib_from_string(text)
    return _pabutools_greedy(instance, profile, _pabutools_scores(instance, profile), tb.rank(e))


@pytest.mark.parametrize("vote_type", VOTE_TYPES, ids=str)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_greedy_agrees_with_pabutools_on_random_elections(
    vote_type: VoteType, data: st.DataObject
) -> None:
    e = data.draw(elections(vote_type=vote_type, fractional_budget=True))
    tb = data.draw(
        st.sampled_from([TieBreak(), TieBreak.parse("higher-cost"), TieBreak.parse("lottery:7")])
    )
    ours = tally.run("greedy", e, tb)
    assert sorted(_pabutools_on_text(pabulib.write(e), e, tb)) == sorted(ours.selected)


def test_greedy_agrees_with_pabutools_cost_sat_on_approval() -> None:
    """The stock pabutools setting (cost satisfaction: score per cost = votes) on one example."""
    from pabutools.election import Cost_Sat
    from pabutools.election.pabulib import parse_pabulib_from_string
    from pabutools.rules import greedy_utilitarian_welfare
    from pabutools.tiebreaking import TieBreakingRule

    instance, profile = parse_pabulib_from_string(pabulib.write(BASIC))
    rank = TB.rank(BASIC)
    chosen = greedy_utilitarian_welfare(
        instance,
        profile,
        sat_class=Cost_Sat,
        tie_breaking=TieBreakingRule(lambda i, p, proj: rank[proj.name]),
    )
    assert sorted(p.name for p in chosen) == sorted(tally.run("greedy", BASIC).selected)


@needs_data
@pytest.mark.parametrize("path", file_params([f for f in FILES if f.stat().st_size <= BIG]))
def test_greedy_agrees_with_pabutools_on_shared_files(path: Path) -> None:
    """pabutools parses the original file and counts its own scores."""
    text = text_of(path)
    e = pabulib.read(text)
    assert sorted(_pabutools_on_text(text, e, TB)) == sorted(tally.run("greedy", e).selected)


@needs_data
@pytest.mark.parametrize("path", file_params([f for f in FILES if f.stat().st_size > BIG]))
def test_greedy_agrees_with_pabutools_on_big_shared_files(path: Path) -> None:
    """pabutools' greedy, fed with pabulib's own per-project counts (the file's ``votes`` or
    ``score`` column, which our ballots reproduce: see test_pabulib) instead of re-reading
    100,000 ballots, which takes pabutools minutes."""
    from pabutools.election import Instance
    from pabutools.election import Project as PabuProject
    from pabutools.fractions import frac

    pb = pabulib.parse(text_of(path))
    e = pb.to_election()
    column = pb.projects.index("score") if e.vote_type not in ("approval", "choose-1") else None
    column = column if column is not None else pb.projects.index("votes")
    totals = {row[0]: Fraction(pabulib.parse_number(row[column])) for row in pb.projects.rows}
    assert totals == dict(scoring.scores(e))

    def exact(x: int | Fraction) -> object:
        return frac(Fraction(x).numerator, Fraction(x).denominator)

    instance = Instance(
        init=[PabuProject(p.id, exact(p.cost)) for p in e.projects], budget_limit=exact(e.budget)
    )
    assert sorted(_pabutools_greedy(instance, [], totals, TB.rank(e))) == sorted(
        tally.run("greedy", e).selected
    )
