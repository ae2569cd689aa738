"""Properties of the exact results, on random responses (no database)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from consultations.package import package_files, recount
from consultations.results import compute_results

DEFINITION: dict[str, Any] = {
    "process": {"id": 1, "slug": "p", "name": "P"},
    "questions": [
        {"id": 1, "number": 1, "kind": "single", "prompt": "One", "required": True, "config": {},
         "district_id": None, "condition": None,
         "options": [{"id": 10, "label": "A"}, {"id": 11, "label": "B"}, {"id": 12, "label": "C"}]},
        {"id": 2, "number": 2, "kind": "multiple", "prompt": "Many", "required": False,
         "config": {"min": 0, "max": 3}, "district_id": None, "condition": None,
         "options": [{"id": 20, "label": "X"}, {"id": 21, "label": "Y"}, {"id": 22, "label": "Z"}]},
        {"id": 3, "number": 3, "kind": "ranked", "prompt": "Rank", "required": False,
         "config": {"top_k": 3, "rule": "instant-runoff"}, "district_id": None, "condition": None,
         "options": [{"id": 30, "label": "R"}, {"id": 31, "label": "S"}, {"id": 32, "label": "T"}]},
        {"id": 4, "number": 4, "kind": "scale", "prompt": "Rate", "required": False,
         "config": {"points": 5, "labels": {}}, "district_id": None, "condition": None, "options": []},
        {"id": 5, "number": 5, "kind": "text", "prompt": "Say", "required": False,
         "config": {"max_length": 20}, "district_id": None, "condition": None, "options": []},
    ],
}  # fmt: skip

response = st.fixed_dictionaries(
    {
        "1": st.sampled_from([10, 11, 12]),
        "2": st.one_of(st.none(), st.lists(st.sampled_from([20, 21, 22]), min_size=1, unique=True).map(sorted)),
        "3": st.one_of(st.none(), st.permutations([30, 31, 32]).flatmap(lambda p: st.integers(1, 3).map(lambda k: p[:k]))),
        "4": st.one_of(st.none(), st.integers(1, 5)),
        "5": st.one_of(st.none(), st.text(min_size=1, max_size=20)),
    }
).map(lambda answers: {"receipt_hash": "", "answers": {k: v for k, v in answers.items() if v is not None}, "hidden": []})  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(response, max_size=25))
def test_results_add_up_and_recount_clean(responses: list[dict[str, Any]]) -> None:
    for i, r in enumerate(responses):
        r["receipt_hash"] = f"{i:064x}"
    results = compute_results(DEFINITION, responses)
    single, many, ranked, scale, text = results.questions
    n = len(responses)
    assert single.answered == n
    assert sum(o.count for o in single.options) == n
    if n:
        assert sum(o.share for o in single.options) == 100
    # Approval: each option at most every answer; shares are of those who answered.
    assert all(0 <= o.count <= many.answered for o in many.options)
    # Ranked: first preferences sum to the answers; IRV's winner holds a majority at the end.
    assert sum(o.count for o in ranked.options) == ranked.answered
    if ranked.answered:
        last = ranked.instant_runoff.rounds[-1]
        assert last.decision == "elected"
        assert 2 * last.details["counts"][last.project] > last.details["continuing_ballots"]
        assert sorted(ranked.schulze.ranking) == ["R", "S", "T"]
    given = [r["answers"]["4"] for r in responses if "4" in r["answers"]]
    assert scale.average == (Fraction(sum(given), len(given)) if given else None)
    assert sum(p.count for p in scale.distribution) == len(given)
    assert text.answered == sum(1 for r in responses if "5" in r["answers"])
    files = package_files(DEFINITION, responses, results)
    assert recount({"responses": n}, files) == []
