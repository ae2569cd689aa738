"""The answer to "why did it lose?" names projects by title, for every rule family, without changing
the count."""

from __future__ import annotations

import pytest

import tally
from results.canonical import election_json, normalize, outcome_json, sha256_hex
from results.models import DistrictResult, ProcessResult
from results.service import explain_project, recount

PROJECTS = (
    tally.Project("10", 60, "Park benches"),
    tally.Project("11", 50, "Bike lane"),
    tally.Project("12", 30, "Café garden"),
    tally.Project("2", 40, "Library hours"),
)
BALLOTS = (
    tally.Ballot(("10", "11"), weight=3),
    tally.Ballot(("11",), weight=2),
    tally.Ballot(("12", "2"), weight=2),
    tally.Ballot(("2",)),
)


def stored(rule: str) -> tuple[ProcessResult, DistrictResult]:
    e = normalize(tally.Election(budget=100, projects=PROJECTS, ballots=BALLOTS))
    text = election_json(e)
    result = ProcessResult(process_id=1, rule_id=rule, rule_params="{}", tie_break="")
    row = DistrictResult(
        process_id=1,
        district_id=1,
        input_json=text,
        input_sha256=sha256_hex(text),
        outcome_json=outcome_json(tally.run(rule, e, "")),
    )
    return result, row


@pytest.mark.parametrize("rule", ["greedy", "equalshares/add1", "seq-phragmen", "max-welfare"])
def test_explanations_use_titles(rule: str) -> None:
    result, row = stored(rule)
    election, outcome = recount(result, row)
    for project in election.projects:
        text = explain_project(result, row, project.id)
        assert text, project.id
        # ids such as "2" or "10" would read like amounts: they are replaced by titles
        assert f"P{project.id}" not in text
    losers = [p for p in election.projects if p.id not in outcome.selected]
    assert losers, rule
    text = explain_project(result, row, losers[0].id)
    assert "“" in text or "was not selected" in text


def test_a_tampered_stored_outcome_is_refused() -> None:
    from pb.errors import Conflict

    result, row = stored("greedy")
    row.outcome_json = row.outcome_json.replace('"selected":["', '"selected":["X')
    row.input_sha256 = "0" * 64  # a different cache key
    with pytest.raises(Conflict, match="differs from a re-count"):
        recount(result, row)
