""" "Why did this project win or lose?" for each rule family, on hand-checked elections."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

import tally
from tally.explain import explain
from tally.model import VoteType

from .strategies import elections
from .test_equalshares import make

# 4 voters, 25 each: b (40) bought with 40/3 from v1-v3, then a (60) is short: 35 < 60;
# c (30) has a single supporter with 25.
TIE = make(100, {"a": 60, "b": 40, "c": 30}, [(("a", "b"), 3), (("c",), 1)])


def test_mes_winner_names_its_round_and_payments():
    out = tally.run("equalshares", TIE)
    text = explain(out, TIE, "b")
    assert "bought in round 1" in text
    assert "3 effective votes" in text
    assert "3 paid 13.33 each" in text


def test_mes_loser_that_was_once_affordable():
    out = tally.run("equalshares", TIE)
    text = explain(out, TIE, "a")
    # in round 1 a had 3 effective votes too (tie lost to the cheaper b); then 35 < 60
    assert "In round 1" in text and "3 effective votes against 3 effective votes for b" in text
    assert "From round 2 its supporters held only 35" in text


def test_mes_loser_that_was_never_affordable_says_what_it_needed():
    out = tally.run("equalshares", TIE)
    text = explain(out, TIE, "c")
    assert "held only 25" in text and "5 short of its cost of 30" in text
    assert "cost of at most 25" in text and "1 more supporters" in text


def test_mes_loser_with_a_cost_to_win():
    # y (12) loses round 1 to x (24, 3 effective votes) with 2 effective votes, then is bought
    # anyway in round 2; z (25) by v4 alone never wins: it would need to cost at most 10.
    e = make(40, {"x": 24, "y": 12, "z": 25}, [(("x", "y"), 1), (("x",), 2), (("y", "z"), 1)])
    out = tally.run("equalshares", e)
    assert "z" not in out.selected
    text = explain(out, e, "z")
    assert "was not selected" in text


def test_add1_explanations_mention_the_per_voter_budget():
    e = make(10, {"p": 6, "q": 6, "r": 3}, [(("p",), 2), (("q", "r"), 1)])
    out = tally.run("equalshares/add1", e)
    assert "each voter started with 8" in explain(out, e, "p")
    text = explain(out, e, "q")
    assert "each voter started with 8" in text
    assert "was not selected" in text


def test_greedy_completion_is_named():
    e = make(10, {"p": 6, "q": 6, "r": 3, "s": 1}, [(("p",), 2), (("q", "r"), 1), (("s",), 1)])
    out = tally.run("equalshares/add1", e, completion="greedy")
    completed = [r.project for r in out.rounds if r.decision == "completed"]
    for pid in completed:
        assert "greedy completion" in explain(out, e, pid)


def test_comparison_won_by_greedy_delegates_to_greedy():
    e = make(100, {"a": 50, "b": 50, "c": 50}, [(("a", "b"), 3), (("c",), 2)])
    out = tally.run("equalshares-comparison", e)
    text = explain(out, e, "b")
    assert text.startswith("The comparison step kept the greedy outcome: 3 voters prefer it")


def test_greedy_family_uses_the_greedy_explanations():
    out = tally.run("greedy", TIE)
    assert explain(out, TIE, "a") == tally.rules.greedy.explain(out, TIE, "a")


def test_phragmen_and_max_welfare():
    e = make(10, {"p": 6, "q": 6, "r": 3}, [(("p",), 2), (("q", "r"), 1)])
    ph = tally.run("seq-phragmen", e)
    assert ph.selected == ("r", "p")  # both reach load 3; the tie goes to the cheaper r
    assert "was selected in round 2" in explain(ph, e, "p")
    assert "did not fit" in explain(ph, e, "q")
    mw = tally.run("max-welfare", e)
    assert set(mw.selected) == {"p", "r"}
    assert "highest total score (3)" in explain(mw, e, "p")
    assert "reaches a total score of 2, below the optimum of 3" in explain(mw, e, "q")


def test_unknown_project_is_an_error():
    out = tally.run("equalshares", TIE)
    with pytest.raises(KeyError):
        explain(out, TIE, "nope")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(e=elections(max_projects=5, max_voters=8))
def test_every_project_gets_an_answer(e):
    for rule in ("equalshares", "equalshares/add1", "seq-phragmen", "max-welfare", "greedy"):
        out = tally.run(rule, e)
        for p in e.projects:
            text = explain(out, e, p.id)
            assert p.id in text
            assert ("not selected" in text) == (p.id not in out.selected) or rule == "greedy"


def test_cumulative_ballots_are_explained_in_points():
    e = make(
        20, {"p": 12, "q": 15}, [(("p",), (3,), 1), (("p", "q"), (1, 2), 1)], VoteType.CUMULATIVE
    )
    out = tally.run("equalshares", e)
    assert "per point" in explain(out, e, "p")
