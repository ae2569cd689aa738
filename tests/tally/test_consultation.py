"""Consultation rules: textbook examples with their rounds, tie cases, and properties."""

from __future__ import annotations

import ast
import json
import sys
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally.consultation import (
    CONSULTATION_RULES,
    Approval,
    Choice,
    Ranking,
    Scores,
    pairwise_preferences,
    run_question,
    strongest_paths,
)


def ranked(*groups: tuple[int, str]) -> list[Ranking]:
    """``(5, "ACBED")`` → five voters ranking A > C > B > E > D (one letter per option)."""
    return [Ranking(tuple(order), weight) for weight, order in groups]


# ------------------------------------------------------------------------------ Schulze
# Wikipedia, "Schulze method", example: 45 voters, 5 candidates.
WIKI_SCHULZE = ranked(
    (5, "ACBED"), (5, "ADECB"), (8, "BEDAC"), (3, "CABED"),
    (7, "CAEBD"), (2, "CBADE"), (7, "DCEBA"), (8, "EBADC"),
)  # fmt: skip
WIKI_D = {
    "A": {"B": 20, "C": 26, "D": 30, "E": 22},
    "B": {"A": 25, "C": 16, "D": 33, "E": 18},
    "C": {"A": 19, "B": 29, "D": 17, "E": 24},
    "D": {"A": 15, "B": 12, "C": 28, "E": 14},
    "E": {"A": 23, "B": 27, "C": 21, "D": 31},
}
WIKI_P = {
    "A": {"B": 28, "C": 28, "D": 30, "E": 24},
    "B": {"A": 25, "C": 28, "D": 33, "E": 24},
    "C": {"A": 25, "B": 29, "D": 29, "E": 24},
    "D": {"A": 25, "B": 28, "C": 28, "E": 24},
    "E": {"A": 25, "B": 28, "C": 28, "D": 31},
}


def test_schulze_wikipedia_example() -> None:
    result = run_question("schulze", list("ABCDE"), WIKI_SCHULZE)
    assert result.respondents == 45
    assert result.details["d"] == WIKI_D
    assert result.details["p"] == WIKI_P
    assert result.rounds[0].decision == "compared"
    assert result.rounds[0].details["p"] == WIKI_P
    assert result.ranking == ("E", "A", "C", "B", "D")
    assert result.winners == ("E",)
    assert result.winner == "E"
    assert result.tie_breaks == ()
    assert [r.project for r in result.rounds[1:]] == ["E", "A", "C", "B", "D"]
    assert result.counts == {"E": 4, "A": 3, "C": 2, "B": 1, "D": 0}


def test_schulze_matrix_functions_directly() -> None:
    rankings = [(r.order, r.weight) for r in WIKI_SCHULZE]
    d = pairwise_preferences(list("ABCDE"), rankings)
    assert d == WIKI_D
    assert strongest_paths(list("ABCDE"), d) == WIKI_P


def test_schulze_condorcet_cycle_drops_weakest_defeat() -> None:
    # A beats B 6-3, B beats C 7-2, C beats A 5-4: a cycle; the weakest defeat (C over A) goes.
    responses = ranked((4, "ABC"), (3, "BCA"), (2, "CAB"))
    result = run_question("schulze", list("ABC"), responses)
    assert result.details["d"] == {
        "A": {"B": 6, "C": 4},
        "B": {"A": 3, "C": 7},
        "C": {"A": 5, "B": 2},
    }
    assert result.details["p"] == {
        "A": {"B": 6, "C": 6},
        "B": {"A": 5, "C": 7},
        "C": {"A": 5, "B": 5},
    }
    assert result.ranking == ("A", "B", "C")
    assert result.tie_breaks == ()


