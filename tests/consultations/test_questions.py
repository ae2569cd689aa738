"""Pure rules for question kinds and answers: every kind, every refusal, and property checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consultations.questions import (
    QuestionKind,
    QuestionSpec,
    normalize_config,
    validate_answers,
    validate_options,
)
from consultations.results import percent
from pb.errors import InvalidInput

ALL = frozenset({1})


def spec(kind: QuestionKind, qid: int = 1, **kw: object) -> QuestionSpec:
    defaults: dict[str, object] = {
        QuestionKind.YES_NO: {"options": (11, 12)},
        QuestionKind.SINGLE: {"options": (21, 22, 23)},
        QuestionKind.MULTIPLE: {"options": (31, 32, 33, 34), "config": {"min": 1, "max": 2}},
        QuestionKind.RANKED: {"options": (41, 42, 43, 44), "config": {"top_k": 3}},
        QuestionKind.SCALE: {"config": {"points": 5, "labels": {}}},
        QuestionKind.TEXT: {"config": {"max_length": 10}},
    }[kind]  # type: ignore[assignment]
    return QuestionSpec(id=qid, kind=kind, prompt=f"Q{qid}", **{**defaults, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "raw", "value"),
    [
        (QuestionKind.YES_NO, "11", 11),
        (QuestionKind.SINGLE, "23", 23),
        (QuestionKind.MULTIPLE, ["33", "31"], [31, 33]),
        (QuestionKind.RANKED, {"43": "1", "41": "2"}, [43, 41]),
        (QuestionKind.RANKED, ["44", "42", "41"], [44, 42, 41]),
        (QuestionKind.SCALE, "5", 5),
        (QuestionKind.TEXT, "  short \r\n", "short"),
    ],
)
def test_each_kind_accepts_a_good_answer(kind: QuestionKind, raw: object, value: object) -> None:
    assert validate_answers([spec(kind)], {1: raw}, ALL) == {1: value}  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        (QuestionKind.YES_NO, "21", "options of this question"),
        (QuestionKind.SINGLE, ["21", "22"], "exactly one"),
        (QuestionKind.SINGLE, "abc", "options of this question"),
        (QuestionKind.MULTIPLE, ["31", "32", "33"], "at most 2"),
        (QuestionKind.MULTIPLE, ["31", "31"], "chosen twice"),
        (QuestionKind.MULTIPLE, ["99"], "options of this question"),
        (QuestionKind.RANKED, {"41": "1", "42": "1"}, "rank 1 is given to more than one"),
        (QuestionKind.RANKED, {"41": "1", "42": "3"}, "without gaps"),
        (QuestionKind.RANKED, {"41": "4"}, "from 1 to 3"),
        (QuestionKind.RANKED, ["41", "41"], "more than once"),
        (QuestionKind.RANKED, ["41", "42", "43", "44"], "at most 3"),
        (QuestionKind.SCALE, "0", "from 1 to 5"),
        (QuestionKind.SCALE, "6", "from 1 to 5"),
        (QuestionKind.SCALE, "2.5", "from 1 to 5"),
        (QuestionKind.TEXT, "x" * 11, "the limit is 10"),
    ],
)
def test_each_kind_refuses_bad_answers(kind: QuestionKind, raw: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        validate_answers([spec(kind)], {1: raw}, ALL)  # type: ignore[dict-item]
    assert caught.value.field == "q1"


def test_required_optional_targeting_and_conditions() -> None:
    base = spec(QuestionKind.YES_NO, 1)
    follow = spec(QuestionKind.TEXT, 2, condition_question_id=1, condition_option_id=12)
    north = spec(QuestionKind.SCALE, 3, district_id=7, required=False)
    questions = [base, follow, north]
    with pytest.raises(InvalidInput, match="Question 1 is required"):
        validate_answers(questions, {}, ALL)
    assert validate_answers(questions, {1: "11"}, ALL) == {1: 11}
    with pytest.raises(InvalidInput, match="Question 2 is required"):
        validate_answers(questions, {1: "12"}, ALL)
    with pytest.raises(InvalidInput, match="applies only after another answer"):
        validate_answers(questions, {1: "11", 2: "why"}, ALL)
    with pytest.raises(InvalidInput, match="not asked in your district"):
        validate_answers(questions, {1: "11", 3: "2"}, ALL)
    assert validate_answers(questions, {1: "11", 3: "2"}, frozenset({7})) == {1: 11, 3: 2}
    with pytest.raises(InvalidInput, match="not part of this consultation"):
        validate_answers(questions, {1: "11", 99: "x"}, ALL)


def test_config_and_options() -> None:
    assert normalize_config("multiple", {}, 4) == {"min": 0, "max": 4}
    assert normalize_config("ranked", {"top_k": "2"}, 4) == {"top_k": 2, "rule": "instant-runoff"}
    assert normalize_config("scale", {"points": 3, "labels": {"3": "Good", "1": " "}}, 0) == {
        "points": 3,
        "labels": {"3": "Good"},
    }
    with pytest.raises(InvalidInput, match="from 1 to 3"):
        normalize_config("scale", {"points": 3, "labels": {"4": "x"}}, 0)
    with pytest.raises(InvalidInput, match="instant-runoff or schulze"):
        normalize_config("ranked", {"rule": "borda"}, 3)
    assert validate_options("yes_no", []) == ["Yes", "No"]
    assert validate_options("single", [" A ", "", "B"]) == ["A", "B"]
    assert validate_options("text", ["ignored"]) == []


def test_percent_rounds_half_up_only_for_display() -> None:
    from fractions import Fraction

    assert percent(Fraction(200, 3)) == "66.7 %"
    assert percent(Fraction(1, 20)) == "0.1 %"  # 0.05 rounds up
    assert percent(Fraction(100)) == "100.0 %"
    assert percent(0, 0) == "0 %"


@given(
    st.lists(st.sampled_from([41, 42, 43, 44]), unique=True, max_size=3),
)
def test_any_ranking_round_trips_through_the_form(order: list[int]) -> None:
    """A ranking given as form ranks comes back in the same order; as a list too."""
    q = spec(QuestionKind.RANKED, required=False)
    ranks = {str(o): str(i) for i, o in enumerate(order, start=1)}
    expected = {1: order} if order else {}
    assert validate_answers([q], {1: ranks}, ALL) == expected
    assert validate_answers([q], {1: [str(o) for o in order]}, ALL) == expected


@given(st.lists(st.sampled_from([31, 32, 33, 34]), max_size=4))
def test_multiple_choice_accepts_exactly_the_allowed_sizes(chosen: list[int]) -> None:
    q = spec(QuestionKind.MULTIPLE, required=False)
    raw = [str(c) for c in chosen]
    if not chosen:
        assert validate_answers([q], {1: raw}, ALL) == {}
    elif len(set(chosen)) == len(chosen) and len(chosen) <= 2:
        assert validate_answers([q], {1: raw}, ALL) == {1: sorted(chosen)}
    else:
        with pytest.raises(InvalidInput):
            validate_answers([q], {1: raw}, ALL)
