"""Method of Equal Shares: hand-computed examples, add1, comparison, fractional budgets, and the
fast engine against a textbook reference (per voter, exact) on generated elections."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tally
from tally.model import Ballot, Election, Project, VoteType
from tally.pabulib import read
from tally.properties import check_price_system
from tally.rules import equalshares as es
from tally.tiebreak import TieBreak

from .strategies import elections
from .test_pabulib import DATA

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make(
    budget, costs: dict[str, int], ballots: list[tuple], vote_type=VoteType.APPROVAL
) -> Election:
    """``ballots``: (projects, weight) or (projects, points, weight)."""
    bs = []
    for b in ballots:
        if len(b) == 2:
            bs.append(Ballot(projects=tuple(b[0]), weight=b[1]))
        else:
            bs.append(Ballot(projects=tuple(b[0]), points=tuple(b[1]), weight=b[2]))
    projects = tuple(Project(id=k, cost=v) for k, v in costs.items())
    return Election(budget=budget, projects=projects, ballots=tuple(bs), vote_type=vote_type)


def bought(outcome: tally.Outcome) -> list[tally.Round]:
    return [r for r in outcome.rounds if r.decision == "selected"]


# --------------------------------------------------------------------------- reference


def reference_mes(
    election: Election, b: Fraction, utility: str, tb: TieBreak | None = None
) -> list[str]:
    """MES straight from the definition: every voter separately, exact fractions, all projects
    re-priced every round (Peters, Pierczyński & Skowron 2021, Section 4)."""
    tb = tb or TieBreak()
    rank = tb.rank(election)
    voters: list[dict[str, Fraction]] = []
    for ballot in election.ballots:
        pts = ballot.points or (1,) * len(ballot.projects)
        for _ in range(ballot.weight):
            voters.append({p: s for p, s in zip(ballot.projects, pts, strict=True) if s > 0})
    money = [Fraction(b)] * len(voters)

    def u(i: int, p: tally.Project) -> Fraction:
        s = voters[i].get(p.id, 0)
        if not s:
            return Fraction(0)
        return Fraction({"cost": p.cost, "cardinality": 1}.get(utility, s))

    left = [p for p in election.projects if any(p.id in v for v in voters)]
    chosen = [p.id for p in sorted((p for p in left if p.cost == 0), key=lambda p: rank[p.id])]
    left = [p for p in left if p.cost > 0]
    while True:
        best = None
        for p in left:
            sup = [i for i in range(len(voters)) if u(i, p)]
            if sum(money[i] for i in sup) < p.cost:
                continue
            sup.sort(key=lambda i: money[i] / u(i, p))
            paid, ru = Fraction(0), sum(u(i, p) for i in sup)
            for i in sup:
                rho = (p.cost - paid) / ru
                if rho * u(i, p) <= money[i]:
                    break
                paid += money[i]
                ru -= u(i, p)
            if best is None or (rho, rank[p.id]) < best[0]:
                best = ((rho, rank[p.id]), p)
        if best is None:
            return chosen
        (rho, _), p = best
        for i in range(len(voters)):
            if u(i, p):
                money[i] -= min(money[i], rho * u(i, p))
        chosen.append(p.id)
        left.remove(p)


def reference_add1(election: Election, utility: str, exhaustive: bool = False) -> list[str]:
    """add1 stepping one unit at a time with the reference MES."""
    n = election.num_voters
    b = Fraction(election.budget) // n
    best: list[str] = []
    top = max(sum(election.project_by_id[p].cost for p in x.projects) for x in election.ballots)
    while True:
        out = reference_mes(election, Fraction(b), utility)
        cost = sum(election.project_by_id[p].cost for p in out)
        if cost > election.budget:
            return best
        best = out
        left = election.budget - cost
        supported = {p for x in election.ballots for p in x.projects}
        if exhaustive and not any(
            p.id in supported and p.id not in out and p.cost <= left for p in election.projects
        ):
            return best
        if b > top:
            return best
        b += 1


# --------------------------------------------------------------------------- hand examples


def test_cost_utility_tie_goes_to_the_cheaper_project():
    # 4 voters with 25 each. a (60) and b (40) are both backed by v1-v3: ρ = 20/60 = (40/3)/40 = 1/3
    # (3 effective votes each); the official tie-break (lower cost) picks b. v1-v3 keep 35/3 each,
    # 35 < 60 for a; c (30) has one supporter with 25: nothing else is affordable.
    e = make(100, {"a": 60, "b": 40, "c": 30}, [(("a", "b"), 3), (("c",), 1)])
    out = tally.run("equalshares", e)
    assert out.selected == ("b",)
    r = bought(out)[0]
    assert r.details["rho"] == Fraction(1, 3)
    assert r.details["effective_votes"] == 3
    assert r.details["max_payment"] == Fraction(40, 3)
    assert r.details["payments"] == [{"amount": Fraction(40, 3), "voters": 3}]
    assert r.details["budget_left"] == 60
    assert out.rounds[-1].decision == "stopped"
    assert set(out.rounds[-1].details["unaffordable"]) == {"a", "c"}
    assert check_price_system(e, out) == []


def test_poor_supporter_pays_what_is_left():
    # b = 10 each. Round 1: x (24) by v1-v3, α = 8, ρ = 1/3 (y: α = 6, ρ = 1/2). Round 2: y (12)
    # by v1 (2 left) and v4 (10): v1 pays its 2, v4 pays α = 10; ρ = 10/12, 1.2 effective votes.
    e = make(40, {"x": 24, "y": 12}, [(("x", "y"), 1), (("x",), 2), (("y",), 1)])
    out = tally.run("equalshares", e)
    assert out.selected == ("x", "y")
    r1, r2 = bought(out)
    assert (r1.details["rho"], r1.details["max_payment"]) == (Fraction(1, 3), 8)
    assert r1.details["payments"] == [{"amount": 8, "voters": 3}]
    assert r2.details["rho"] == Fraction(5, 6)
    assert r2.details["max_payment"] == 10
    assert r2.details["effective_votes"] == Fraction(6, 5)
    assert r2.details["payments"] == [{"amount": 10, "voters": 1}, {"amount": 2, "voters": 1}]
    assert r2.details["supporters_paying_all"] == 2  # v4 paid exactly its 10, v1 its last 2
    assert r2.details["voters_money_left"] == 4
    assert check_price_system(e, out) == []


def test_cardinality_utility_prefers_the_lowest_payment():
    # Same ballots as the tie example, u = 1: a costs each supporter 20, b 40/3: b first.
    e = make(100, {"a": 60, "b": 40, "c": 30}, [(("a", "b"), 3), (("c",), 1)])
    out = tally.run("equalshares", e, utility="cardinality")
    assert out.selected == ("b",)
    assert bought(out)[0].details["rho"] == Fraction(40, 3)
    assert "effective_votes" not in bought(out)[0].details


def test_score_utility_pays_in_proportion_to_points():
    # 2 voters with 10 each; p (12) gets 3 points from v1 and 1 from v2: ρ = 12/4 = 3 per point,
    # v1 pays 9, v2 pays 3.
    e = make(20, {"p": 12}, [(("p",), (3,), 1), (("p",), (1,), 1)], VoteType.CUMULATIVE)
    out = tally.run("equalshares", e)
    assert out.params["utility"] == "score"
    r = bought(out)[0]
    assert r.details["rho"] == 3
    assert r.details["payments"] == [{"amount": 9, "voters": 1}, {"amount": 3, "voters": 1}]
    assert check_price_system(e, out) == []


def test_zero_cost_project_with_supporters_comes_first():
    e = make(10, {"free": 0, "x": 10}, [(("free", "x"), 2)])
    out = tally.run("equalshares", e)
    assert out.selected == ("free", "x")


def test_fractional_budget_share():
    # B = 100.5 over 4 voters: each holds 201/8; v1-v3 back a (75): 3·201/8 = 75.375 ≥ 75.
    e = make(Fraction(201, 2), {"a": 75, "b": 30}, [(("a",), 3), (("b",), 1)])
    out = tally.run("equalshares", e)
    assert out.params["budget_per_voter"] == Fraction(201, 8)
    assert out.selected == ("a",)
    assert bought(out)[0].details["max_payment"] == 25
    # add1 starts at floor(100.5/4) = 25, where a is still affordable (75) and b (30) is not;
    # at 26 the outcome is unchanged, ... at 30 b becomes affordable: 105 > 100.5, stop.
    add1 = tally.run("equalshares/add1", e)
    tried = [r for r in add1.rounds if r.decision == "tried"]
    assert tried[0].details["budget_per_voter"] == 25
    assert add1.selected == ("a",)
    assert add1.params["budget_per_voter"] == 29
    assert tried[-1].details == {"budget_per_voter": 30, "total_cost": 105, "fits": False}


def test_add1_keeps_the_last_outcome_that_fits():
    # B = 10, 3 voters, floor(10/3) = 3. p (6) by v1, v2; q (6) and r (3) by v3.
    # b = 3..8: p (ρ 1/2), then r (ρ 1; ties with q from b = 6 on, r is cheaper); v3 keeps b - 3 < 6.
    # b = 9: v3 keeps 6 and buys q: 15 > 10. The answer is the outcome at 8: {p, r}.
    e = make(10, {"p": 6, "q": 6, "r": 3}, [(("p",), 2), (("q", "r"), 1)])
    out = tally.run("equalshares/add1", e)
    assert out.selected == ("p", "r")
    assert out.params["budget_per_voter"] == 8
    assert out.params["stop"] == "over budget"
    tried = [r for r in out.rounds if r.decision == "tried"]
    assert tried[0].details["budget_per_voter"] == 3
    assert tried[-1].details["budget_per_voter"] == 9 and not tried[-1].details["fits"]
    assert all(r.details["fits"] for r in tried[:-1])
    # stopping as soon as the outcome is exhaustive: at b = 3 nothing else fits the 1 left
    ex = tally.run("equalshares/add1", e, stop_when_exhaustive=True)
    assert ex.selected == ("p", "r") and ex.params["budget_per_voter"] == 3
    assert ex.params["stop"] == "exhaustive"
    assert check_price_system(e, out) == []


def test_add1_greedy_completion_spends_the_rest():
    # add1 as above leaves 1: nothing fits. With a cheap extra project, completion takes it.
    e = make(10, {"p": 6, "q": 6, "r": 3, "s": 1}, [(("p",), 2), (("q", "r"), 1), (("s",), 1)])
    plain = tally.run("equalshares/add1", e)
    done = tally.run("equalshares/add1", e, completion="greedy")
    assert sum(e.project_by_id[p].cost for p in done.selected) <= 10
    assert set(plain.selected) <= set(done.selected)
    extra = [r for r in done.rounds if r.decision == "completed"]
    assert [r.project for r in extra] == [p for p in done.selected if p not in plain.selected]


def test_add1_stops_when_the_outcome_can_no_longer_change():
    # Everything supported fits: the outcome is all projects whatever the per-voter budget.
    e = make(100, {"a": 10, "b": 20}, [(("a",), 1), (("b",), 1)])
    out = tally.run("equalshares/add1", e)
    assert set(out.selected) == {"a", "b"}
    assert out.params["stop"] == "outcome can no longer change"


def test_comparison_greedy_wins_when_strictly_more_prefer_it():
    # MES buys a only (tie with b broken by id; then v1-v3 are short). Greedy buys a and b.
    # v1-v3 prefer greedy (2 projects against 1), v4-v5 are indifferent: 3 > 0, greedy wins.
    e = make(100, {"a": 50, "b": 50, "c": 50}, [(("a", "b"), 3), (("c",), 2)])
    out = tally.run("equalshares-comparison", e)
    assert out.selected == tally.run("greedy", e).selected
    cmp_round = out.rounds[-1]
    assert cmp_round.decision == "compared"
    assert (cmp_round.details["prefer_greedy"], cmp_round.details["prefer_equal_shares"]) == (3, 0)
    assert out.params["winner"] == "greedy"
    assert check_price_system(e, out)  # not an equal-shares outcome: reported, not checked


def test_comparison_keeps_equal_shares_on_a_tie():
    # MES {c, b}, greedy {c, a}: every voter gets one project either way: 0 against 0.
    e = make(100, {"a": 60, "b": 40, "c": 40}, [(("a", "b"), 3), (("c",), 4)])
    mes = tally.run("equalshares/add1", e)
    out = tally.run("equalshares/add1-comparison", e)
    assert out.selected == mes.selected
    d = out.rounds[-1].details
    assert (d["prefer_equal_shares"], d["prefer_greedy"], d["indifferent"]) == (0, 0, 7)
    assert out.params["winner"] == "equalshares"


def test_unknown_parameters_are_rejected():
    e = make(10, {"a": 5}, [(("a",), 1)])
    with pytest.raises(ValueError, match="unknown utility"):
        tally.run("equalshares", e, utility="happiness")
    with pytest.raises(ValueError, match="unknown completion"):
        tally.run("equalshares/add1", e, completion="random")


def test_real_elections_reproduce_the_official_outcome():
    """Assen 2024 and Świecie 2023 were counted with equalshares/add1 (SOURCES.md)."""
    from tally import pabulib

    from .test_differential import DATA, official

    for name in ("Netherlands_Assen_2024", "Poland_Swiecie_2023"):
        e = pabulib.read((DATA / f"{name}.pb").read_text(encoding="utf-8"))
        out = tally.run("equalshares/add1", e)
        assert set(out.selected) == official(name)
        assert check_price_system(e, out) == []


# --------------------------------------------------------------------------- against the reference


@SETTINGS
@given(
    e=st.sampled_from([VoteType.APPROVAL, VoteType.CUMULATIVE]).flatmap(
        lambda vt: elections(vote_type=vt, max_projects=5, max_voters=8, fractional_budget=True)
    ),
    utility=st.sampled_from(["cost", "cardinality", "score"]),
    extra=st.integers(0, 40),
)
def test_engine_matches_the_reference(e: Election, utility: str, extra: int):
    prof = es.compile_profile(e, TieBreak(), utility)
    b = Fraction(e.budget) / e.num_voters + extra
    got = [prof.ids[p] for p in es.mes_run(prof, b * prof.scale).order]
    assert got == reference_mes(e, b, utility)


@SETTINGS
@given(
    e=elections(max_projects=5, max_voters=8, fractional_budget=True),
    utility=st.sampled_from(["cost", "cardinality"]),
    exhaustive=st.booleans(),
)
def test_add1_matches_unit_steps(e: Election, utility: str, exhaustive: bool):
    out = tally.run("equalshares/add1", e, utility=utility, stop_when_exhaustive=exhaustive)
    assert list(out.selected) == reference_add1(e, utility, exhaustive)


@SETTINGS
@given(
    e=elections(
        vote_type=VoteType.CUMULATIVE, max_projects=5, max_voters=10, collapse=True, max_cost=60
    ),
    exhaustive=st.booleans(),
)
def test_add1_with_points_matches_unit_steps(e: Election, exhaustive: bool):
    """Score utility (per-ballot points, weighted ballots): the path that keys supporters by
    class and utility."""
    out = tally.run("equalshares/add1", e, utility="score", stop_when_exhaustive=exhaustive)
    assert list(out.selected) == reference_add1(e, "score", exhaustive)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(e=elections(max_projects=6, max_voters=12, max_cost=60), b=st.integers(0, 30))
def test_skip_bound_is_safe(e: Election, b: int):
    """Every budget below the proven skip bound gives the same outcome."""
    prof = es.compile_profile(e, TieBreak(), "cost")
    run = es.mes_run(prof, b, track=True)
    assert run.skip is not None
    for more in range(1, min(run.skip, 15)):
        assert es.mes_run(prof, b + more).order == run.order


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    e=elections(max_projects=7, max_voters=12, max_cost=60, fractional_budget=True),
    utility=st.sampled_from(["cost", "cardinality"]),
    exhaustive=st.booleans(),
)
def test_add1_counts_stopped_early_are_proven_to_fit(e: Election, utility: str, exhaustive: bool):
    """A count the add1 search stops once it is proven to fit: its bound covers the full count's
    cost and fits, and so does every budget it skips to the next one tried; with the exhaustive
    stop, none of those outcomes is exhaustive."""
    check_early_stops(e, utility, exhaustive)


@pytest.mark.parametrize(
    "name",
    [
        "Poland_Warszawa_2017_Stare_Bielany.pb",
        "Switzerland_Zurich_SN.pb",
        "Netherlands_Amsterdam_588.pb",
        "Poland_Gdynia_2021_Leszczynki__small.pb",
    ],
)
@pytest.mark.parametrize("exhaustive", [False, True])
def test_add1_counts_stopped_early_on_real_files(name: str, exhaustive: bool):
    if DATA is None:
        pytest.skip("shared pabulib data folder not found")
    e = read((DATA / name).read_text(encoding="utf-8"))
    found = check_early_stops(e, "cost", exhaustive)
    assert any(not exact for *_, exact in found.trials)  # the early stop is exercised


@pytest.mark.parametrize(
    "name", ["Poland_Gdynia_2020_Cisowa__small.pb", "Poland_Wroclaw_2018_Rejon_nr_2_250.pb"]
)
@pytest.mark.parametrize("exhaustive", [False, True])
def test_add1_reports_a_real_budget_when_everything_is_funded(name: str, exhaustive: bool):
    """Everything is bought at floor(B/n) already; the search ends at the latest where the
    budget covers every ballot's cost, and reports that budget (a bound of "no limit" carried
    through a restart once passed for a budget step of about 10^117)."""
    if DATA is None:
        pytest.skip("shared pabulib data folder not found")
    e = read((DATA / name).read_text(encoding="utf-8"))
    out = tally.run("equalshares/add1", e, stop_when_exhaustive=exhaustive)
    top = max(sum(e.project_by_id[p].cost for p in x.projects) for x in e.ballots)
    assert set(out.selected) == {p.id for p in e.projects}
    assert e.budget // e.num_voters <= out.params["budget_per_voter"] <= max(top, e.budget)


def check_early_stops(e: Election, utility: str, exhaustive: bool = False) -> es.Add1Result:
    prof = es.compile_profile(e, TieBreak(), utility)
    found = es.add1(prof, e.budget, stop_when_exhaustive=exhaustive)
    cap = e.budget * prof.scale
    for b, cost, fits, nxt, exact in found.trials:
        order = es.mes_run(prof, b).order
        full = sum(prof.cost[p] for p in order)
        if exact:
            assert cost == full
            continue
        assert fits and full <= cost <= cap
        assert not (exhaustive and es._is_exhaustive(prof, order, cap))
        for more in range(b + prof.scale, min(nxt or b, b + 10 * prof.scale), prof.scale):
            order = es.mes_run(prof, more).order
            assert sum(prof.cost[p] for p in order) <= cap
            assert not (exhaustive and es._is_exhaustive(prof, order, cap))
    last = found.trials[-1]
    assert last[4] or last[2]  # the count that ends the search is in full unless it fits
    assert sum(prof.cost[p] for p in es.mes_run(prof, found.b).order) <= cap
    if found.stop == "over budget":
        assert sum(prof.cost[p] for p in es.mes_run(prof, found.b + prof.scale).order) > cap
    return found


def test_add1_reports_counts_stopped_early():
    # one voter group can afford only a; the other only b (both cheap): after the first round the
    # bought project plus everything still affordable fits, so the counts stop there
    e = make(100, {"a": 20, "b": 20, "c": 90}, [(["a"], 3), (["b", "c"], 2)])
    out = tally.run("equalshares/add1", e)
    tried = [r for r in out.rounds if r.decision == "tried"]
    early = [r for r in tried if "total_cost_at_most" in r.details]
    assert early and all(r.details["fits"] for r in early)
    assert all(r.details["total_cost_at_most"] <= 100 for r in early)
    assert "proven before the count ended" in early[0].reason
    assert list(out.selected) == reference_add1(e, "cost")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(
        [
            (VoteType.APPROVAL, "cost"),
            (VoteType.APPROVAL, "cardinality"),
            (VoteType.CUMULATIVE, "score"),
        ]
    ).flatmap(
        lambda k: st.tuples(
            st.just(k[1]),
            elections(vote_type=k[0], max_projects=6, max_voters=12, max_cost=60, collapse=True),
        )
    ),
    b=st.integers(0, 20),
    steps=st.lists(st.integers(1, 6), min_size=1, max_size=8),
)
def test_replaying_from_a_kept_round_equals_a_fresh_count(
    kind: tuple[str, Election], b: int, steps: list[int]
):
    """Every utility, weighted ballots (some above the light threshold): the replay restores the
    classes of the kept round (undoing later moves or redoing earlier ones) and matches a fresh
    count exactly."""
    utility, e = kind
    prof = es.compile_profile(e, TieBreak(), utility)
    engine = es._Engine(prof, b, track=True, details=False, probe=None, reuse=True)
    engine.go()
    for d in steps:
        b += d
        again = engine.advance(d)
        fresh = es.mes_run(prof, b)
        assert (again.order, again.rho) == (fresh.order, fresh.rho)


def test_points_with_heavily_repeated_ballots_match_the_reference():
    """Ballots cast more than four times are counted with their weight, not one by one; with
    points the weight and the utility must stay paired (and the broke dropped) on that path too."""
    e = make(
        120,
        {"a": 50, "b": 40, "c": 30, "d": 45},
        [
            (("a", "b"), (3, 1), 9),
            (("b", "c"), (2, 2), 6),
            (("c", "d"), (1, 4), 1),
            (("a", "d"), (5, 1), 2),
        ],
        vote_type=VoteType.CUMULATIVE,
    )
    prof = es.compile_profile(e, TieBreak(), "score")
    assert any(prof.heavy) and any(prof.light)
    for extra in range(0, 12, 3):
        b = Fraction(e.budget) / e.num_voters + extra
        got = [prof.ids[p] for p in es.mes_run(prof, b * prof.scale).order]
        assert got == reference_mes(e, b, "score")
    out = tally.run("equalshares/add1", e, utility="score")
    assert list(out.selected) == reference_add1(e, "score")


def test_fractional_costs_are_scaled_exactly():
    # costs 100.5 and 40.25: money is counted in quarters internally, reported in currency units
    e = make(
        300,
        {"a": Fraction(201, 2), "b": Fraction(161, 4), "c": 150},
        [(("a", "b"), 3), (("c",), 2)],
    )
    out = tally.run("equalshares", e)
    assert list(out.selected) == reference_mes(e, Fraction(300, 5), "cost")
    assert out.total_cost == sum(e.project_by_id[p].cost for p in out.selected)
    assert check_price_system(e, out) == []
    add1 = tally.run("equalshares/add1", e)
    assert list(add1.selected) == reference_add1(e, "cost")
    assert check_price_system(e, add1) == []