def test_schulze_perfect_cycle_is_a_tie_settled_by_the_order() -> None:
    responses = ranked((1, "ABC"), (1, "BCA"), (1, "CAB"))
    result = run_question("schulze", list("ABC"), responses)
    assert result.winners == ("A", "B", "C")
    assert result.ranking == ("A", "B", "C")
    assert result.tie_breaks[0] == ("A", "B", "C")
    reversed_order = run_question(
        "schulze", list("ABC"), responses, tie_break_order=["C", "B", "A"]
    )
    assert reversed_order.ranking == ("C", "B", "A")
    assert reversed_order.winner == "C"
    assert "tie-break order favours C" in reversed_order.rounds[1].reason


def test_schulze_two_way_tie_uses_passed_order() -> None:
    responses = ranked((2, "AB"), (2, "BA"))
    default = run_question("schulze", ["A", "B"], responses)
    assert default.winners == ("A", "B")
    assert default.ranking == ("A", "B")
    assert default.tie_breaks == (("A", "B"),)
    flipped = run_question("schulze", ["A", "B"], responses, tie_break_order=["B", "A"])
    assert flipped.ranking == ("B", "A")
    assert flipped.tie_breaks == (("B", "A"),)


def test_schulze_truncated_ballots_rank_unranked_options_last() -> None:
    # Two voters rank only A; one ranks B then C. Unranked options tie below ranked ones.
    responses = [Ranking(("A",), 2), Ranking(("B", "C"))]
    result = run_question("schulze", list("ABC"), responses)
    assert result.details["d"] == {
        "A": {"B": 2, "C": 2},
        "B": {"A": 1, "C": 1},
        "C": {"A": 1, "B": 0},
    }
    assert result.ranking == ("A", "B", "C")


def test_schulze_default_order_is_natural_order_of_ids() -> None:
    # The only voter ranks x alone, so o2 and o10 stay tied: o2 comes before o10.
    result = run_question("schulze", ["o10", "o2", "x"], [Ranking(("x",))])
    assert result.tie_break_order == ("o2", "o10", "x")
    assert result.ranking == ("x", "o2", "o10")
    assert result.tie_breaks == (("o2", "o10"),)


# ------------------------------------------------------------------------ instant runoff
# Wikipedia, "Instant-runoff voting", Tennessee capital example (percentages as voters).
TENNESSEE = [
    Ranking(("Memphis", "Nashville", "Chattanooga", "Knoxville"), 42),
    Ranking(("Nashville", "Chattanooga", "Knoxville", "Memphis"), 26),
    Ranking(("Chattanooga", "Knoxville", "Nashville", "Memphis"), 15),
    Ranking(("Knoxville", "Chattanooga", "Nashville", "Memphis"), 17),
]
CITIES = ["Memphis", "Nashville", "Chattanooga", "Knoxville"]


def test_irv_tennessee_example() -> None:
    result = run_question("instant-runoff", CITIES, TENNESSEE)
    rounds = [(r.number, r.decision, r.project, r.details["counts"]) for r in result.rounds]
    assert rounds == [
        (1, "eliminated", "Chattanooga",
         {"Memphis": 42, "Nashville": 26, "Chattanooga": 15, "Knoxville": 17}),
        (2, "eliminated", "Nashville", {"Memphis": 42, "Nashville": 26, "Knoxville": 32}),
        (3, "elected", "Knoxville", {"Memphis": 42, "Knoxville": 58}),
    ]  # fmt: skip
    assert all(r.details["exhausted"] == 0 for r in result.rounds)
    assert result.rounds[-1].details["majority"] == 51
    assert result.winner == "Knoxville"
    assert result.ranking == ("Knoxville", "Memphis", "Nashville", "Chattanooga")
    assert result.counts["Memphis"] == 42
    assert result.percentages["Knoxville"] == 17
    assert result.rounds[0].reason == "Chattanooga has the fewest votes (15)."


