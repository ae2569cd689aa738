"""The ``.pb`` reader and writer: every real file, round trips, broken files, external readers.

External checks: pabulib's own checker (``pabulib-checker``) must find no error in what we
write, and pabutools must read our output (and the real files) into the same projects, costs
and ballots as we do.
"""

from __future__ import annotations

import ast
import contextlib
import io
import sys
from collections import Counter
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tally import pabulib
from tally.model import Ballot, BallotConstraints, Election, Outcome, Project, Round, VoteType
from tally.pabulib import ParseError, parse, read, write
from tests.tally.strategies import elections

ROOT = Path(__file__).resolve().parents[2]
DATA = next(
    (
        p
        for p in (ROOT.parent / "shared" / "data" / "pabulib", Path("/work/shared/data/pabulib"))
        if p.is_dir()
    ),
    None,
)
BIG = 1_000_000  # bytes: files above this are marked slow
FILES = sorted(DATA.glob("*.pb")) if DATA else []
# Real files whose ballots break their own META limits (the official count kept them).
KNOWN_PROBLEMS = {
    "Poland_Warszawa_2018_Grochow_Kinowa.pb": 2,  # two ballots above max_sum_cost 214386.4
    "Worldwide_Mechanical_Turk_Utilities_3.pb": 11,  # eleven ballots below min_sum_points 100
}
CHECKER_META = {
    "description": "Test election",
    "country": "Poland",
    "unit": "Testville",
    "instance": "2024",
    "date_begin": "01.09.2024",
    "date_end": "30.09.2024",
}


def text_of(path: Path) -> str:
    """The file's exact text (line ends kept)."""
    return path.read_bytes().decode("utf-8")


def file_params(files: list[Path] | None = None) -> list:
    """One pytest param per shared file, big ones marked slow."""
    return [
        pytest.param(f, id=f.stem[:60], marks=[pytest.mark.slow] if f.stat().st_size > BIG else [])
        for f in (FILES if files is None else files)
    ]


needs_data = pytest.mark.skipif(DATA is None, reason="shared pabulib data folder not found")


def same_election(a: Election, b: Election) -> bool:
    fields = (
        "budget",
        "projects",
        "ballots",
        "vote_type",
        "constraints",
        "min_project_score_threshold",
    )
    return all(getattr(a, f) == getattr(b, f) for f in fields)


def run_checker(text: str) -> tuple[dict[str, dict], dict[str, dict]]:
    """pabulib-checker's errors and warnings for one file's text."""
    from pabulib import Checker

    with contextlib.redirect_stdout(io.StringIO()):
        results = Checker().process_files([text])
    found = results[1]["results"]
    return found.get("errors", {}), found.get("warnings", {})


def pabutools_view(text: str) -> tuple[Fraction, dict[str, Fraction], Counter]:
    """Budget, costs and ballot multiset as pabutools reads ``text``."""
    from pabutools.election.pabulib import parse_pabulib_from_string

    instance, profile = parse_pabulib_from_string(text)
    costs = {p.name: Fraction(p.cost) for p in instance}
    vote_type = instance.meta["vote_type"]
    ballots: Counter = Counter()
    for b in profile:
        if vote_type in ("approval", "choose-1"):
            ballots[frozenset(p.name for p in b)] += 1
        elif vote_type == "ordinal":
            ballots[tuple(p.name for p in b)] += 1
        else:
            ballots[frozenset((p.name, Fraction(v)) for p, v in b.items())] += 1
    return Fraction(instance.budget_limit), costs, ballots


def our_view(e: Election) -> tuple[Fraction, dict[str, Fraction], Counter]:
    ballots: Counter = Counter()
    for b in e.ballots:
        if e.vote_type in (VoteType.APPROVAL, VoteType.CHOOSE_ONE):
            key: object = frozenset(b.projects)
        elif e.vote_type == VoteType.ORDINAL:
            key = b.projects
        else:
            key = frozenset(zip(b.projects, map(Fraction, b.points), strict=True))
        ballots[key] += b.weight
    return Fraction(e.budget), {p.id: Fraction(p.cost) for p in e.projects}, ballots


