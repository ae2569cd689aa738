"""``pb tally`` and ``pb check`` through click's test runner: output shapes, rules, errors."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from pb.cli_tally import check_command, tally_command
from tally.model import Election, Outcome
from tally.registry import RULES
from tally.tiebreak import TieBreak
from tests.tally.test_pabulib import DATA, needs_data

pytestmark = needs_data

GROCHOW = (
    "Poland_Warszawa_2018_Grochow_Kinowa.pb"  # greedy-threshold, two ballots over max_sum_cost
)
GDYNIA = "Poland_Gdynia_2021_Leszczynki__small.pb"  # greedy-no-skip, clean
DEBNIKI = "Poland_Krakow_2024_Debniki.pb"  # ordinal, fractional budget
ZURICH = "Switzerland_Zurich_SN.pb"  # rule unknown, no selected column


def run(command: click.Command, *args: str) -> Result:
    return CliRunner().invoke(command, list(args))


def path(name: str) -> str:
    assert DATA is not None
    return str(DATA / name)


def one_error_line(result: Result, fragment: str) -> None:
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pb: error: "), result.stderr
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr


def test_json_shape() -> None:
    result = run(tally_command, path(DEBNIKI), "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert {
        "rule",
        "budget",
        "selected",
        "total_cost",
        "leftover",
        "rounds",
        "params",
        "tie_break",
    } <= set(data)
    assert data["rule"] == "greedy" and data["official_rule"] == "greedy"
    assert data["budget"] == "2838616.34"  # exact, as text
    assert data["vote_type"] == "ordinal" and data["num_voters"] == 6147
    assert data["params"] == {"ordinal_scoring": "ballot-length"}
    assert len(data["rounds"]) == 36
    first = data["rounds"][0]
    assert set(first) == {"number", "decision", "project", "reason", "details"}
    assert set(first["details"]) >= {"score", "cost", "remaining_before", "rank"}
    assert data["total_cost"] == sum(
        r["details"]["cost"] for r in data["rounds"] if r["decision"] == "selected"
    )


def test_default_rule_is_official_when_known_else_greedy() -> None:
    assert (
        json.loads(run(tally_command, path(GROCHOW), "--json").stdout)["rule"] == "greedy-threshold"
    )
    assert json.loads(run(tally_command, path(GDYNIA), "--json").stdout)["rule"] == "greedy-no-skip"
    assert json.loads(run(tally_command, path(ZURICH), "--json").stdout)["rule"] == "greedy"


def test_official_rule_reproduces_the_file() -> None:
    data = json.loads(run(tally_command, path(GROCHOW), "--rule", "official", "--json").stdout)
    assert data["selected"] == [
        "2042",
        "2680",
        "1110",
        "2654",
        "2264",
        "696",
        "899",
        "2734",
        "2492",
        "2708",
    ]
    assert data["params"] == {"threshold": 83}
    assert data["leftover"] == "7221.4"


def test_other_rule_and_tie_break() -> None:
    data = json.loads(
        run(
            tally_command, path(GROCHOW), "--rule", "greedy", "--tie-break", "lottery:1", "--json"
        ).stdout
    )
    assert data["rule"] == "greedy" and data["tie_break"] == "lottery:1"
    assert data["params"] == {}  # plain greedy ignores META min_project_score_threshold
    # 2734 and 2492 tie on 190 votes; the lottery may reorder them, not change the set
    assert sorted(data["selected"]) == sorted(
        ["2042", "2680", "1110", "2654", "2264", "696", "899", "2734", "2492", "2708"]
    )


def test_plain_output_is_a_table() -> None:
    result = run(tally_command, path(GROCHOW))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("rule: greedy-threshold")
    assert lines[1] == "budget: 214386.4   total cost: 207165   leftover: 7221.4"
    assert lines[2].startswith("selected (10): 2042 (Czyste trawniki")
    assert lines[4].split() == [
        "#",
        "decision",
        "project",
        "score",
        "cost",
        "left",
        "before",
        "reason",
    ]
    assert (
        "skipped   589" in result.stdout and "cost 116680 exceeds the 64791.4 left" in result.stdout
    )
    assert lines[-1].endswith("score 79 is below the threshold 83")


def test_explain() -> None:
    result = run(tally_command, path(GROCHOW), "--explain", "589")
    assert result.exit_code == 0
    assert result.stdout.startswith(
        "589 ranked 8th of 18 with 198 votes and costs 116680. It was not selected"
    )
    assert (
        "Cheaper projects ranked below it still fit and were funded: 2734, 2492, 2708."
        in result.stdout
    )
    data = json.loads(run(tally_command, path(GROCHOW), "--explain", "692", "--json").stdout)
    assert data["explanation"].endswith(
        "It was not eligible: 79 is below the threshold of 83 votes."
    )
    one_error_line(run(tally_command, path(GROCHOW), "--explain", "nope"), "no project 'nope'")


def test_errors_are_one_line_with_status_2(tmp_path: Path) -> None:
    one_error_line(run(tally_command, str(tmp_path / "missing.pb")), "cannot read")
    broken = tmp_path / "broken.pb"
    broken.write_text(
        (DATA / GDYNIA).read_text(encoding="utf-8").replace("LES/0004;", "LES/0004;x;", 1)
    )
    text = broken.read_text()
    assert "LES/0004;x;" in text
    one_error_line(run(tally_command, str(broken)), "broken.pb: line ")
    one_error_line(run(check_command, str(broken)), "broken.pb: line ")
    one_error_line(run(tally_command, path(GROCHOW), "--rule", "nope"), "unknown rule 'nope'")
    one_error_line(
        run(tally_command, path(ZURICH), "--rule", "official"), "the file's rule 'unknown'"
    )
    one_error_line(
        run(tally_command, path(GROCHOW), "--tie-break", "cheapest"), "unknown tie-break criterion"
    )
    one_error_line(run(tally_command, path(GROCHOW), "--utility", "joy"), "--utility")
    one_error_line(run(tally_command, path(GROCHOW), "--bogus"), "--bogus")
    one_error_line(run(tally_command), "FILE.pb")
    one_error_line(
        run(tally_command, path(ZURICH), "--rule", "greedy-threshold"), "needs a minimum score"
    )
    binary = tmp_path / "binary.pb"
    binary.write_bytes(b"\xff\xfe\x00META")
    one_error_line(run(tally_command, str(binary)), "not UTF-8")


def test_utility_goes_only_to_rules_that_take_it(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def takes_utility(election: Election, tie_break: TieBreak, *, utility: str = "cost") -> Outcome:
        seen["utility"] = utility
        return Outcome(rule="takes-utility", budget=election.budget, selected=(), total_cost=0)

    monkeypatch.setitem(RULES, "takes-utility", takes_utility)
    assert (
        run(
            tally_command, path(GDYNIA), "--rule", "takes-utility", "--utility", "cardinality"
        ).exit_code
        == 0
    )
    assert seen == {"utility": "cardinality"}
    result = run(
        tally_command, path(GDYNIA), "--rule", "greedy", "--utility", "cardinality", "--json"
    )
    assert result.exit_code == 0 and "utility" not in json.loads(result.stdout)["params"]


def test_check_clean_file() -> None:
    result = run(check_command, path(GDYNIA))
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "format: ok",
        "outcome: matches greedy-no-skip (3 selected)",
    ]


def test_check_reports_format_problems() -> None:
    result = run(check_command, path(GROCHOW))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "format: 2 problems",
        "  line 837: voter '116170': ballot costs 236698, more than max_sum_cost 214386.4",
        "  line 838: voter '116342': ballot costs 254998, more than max_sum_cost 214386.4",
        "outcome: matches greedy-threshold (10 selected)",
    ]


def test_check_reports_a_wrong_selected_column(tmp_path: Path) -> None:
    text = (DATA / GDYNIA).read_text(encoding="utf-8")
    pid = "LES/0009;10000;323;"
    assert pid in text
    lines = text.splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines) if line.startswith(pid))
    lines[row] = lines[row].replace(";1\r\n", ";0\r\n").replace(";1\n", ";0\n")
    changed = tmp_path / "changed.pb"
    changed.write_text("".join(lines), encoding="utf-8", newline="")
    result = run(check_command, str(changed))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[1:] == [
        "outcome: differs from greedy-no-skip",
        "  selected by the rule but not in the file: LES/0009",
    ]


def test_check_without_rule_or_outcome_is_not_a_failure() -> None:
    result = run(check_command, path(ZURICH))
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["format: ok", "outcome: not checked (no selected column)"]


def test_commands_attach_to_a_group() -> None:
    group = click.Group("pb", commands={"tally": tally_command, "check": check_command})
    result = CliRunner().invoke(group, ["tally", path(GDYNIA), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["rule"] == "greedy-no-skip"
    assert CliRunner().invoke(group, ["check", path(GDYNIA)]).exit_code == 0


def test_an_unexpected_failure_is_one_line_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure nobody foresaw (here: the rule itself breaks) is still one line, status 2, the
    same through ``pb`` and with the command run on its own."""
    from pb.cli import main

    def broken(*args: object, **kwargs: object) -> Outcome:
        raise RuntimeError("the rule broke\nsecond line")

    monkeypatch.setitem(RULES, "greedy", broken)
    one_error_line(run(tally_command, path(GDYNIA), "--rule", "greedy"), "RuntimeError: the rule")
    one_error_line(run(main, "tally", path(GDYNIA), "--rule", "greedy"), "RuntimeError: the rule")