def test_irv_truncated_ballots_exhaust() -> None:
    responses = [
        Ranking(("A",), 5),
        Ranking(("B", "C"), 4),
        Ranking(("C",), 3),
        Ranking(("D",), 2),
    ]
    result = run_question("instant-runoff", list("ABCD"), responses)
    summary = [
        (r.decision, r.project, r.details["continuing_ballots"], r.details["exhausted"])
        for r in result.rounds
    ]
    assert summary == [
        ("eliminated", "D", 14, 0),
        ("eliminated", "C", 12, 2),
        ("elected", "A", 9, 5),
    ]
    # A wins with 5 of 9 continuing ballots, though only 5 of 14 respondents ranked A at all.
    assert result.winner == "A"
    assert result.rounds[-1].details["majority"] == 5


def test_irv_first_round_tie_uses_tie_break_order() -> None:
    responses = [Ranking(("A",), 3), Ranking(("B", "A"), 2), Ranking(("C", "B"), 2)]
    default = run_question("instant-runoff", list("ABC"), responses)
    first = default.rounds[0]
    assert (first.decision, first.project) == ("eliminated", "C")
    assert first.details["decided_by"] == "tie-break order"
    assert "there is no earlier round" in first.reason
    assert default.winner == "B"  # C's ballots move to B: B 4 of 7
    assert default.tie_breaks == (("B", "C"),)
    flipped = run_question(
        "instant-runoff", list("ABC"), responses, tie_break_order=["C", "B", "A"]
    )
    assert flipped.rounds[0].project == "B"
    assert flipped.winner == "A"  # B's ballots move to A: A 5 of 7


def test_irv_tie_looks_back_to_earlier_rounds() -> None:
    # Round 1: A 7, C 5, B 3, D 2. D's ballots go to B, so round 2 has B and C tied on 5.
    # B had fewer votes in round 1, so B goes, although the tie-break order would drop C.
    responses = [
        Ranking(("A",), 7),
        Ranking(("C",), 5),
        Ranking(("B", "C"), 3),
        Ranking(("D", "B"), 2),
    ]
    result = run_question("instant-runoff", list("ABCD"), responses)
    second = result.rounds[1]
    assert second.details["counts"] == {"A": 7, "B": 5, "C": 5}
    assert (second.decision, second.project) == ("eliminated", "B")
    assert second.details["tied"] == ["B", "C"]
    assert second.details["decided_by"] == "round 1"
    assert second.details["look_back"] == [{"round": 1, "counts": {"B": 3, "C": 5}}]
    third = result.rounds[2]
    assert third.details["counts"] == {"A": 7, "C": 8}
    assert third.details["exhausted"] == 2
    assert result.winner == "C"
    assert result.ranking == ("C", "A", "B", "D")
    assert result.tie_breaks == ()


def test_irv_two_way_final_tie() -> None:
    responses = ranked((2, "AB"), (2, "BA"))
    result = run_question("instant-runoff", ["A", "B"], responses)
    assert [r.project for r in result.rounds] == ["B", "A"]
    assert result.winner == "A"
    assert result.rounds[1].details["counts"] == {"A": 4}


def test_irv_condorcet_cycle() -> None:
    result = run_question("instant-runoff", list("ABC"), ranked((4, "ABC"), (3, "BCA"), (2, "CAB")))
    assert [r.project for r in result.rounds] == ["C", "A"]
    assert result.rounds[-1].details["counts"] == {"A": 6, "B": 3}


def test_irv_all_blank_has_no_winner() -> None:
    result = run_question("instant-runoff", ["A", "B"], [Ranking((), 3)])
    assert result.winner is None
    assert result.winners == ()
    assert result.rounds[0].decision == "stopped"
    assert result.rounds[0].details["exhausted"] == 3


# ------------------------------------------------------------ plurality, approval, score
def test_plurality_counts_percentages_and_tie() -> None:
    responses = [Choice("yes", 3), Choice("no", 3), Choice("maybe")]
    result = run_question("plurality", ["yes", "no", "maybe"], responses)
    assert result.counts == {"yes": 3, "no": 3, "maybe": 1}
    assert result.percentages["maybe"] == Fraction(100, 7)
    assert result.winners == ("no", "yes")  # in the natural order of ids
    assert result.winner == "no"
    assert result.tie_breaks == (("no", "yes"),)
    assert "tie-break order favours no" in result.rounds[0].reason
    assert json.loads(json.dumps(result.to_dict()))["percentages"]["maybe"] == "100/7"