# ------------------------------------------------------------------------------ real files


@needs_data
def test_the_shared_folder_has_all_files() -> None:
    assert len(FILES) == 34


@needs_data
@pytest.mark.parametrize("path", file_params())
def test_every_shared_file_parses(path: Path) -> None:
    pb = parse(text_of(path))
    e = pb.to_election()
    assert e.num_voters == int(pb.meta_value("num_votes"))
    assert len(e.projects) == int(pb.meta_value("num_projects"))
    assert len(pb.votes.texts) == e.num_voters
    assert all(isinstance(p.cost, int) or p.cost.denominator != 1 for p in e.projects)
    assert len(pb.problems) == KNOWN_PROBLEMS.get(path.name, 0), [str(p) for p in pb.problems]
    assert all(isinstance(x, (int, Fraction)) for b in e.ballots for x in b.points)


@needs_data
@pytest.mark.parametrize("name", sorted(KNOWN_PROBLEMS))
def test_strict_mode_rejects_real_files_that_break_their_own_limits(name: str) -> None:
    text = text_of(DATA / name)
    problems = parse(text).problems
    with pytest.raises(ParseError) as info:
        parse(text, strict=True)
    assert info.value.line == problems[0].line
    assert f"line {problems[0].line}:" in str(info.value)


@needs_data
@pytest.mark.parametrize(
    "path",
    file_params([f for f in FILES if f.stat().st_size <= BIG and f.name not in KNOWN_PROBLEMS]),
)
def test_strict_mode_accepts_clean_real_files(path: Path) -> None:
    assert parse(text_of(path), strict=True) == parse(text_of(path))


@needs_data
@pytest.mark.parametrize("path", file_params())
def test_dump_round_trip_keeps_every_row_and_column(path: Path) -> None:
    pb = parse(text_of(path))
    again = parse(pabulib.dump(pb))
    assert again == pb
    assert again.votes.rows[:50] == pb.votes.rows[:50]


@needs_data
@pytest.mark.parametrize("path", file_params())
def test_write_round_trip_gives_the_same_election(path: Path) -> None:
    e = read(text_of(path))
    assert same_election(read(write(e)), e)


@needs_data
@pytest.mark.parametrize("path", file_params([f for f in FILES if f.stat().st_size <= BIG]))
def test_pabutools_reads_real_files_as_we_do(path: Path) -> None:
    text = text_of(path)
    assert pabutools_view(text) == our_view(read(text))


# pabulib-checker re-runs MES add1 itself to verify an equalshares file's selected column; on
# Świecie (2553 voters) that takes it about 30 s, so that file is checked with the rule hidden
# (MES conformance is test_conformance's job) and only Assen keeps the full verification.
CHECKER_HIDES_RULE = {"Poland_Swiecie_2023.pb"}


@needs_data
@pytest.mark.parametrize("path", file_params([f for f in FILES if f.stat().st_size <= BIG]))
def test_writer_output_passes_the_checker_and_pabutools(path: Path) -> None:
    """With the greedy family's outcome written as ``selected`` (the checker recomputes it)."""
    import tally

    pb = parse(text_of(path))
    e = pb.to_election()
    greedy_family = pb.rule is not None and pb.rule.startswith("greedy")
    outcome = tally.run(pb.rule, e) if greedy_family and pb.selected_column() else None
    out = write(e, outcome, meta={"rule": "unknown"} if path.name in CHECKER_HIDES_RULE else None)
    errors, _ = run_checker(out)
    assert errors == {}
    assert pabutools_view(out) == our_view(e)


@needs_data
def test_writer_fixes_list_cells_the_checker_rejects() -> None:
    """The Mechanical Turk file writes a category as 'a, b': the checker flags it, we split it."""
    text = text_of(DATA / "Worldwide_Mechanical_Turk_Utilities_3.pb")
    assert "whitespace around list separator" in run_checker(text)[0]
    e = read(text)
    assert ("Environment", "public health & safety") in {p.categories for p in e.projects}
    assert run_checker(write(e))[0] == {}


