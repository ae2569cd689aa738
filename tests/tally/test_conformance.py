"""Acceptance on real data: ``pb tally --rule official`` reproduces each file's ``selected`` column.

Every shared file whose META ``rule`` is one of the greedy family or an ``equalshares`` variant
is counted from its ballots with that rule and the default tie-break, and the selection must
equal the projects marked ``selected`` 1 (funded by the rule) or 2 (Poznań's 80% rule).
Files without a ``selected`` column have no official outcome to compare with: they are listed
in ``NO_SELECTED_COLUMN`` with the reason and skipped (a test checks that the list matches the
files), and docs/tally.md lists them too.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

import tally
from pb.cli_tally import tally_command
from tally import pabulib
from tests.tally.test_pabulib import BIG, DATA, FILES, needs_data, text_of

CHECKED_RULES = (
    "greedy",
    "greedy-no-skip",
    "greedy-threshold",
    "greedy-exclusive",
    "greedy-custom",
    "equalshares",
    "equalshares-comparison",
    "equalshares/add1",
    "equalshares/add1-comparison",
)
NO_OUTCOME = (
    "the file has no selected column: pabulib publishes no official outcome to compare with"
)
NO_SELECTED_COLUMN = {
    "France_Toulouse_2019.pb": NO_OUTCOME,
    "France_Toulouse_2022.pb": NO_OUTCOME,
    "Netherlands_Amsterdam_309.pb": NO_OUTCOME,
    # META leftover_budget says leftover money funded further projects by score (plain greedy),
    # but the funded set itself is not in the file.
    "Netherlands_Amsterdam_588.pb": NO_OUTCOME,
}


def _rule_of(path: Path) -> str | None:
    """META ``rule`` without parsing the whole file (it sits in the first lines)."""
    with path.open(encoding="utf-8-sig") as f:
        for line in f:
            if line.startswith("rule;"):
                return line.strip().split(";", 1)[1]
            if line.strip() == "PROJECTS":
                return None
    return None


def _params() -> list:
    params = []
    for f in FILES:
        rule = _rule_of(f)
        if rule not in CHECKED_RULES:
            continue
        marks = [pytest.mark.slow] if f.stat().st_size > BIG else []
        if f.name in NO_SELECTED_COLUMN:
            marks.append(pytest.mark.skip(reason=NO_SELECTED_COLUMN[f.name]))
        params.append(pytest.param(f, rule, id=f.stem[:60], marks=marks))
    return params


@needs_data
def test_every_greedy_or_equalshares_file_is_covered() -> None:
    assert len(_params()) == 28


def _has_selected_column(path: Path) -> bool:
    """Whether the PROJECTS header names a ``selected`` column (read without parsing votes)."""
    with path.open(encoding="utf-8-sig") as f:
        for line in f:
            if line.strip() == "PROJECTS":
                header = next(f).strip().split(";")
                return "selected" in (h.strip().strip('"') for h in header)
    return False


@needs_data
def test_exactly_the_listed_files_lack_a_selected_column() -> None:
    """The skip list cannot go stale: a listed file that gains a ``selected`` column, or a
    checked file that loses it, fails here."""
    checked = [f for f in FILES if _rule_of(f) in CHECKED_RULES]
    missing = {f.name for f in checked if not _has_selected_column(f)}
    assert missing == set(NO_SELECTED_COLUMN)
    for f in checked:  # the reader agrees on the small files
        if f.stat().st_size <= BIG:
            has = pabulib.parse(text_of(f)).selected_column() is not None
            assert has == _has_selected_column(f), f.name


@needs_data
@pytest.mark.parametrize(("path", "rule"), _params())
def test_official_rule_reproduces_the_selected_column(path: Path, rule: str) -> None:
    if rule not in tally.RULES:
        pytest.skip(f"rule {rule!r} is not registered in tally.RULES yet (tally.rules.equalshares)")
    column = pabulib.parse(text_of(path)).selected_column()
    assert column is not None, "no selected column"
    result = CliRunner().invoke(tally_command, [str(path), "--rule", "official", "--json"])
    assert result.exit_code == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["rule"] == rule
    official = {pid for pid, mark in column.items() if mark in ("1", "2")}
    assert set(outcome["selected"]) == official


@needs_data
@pytest.mark.parametrize(
    "name", ["Poland_Warszawa_2018_Chomiczowka.pb", "Poland_Warszawa_2018_Grochow_Kinowa.pb"]
)
def test_warszawa_2018_threshold_is_ten_percent_of_voters(name: str) -> None:
    """META comment: "eligible only if it received at least 10% of all valid votes cast"."""
    pb = pabulib.parse(text_of(DATA / name))
    e = pb.to_election()
    outcome = tally.run("greedy-threshold", e, threshold="10%")
    assert outcome.params["threshold"] == Fraction(e.num_voters, 10)
    assert set(outcome.selected) == {
        pid for pid, mark in pb.selected_column().items() if mark == "1"
    }