def test_approval_counts_choices_as_single_approvals() -> None:
    responses = [Approval({"a", "b"}, 2), Approval(frozenset()), Choice("c")]
    result = run_question("approval", ["a", "b", "c"], responses)
    assert result.counts == {"a": 2, "b": 2, "c": 1}
    assert result.respondents == 4
    assert result.percentages["a"] == 50
    assert result.ranking == ("a", "b", "c")


def test_approval_with_only_blank_responses_has_no_winner() -> None:
    result = run_question("approval", ["a", "b"], [Approval(frozenset(), 2)])
    assert result.winner is None
    assert result.rounds[0].decision == "stopped"


def test_score_average_total_and_respondents() -> None:
    responses = [
        Scores({"park": 5, "road": 2}, 2),
        Scores({"park": 3}),
        Scores({"road": 5, "pool": Fraction(1, 2)}),
    ]
    result = run_question("score", ["park", "road", "pool", "zoo"], responses)
    assert result.counts == {"park": 13, "road": 9, "pool": Fraction(1, 2), "zoo": 0}
    assert result.scored_by == {"park": 3, "road": 3, "pool": 1, "zoo": 0}
    assert result.averages == {
        "park": Fraction(13, 3), "road": 3, "pool": Fraction(1, 2), "zoo": None,
    }  # fmt: skip
    assert result.ranking == ("park", "road", "pool", "zoo")
    assert result.to_dict()["averages"]["zoo"] is None


def test_score_equal_averages_broken_by_total_then_order() -> None:
    responses = [Scores({"a": 4}), Scores({"b": 4}, 2), Scores({"c": 4}, 2)]
    result = run_question("score", ["a", "b", "c"], responses)
    assert result.ranking == ("b", "c", "a")
    assert result.winners == ("b", "c")
    assert result.tie_breaks == (("b", "c"),)


# ------------------------------------------------------------------------------ errors
def test_unknown_rule() -> None:
    with pytest.raises(ValueError, match="unknown consultation rule 'borda'.*instant-runoff"):
        run_question("borda", ["a"], [])


def test_unknown_option_in_response() -> None:
    with pytest.raises(ValueError, match="response 2 names unknown option 'z'"):
        run_question("plurality", ["a", "b"], [Choice("a"), Choice("z")])


def test_wrong_response_kind() -> None:
    with pytest.raises(ValueError, match="rule 'score' counts Scores"):
        run_question("score", ["a"], [Choice("a")])