@needs_data
def test_exact_numbers_from_real_files() -> None:
    debniki = read(text_of(DATA / "Poland_Krakow_2024_Debniki.pb"))
    assert debniki.budget == Fraction(283861634, 100)
    toulouse = read(text_of(DATA / "France_Toulouse_2022.pb"))
    assert {type(p.cost) for p in toulouse.projects} == {int}
    assert toulouse.project_by_id["116"].cost == 4000
    grochow = read(text_of(DATA / "Poland_Warszawa_2018_Grochow_Kinowa.pb"))
    assert grochow.constraints.max_sum_cost == Fraction(2143864, 10)
    assert grochow.min_project_score_threshold == 83


@needs_data
def test_quoted_names_and_none_cells_in_real_files() -> None:
    toulouse = read(text_of(DATA / "France_Toulouse_2022.pb"))
    assert toulouse.project_by_id["135"].name == 'Restructuration "verte" de la place Roger Arnaud'
    pb = parse(text_of(DATA / "Poland_Warszawa_2019_Wesola.pb"))
    col = pb.projects.index("beneficiaries")
    raw_none = [row[0] for row in pb.projects.rows if row[col] == "None"]
    assert raw_none and all(pb.to_election().project_by_id[pid].targets == () for pid in raw_none)


# --------------------------------------------------------------------------- small texts

APPROVAL = '''META
key;value
budget;100
vote_type;approval
num_projects;3
num_votes;4
PROJECTS
project_id;cost;votes;name;category
a;40;4;Park;green,sport
b;60;2;"Library; ""new""";None
c;50;1;;
VOTES
voter_id;vote
1;a,b
2;b,a
3;a
4;a,c
'''


def test_small_approval_file() -> None:
    pb = parse(APPROVAL)
    e = pb.to_election()
    assert e.budget == 100 and e.vote_type == VoteType.APPROVAL
    assert [p.id for p in e.projects] == ["a", "b", "c"]
    assert e.project_by_id["b"].name == 'Library; "new"'
    assert e.project_by_id["a"].categories == ("green", "sport")
    assert e.project_by_id["b"].categories == ()
    # {a,b} and {b,a} are the same approval ballot: collapsed, first-seen order kept
    assert e.ballots == (
        Ballot(("a", "b"), (), 2),
        Ballot(("a",), (), 1),
        Ballot(("a", "c"), (), 1),
    )
    assert e.num_voters == 4
    assert pb.problems == ()
    assert pb.meta_value("num_votes") == "4"
    assert pb.votes.rows[1] == ("2", "b,a")


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda t: t.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda t: t.replace("\n", "\r"), id="cr"),
        pytest.param(lambda t: "\ufeff" + t, id="bom"),
        pytest.param(lambda t: t.replace("PROJECTS\n", "\nPROJECTS\n\n"), id="blank-lines"),
        pytest.param(lambda t: t.rstrip("\n"), id="no-final-newline"),
        pytest.param(lambda t: t.replace("a;40;4;", " a ; 40 ; 4 ;"), id="padded-cells"),
        pytest.param(lambda t: t.replace("4;a,c", "4;a, c"), id="space-in-vote"),
    ],
)
def test_layout_variants_read_the_same(transform) -> None:
    assert same_election(read(transform(APPROVAL)), read(APPROVAL))


def test_line_numbers_survive_crlf_and_bom() -> None:
    broken = APPROVAL.replace("4;a,c", "4;a,z")
    for text in (broken, broken.replace("\n", "\r\n"), "\ufeff" + broken):
        with pytest.raises(ParseError) as info:
            parse(text)
        assert info.value.line == 17


def test_an_unclosed_quote_in_a_large_file_fails_fast_with_a_short_message() -> None:
    votes = "".join(f"{i};a,b\n" for i in range(5, 60_000))
    text = APPROVAL.replace("num_votes;4\n", "").replace("c;50;1;;", 'c;50;1;"Unclosed;') + votes
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.line == 10 and len(str(info.value)) < 200


def test_decimal_commas_and_points_are_exact() -> None:
    text = (
        APPROVAL.replace("budget;100", "budget;100,5")
        .replace("a;40;", 'a;"40,25";')
        .replace("b;60;", "b;60.0;")
    )
    e = read(text)
    assert e.budget == Fraction(201, 2)
    assert e.project_by_id["a"].cost == Fraction(161, 4)
    assert e.project_by_id["b"].cost == 60 and type(e.project_by_id["b"].cost) is int


def test_quoted_cell_spanning_lines() -> None:
    text = APPROVAL.replace('"Library; ""new"""', '"Library\nsecond line"')
    pb = parse(text)
    assert pb.to_election().project_by_id["b"].name == "Library\nsecond line"
    with pytest.raises(ParseError) as info:
        parse(text.replace("4;a,c", "4;a,z"))
    assert info.value.line == 18  # one more physical line than before


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        pytest.param("PROJECTS\nproject_id;cost\n", 1, "expected the META section", id="no-meta"),
        pytest.param("", 1, "missing META", id="empty"),
        pytest.param("META\nkey;val\n", 2, "'key;value'", id="meta-header"),
        pytest.param(
            APPROVAL.replace("vote_type;approval\n", ""), 1, "no vote_type", id="no-vote-type"
        ),
        pytest.param(APPROVAL.replace("budget;100\n", ""), 1, "no budget", id="no-budget"),
        pytest.param(
            APPROVAL.replace("vote_type;approval", "vote_type;yes-no"),
            4,
            "unknown vote_type",
            id="bad-vote-type",
        ),
        pytest.param(
            APPROVAL.replace("budget;100", "budget;1 000"),
            3,
            "budget is not a number",
            id="bad-budget",
        ),
        pytest.param(
            APPROVAL.replace("budget;100", "budget;-5"), 3, "negative", id="negative-budget"
        ),
        pytest.param(
            APPROVAL.replace("num_votes;4", "budget;7"), 6, "appears twice", id="duplicate-meta-key"
        ),
        pytest.param(
            APPROVAL.replace("num_votes;4", "num_votes;4;x"),
            6,
            "more than two cells",
            id="meta-extra-cell",
        ),
        pytest.param(
            APPROVAL.replace("num_projects;3", "num_projects;4"),
            5,
            "num_projects is 4",
            id="num-projects",
        ),
        pytest.param(
            APPROVAL.replace("num_votes;4", "num_votes;5"), 6, "num_votes is 5", id="num-votes"
        ),
        pytest.param(
            APPROVAL.replace("project_id;cost;", "project_id;price;"),
            8,
            "no 'cost'",
            id="no-cost-column",
        ),
        pytest.param(
            APPROVAL.replace("project_id;cost;votes", "id;cost;votes"),
            8,
            "must start with 'project_id'",
            id="projects-header",
        ),
        pytest.param(APPROVAL.replace(";name;", ";cost;"), 8, "twice", id="duplicate-column"),
        pytest.param(
            APPROVAL.replace("c;50;1", "a;50;1"),
            11,
            "'a' appears twice (first on line 9)",
            id="duplicate-project",
        ),
        pytest.param(APPROVAL.replace("c;50;1", "c;None;1"), 11, "no cost", id="none-cost"),
        pytest.param(APPROVAL.replace("c;50;1", "c;fifty;1"), 11, "not a number", id="bad-cost"),
        pytest.param(
            APPROVAL.replace("c;50;1", "c;-50;1"), 11, "negative cost", id="negative-cost"
        ),
        pytest.param(
            APPROVAL.replace("c;50;1;;", "c;50;1;x;y;z"),
            11,
            "6 cells but the header has 5",
            id="long-row",
        ),
        pytest.param(
            APPROVAL.replace("4;a,c", "4;a,z"), 17, "unknown project 'z'", id="unknown-project"
        ),
        pytest.param(APPROVAL.replace("4;a,c", "4;a,c,a"), 17, "'a' twice", id="repeated-project"),
        pytest.param(
            APPROVAL.replace("4;a,c", "3;a,c"),
            17,
            "voter id '3' appears twice (first on line 16)",
            id="duplicate-voter",
        ),
        pytest.param(APPROVAL.replace("4;a,c", ";a,c"), 17, "empty voter_id", id="empty-voter"),
        pytest.param(
            APPROVAL.replace("voter_id;vote", "voter;vote"),
            13,
            "must start with 'voter_id'",
            id="votes-header",
        ),
        pytest.param(
            APPROVAL.replace("voter_id;vote", "voter_id;ballot"),
            13,
            "no 'vote' column",
            id="no-vote-column",
        ),
        pytest.param(
            APPROVAL.replace("VOTES\nvoter_id;vote\n1;a,b\n2;b,a\n3;a\n4;a,c\n", ""),
            11,
            "missing VOTES",
            id="no-votes",
        ),
        pytest.param(
            APPROVAL.replace("PROJECTS", "VOTES"),
            7,
            "expected the PROJECTS section, found the VOTES",
            id="order",
        ),
        pytest.param(APPROVAL + "META\n", 18, "unexpected META section", id="section-after-votes"),
        pytest.param(
            APPROVAL.replace('"Library; ""new"""', '"Library'), 10, "never closed", id="open-quote"
        ),
        pytest.param(
            APPROVAL.replace("num_votes;4", "num_votes;4\nmin_length;1.5"),
            7,
            "whole number",
            id="fractional-length",
        ),
    ],
)
def test_broken_files_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.line == line
    assert str(info.value).startswith(f"line {line}: ")
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