@pytest.mark.parametrize(
    ("options", "order", "message"),
    [
        ([], None, "at least one option"),
        ("ab", None, "not one string"),
        (["a", "b"], "ab", "not one string"),
        (["a", "a"], None, "not unique"),
        (["a", "b"], ["a"], "every option exactly once"),
        (["a", "b"], ["a", "c"], "every option exactly once"),
    ],
)
def test_bad_question(options: list[str], order: list[str] | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_question("plurality", options, [], tie_break_order=order)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Ranking(("a", "a")),
        lambda: Ranking("ab"),  # type: ignore[arg-type]
        lambda: Choice("a", 0),
        lambda: Choice("a", True),  # type: ignore[arg-type]
        lambda: Scores({"a": 1.5}),  # type: ignore[dict-item]
        lambda: Approval("ab"),  # type: ignore[arg-type]
    ],
)
def test_bad_responses(build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        build()


def test_registry_ids() -> None:
    assert set(CONSULTATION_RULES) == {
        "plurality",
        "approval",
        "score",
        "instant-runoff",
        "schulze",
    }


def test_module_imports_only_standard_library_and_tally() -> None:
    source = Path(__file__).parents[2] / "tally" / "consultation.py"
    tree = ast.parse(source.read_text())
    modules = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert modules <= set(sys.stdlib_module_names) | {"tally", "__future__"}


# -------------------------------------------------------------------------- properties
OPTIONS = ["o1", "o2", "o3", "o10"]
option = st.sampled_from(OPTIONS)
weight = st.integers(1, 4)
rankings = st.builds(
    Ranking, st.lists(option, unique=True, max_size=len(OPTIONS)).map(tuple), weight
)
responses_by_rule = {
    "plurality": st.builds(Choice, option, weight),
    "approval": st.builds(Approval, st.frozensets(option), weight),
    "score": st.builds(
        Scores, st.dictionaries(option, st.integers(-2, 5)).map(lambda d: tuple(d.items())), weight
    ),
    "instant-runoff": st.one_of(rankings, st.builds(Choice, option, weight)),
    "schulze": st.one_of(rankings, st.builds(Choice, option, weight)),
}


@st.composite
def questions(draw: st.DrawFn, rule: str | None = None) -> tuple[str, list]:
    rule_id = rule or draw(st.sampled_from(sorted(responses_by_rule)))
    return rule_id, draw(st.lists(responses_by_rule[rule_id], max_size=12))


def _unit(response):  # type: ignore[no-untyped-def]
    """The same response with weight 1."""
    return replace(response, weight=1)


@settings(max_examples=150)
@given(questions(), st.randoms(use_true_random=False))
def test_deterministic_and_invariant_under_response_order(question, rnd) -> None:  # type: ignore[no-untyped-def]
    rule_id, responses = question
    first = run_question(rule_id, OPTIONS, responses).to_dict()
    assert run_question(rule_id, OPTIONS, responses).to_dict() == first
    shuffled = list(responses)
    rnd.shuffle(shuffled)
    assert run_question(rule_id, OPTIONS, shuffled).to_dict() == first
    json.dumps(first)  # always JSON-ready


@settings(max_examples=150)
@given(questions())
def test_weights_equal_repeated_responses(question) -> None:  # type: ignore[no-untyped-def]
    rule_id, responses = question
    repeated = [_unit(r) for r in responses for _ in range(r.weight)]
    assert (
        run_question(rule_id, OPTIONS, repeated).to_dict()
        == run_question(rule_id, OPTIONS, responses).to_dict()
    )


@settings(max_examples=200)
@given(questions("schulze"))
def test_schulze_elects_the_condorcet_winner(question) -> None:  # type: ignore[no-untyped-def]
    _, responses = question
    result = run_question("schulze", OPTIONS, responses)
    d = result.details["d"]
    condorcet = [x for x in OPTIONS if all(d[x][y] > d[y][x] for y in d[x])]
    if condorcet:
        assert result.winners == (condorcet[0],)
        assert result.winner == condorcet[0]
    assert sorted(result.ranking) == sorted(OPTIONS)


@settings(max_examples=200)
@given(questions("instant-runoff"))
def test_irv_winner_has_a_majority_of_continuing_ballots(question) -> None:  # type: ignore[no-untyped-def]
    _, responses = question
    result = run_question("instant-runoff", OPTIONS, responses)
    last = result.rounds[-1]
    if result.winner is None:
        assert last.decision == "stopped"
        return
    assert last.decision == "elected" and last.project == result.winner
    assert 2 * last.details["counts"][result.winner] > last.details["continuing_ballots"]
    for r in result.rounds:
        assert sum(r.details["counts"].values()) + r.details["exhausted"] == result.respondents
    assert sorted(result.ranking) == sorted(OPTIONS)


@given(questions("plurality"))
def test_plurality_counts_sum_to_responses(question) -> None:  # type: ignore[no-untyped-def]
    _, responses = question
    result = run_question("plurality", OPTIONS, responses)
    assert sum(result.counts.values()) == result.respondents == sum(r.weight for r in responses)
    if responses:
        assert sum(result.percentages.values()) == 100