CUMULATIVE = """META
key;value
budget;100
vote_type;cumulative
max_sum_points;5
max_points;3
min_points;1
min_sum_points;2
PROJECTS
project_id;cost;votes;score
p1;50;3;6
p2;60;2;4
VOTES
voter_id;vote;points
v1;p1,p2;3,2
v2;p2,p1;2,3
v3;p1;0
"""


def test_cumulative_points_and_their_limits() -> None:
    pb = parse(CUMULATIVE)
    e = pb.to_election()
    assert e.constraints == BallotConstraints(
        min_points=1, max_points=3, min_sum_points=2, max_sum_points=5
    )
    # {p1:3, p2:2} twice (order differs), then {p1:0}
    assert e.ballots == (Ballot(("p1", "p2"), (3, 2), 2), Ballot(("p1",), (0,), 1))
    assert [str(p) for p in pb.problems] == [
        "line 17: voter 'v3': ballot gives 0 points, less than min_points 1"
    ]
    with pytest.raises(ParseError, match="^line 17: "):
        parse(CUMULATIVE, strict=True)


@pytest.mark.parametrize(
    ("edit", "line", "fragment"),
    [
        pytest.param(
            ("v1;p1,p2;3,2", "v1;p1,p2;3"), 15, "2 projects but points has 1", id="misaligned"
        ),
        pytest.param(
            ("v1;p1,p2;3,2", "v1;p1,p2;3,x"), 15, "points value is not a number", id="bad-points"
        ),
        pytest.param(
            ("voter_id;vote;points", "voter_id;vote"),
            14,
            "need a 'points' column",
            id="no-points-column",
        ),
    ],
)
def test_broken_points(edit: tuple[str, str], line: int, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(CUMULATIVE.replace(*edit))
    assert info.value.line == line and fragment in str(info.value)


@pytest.mark.parametrize(
    ("meta", "vote", "message"),
    [
        ("min_length;2", "a", "fewer than min_length 2"),
        ("max_length;1", "a,b", "more than max_length 1"),
        ("min_sum_cost;50", "a", "ballot costs 40, less than min_sum_cost 50"),
        ("max_sum_cost;99,5", "a,b", "ballot costs 100, more than max_sum_cost 99.5"),
    ],
)
def test_approval_limits_are_problems_or_strict_errors(meta: str, vote: str, message: str) -> None:
    text = APPROVAL.replace("num_votes;4", f"num_votes;4\n{meta}").replace("3;a\n", f"3;{vote}\n")
    pb = parse(text)
    mine = [p for p in pb.problems if "voter '3'" in p.message]
    assert len(mine) == 1 and message in mine[0].message and mine[0].line == 17
    with pytest.raises(ParseError):
        parse(text, strict=True)


def test_points_limits_and_column_mismatches() -> None:
    text = CUMULATIVE.replace("v3;p1;0", "v3;p1;4").replace("p1;50;3;6", "p1;50;2;9")
    assert [str(p) for p in parse(text).problems] == [
        "line 11: project 'p1': votes column says 2 but the ballots give 3",
        "line 11: project 'p1': score column says 9 but the ballots give 10",
        "line 17: voter 'v3': ballot gives 4 points, more than max_points 3",
    ]


def test_choose_one_ballot_must_name_one_project() -> None:
    text = APPROVAL.replace("vote_type;approval", "vote_type;choose-1")
    problems = parse(text).problems
    assert [p.line for p in problems] == [14, 15, 17]
    assert all("choose-1 ballot names 2 projects" in p.message for p in problems)


def test_points_on_approval_ballots_are_ignored_with_a_problem() -> None:
    text = APPROVAL.replace("voter_id;vote\n1;a,b", "voter_id;vote;points\n1;a,b;1,1")
    pb = parse(text)
    assert pb.to_election().ballots[0] == Ballot(("a", "b"), (), 2)
    assert [p.line for p in pb.problems] == [14]


ORDINAL = """META
key;value
budget;100
vote_type;ordinal
PROJECTS
project_id;cost;score
x;30;7
y;40;6
z;50;2
VOTES
voter_id;vote
1;x,y,z
2;y,x
3;x,y,z
"""


def test_ordinal_without_points_keeps_rank_order_and_score_column() -> None:
    pb = parse(ORDINAL)
    assert pb.to_election().ballots == (Ballot(("x", "y", "z"), (), 2), Ballot(("y", "x"), (), 1))
    assert pb.problems == ()  # the score column counts 3-2-1 by rank: x 3+1+3, y 2+2+2, z 1+1
    wrong = parse(ORDINAL.replace("x;30;7", "x;30;8"))
    assert [p.line for p in wrong.problems] == [7]


def test_ordinal_with_a_points_column() -> None:
    text = ORDINAL.replace("voter_id;vote", "voter_id;vote;points").replace(
        "1;x,y,z", "1;x,y,z;5,3,1"
    )
    text = (
        text.replace("2;y,x", "2;y,x;5,3")
        .replace("3;x,y,z", "3;x,y,z;5,3,1")
        .replace("x;30;7", "x;30;13")
    )
    text = text.replace("y;40;6", "y;40;11")
    pb = parse(text)
    assert pb.to_election().ballots == (
        Ballot(("x", "y", "z"), (5, 3, 1), 2),
        Ballot(("y", "x"), (5, 3), 1),
    )
    assert pb.problems == ()
    assert pb.to_election().ballots == read(write(pb.to_election())).ballots


def test_parse_number() -> None:
    cases = {
        "12": 12,
        "4000.0": 4000,
        "2838616.34": Fraction(283861634, 100),
        "100,5": Fraction(201, 2),
        "-3": -3,
        " 7 ": 7,
        ".5": Fraction(1, 2),
    }
    for text, value in cases.items():
        assert pabulib.parse_number(text) == value and type(pabulib.parse_number(text)) is type(
            value
        )
    for bad in ("", "None", "1,000,000", "1e3", "abc", "1.2.3", "½", "1_000"):
        with pytest.raises(ValueError):
            pabulib.parse_number(bad)


# ------------------------------------------------------------------------------ the writer


def _checkable(e: Election) -> Election:
    """Adjust a generated election to what the checker demands of a real one."""
    budget = max(e.budget, max(p.cost for p in e.projects))
    constraints = e.constraints
    if e.vote_type == VoteType.CUMULATIVE:
        constraints = replace(constraints, max_sum_points=max(sum(b.points) for b in e.ballots))
    return replace(e, budget=budget, constraints=constraints)


VOTE_TYPES = [
    VoteType.APPROVAL,
    VoteType.CHOOSE_ONE,
    VoteType.CUMULATIVE,
    VoteType.SCORING,
    VoteType.ORDINAL,
]


@pytest.mark.parametrize("vote_type", VOTE_TYPES, ids=str)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_write_then_read_is_identity(vote_type: VoteType, data: st.DataObject) -> None:
    e = data.draw(elections(vote_type=vote_type, collapse=True, fractional_budget=True))
    text = write(e)
    assert same_election(read(text), e)
    assert parse(text, strict=True).problems == ()


@pytest.mark.parametrize("vote_type", VOTE_TYPES, ids=str)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_writer_output_passes_checker_and_pabutools(
    vote_type: VoteType, data: st.DataObject
) -> None:
    e = _checkable(data.draw(elections(vote_type=vote_type, collapse=True, fractional_budget=True)))
    text = write(e, meta=CHECKER_META)
    errors, _ = run_checker(text)
    assert errors == {}
    assert pabutools_view(text) == our_view(e)


def test_writer_selected_column_and_reserve_mark() -> None:
    e = Election(
        budget=100,
        projects=(
            Project("a", 60, name="A"),
            Project("b", 50, name="B"),
            Project("c", 10, name="C"),
        ),
        ballots=(Ballot(("a", "b")), Ballot(("a",)), Ballot(("b", "c"))),
    )
    rounds = (
        Round(1, "selected", "a", "fits", {}),
        Round(2, "selected", "b", "reserve", {"from_reserve": 10}),
        Round(3, "skipped", "c", "stopped", {}),
    )
    outcome = Outcome("greedy-custom", 100, ("a", "b"), 110, rounds)
    pb = parse(write(e, outcome, meta=CHECKER_META))
    assert pb.selected_column() == {"a": "1", "b": "2", "c": "0"}
    assert pb.rule == "greedy-custom"
    assert pb.meta_value("num_votes") == "3" and pb.meta_value("budget") == "100"
    assert pabulib.parse(write(e, replace(outcome, rule="borda-greedy"))).rule == "unknown"


def test_writer_refuses_what_the_format_cannot_hold() -> None:
    base = Election(budget=10, projects=(Project("a", 1),), ballots=(Ballot(("a",)),))
    with pytest.raises(ValueError, match="cannot be written"):
        write(replace(base, projects=(Project("a,b", 1),), ballots=(Ballot(("a,b",)),)))
    with pytest.raises(ValueError, match="decimal"):
        write(replace(base, budget=Fraction(1, 3)))


def test_writer_quotes_cells_and_keeps_extra_columns() -> None:
    e = read(APPROVAL)
    text = write(e)
    assert '"Library; ""new"""' in text
    assert read(text).project_by_id["b"].name == 'Library; "new"'
    assert "fully_funded;1" not in text  # 150 > 100
    rich = replace(
        e,
        projects=tuple(
            replace(p, extra=(("latitude", "52.1"), ("longitude", "21.0"))) for p in e.projects
        ),
    )
    header = parse(write(rich)).projects.header
    assert header == ("project_id", "cost", "votes", "name", "category", "latitude", "longitude")


def test_tally_modules_import_only_the_standard_library() -> None:
    root = Path(__file__).resolve().parents[2] / "tally"
    for rel in ("pabulib.py", "scoring.py", "rules/greedy.py", "rules/borda.py"):
        tree = ast.parse((root / rel).read_text())
        modules = {
            (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
        assert modules <= set(sys.stdlib_module_names) | {"tally", "__future__"}, rel
