"""Read and write pabulib ``.pb`` files (strings in, strings out; no I/O).

The format: UTF-8 text, ``;``-separated cells with CSV quoting (``"`` and ``""``), three
sections ``META``, ``PROJECTS``, ``VOTES``, each followed by a header row.

Tolerance policy. The reader accepts what real files contain: CRLF, LF or CR line ends, a
leading BOM, blank lines, quoted cells (also across lines), cells padded with spaces, decimal
commas (``100,5``) and decimal points (``4000.0``) in numbers, literal ``None`` or empty cells,
rows shorter than their header (padded with empty cells). Numbers are exact: ``2838616.34``
becomes ``Fraction(283861634, 100)``, ``4000.0`` becomes ``4000``.

Two kinds of defects are told apart:

* **Errors** make the file unusable or ambiguous and always raise ``ParseError`` naming the
  line: missing or misordered sections, missing ``vote_type``/``budget``/``cost``/``vote``,
  bad numbers, duplicate project or voter ids, votes naming unknown projects or naming a
  project twice, ``points`` not aligned with ``vote``, ``num_projects``/``num_votes`` not
  matching the rows, rows with more cells than the header.
* **Problems** are ballots that break the limits declared in META (``min_length``,
  ``max_length``, ``min_sum_cost``, ``max_sum_cost``, ``min_points``, ``max_points``,
  ``min_sum_points``, ``max_sum_points``; choose-1 ballots naming other than one project),
  PROJECTS ``votes``/``score`` columns that disagree with the ballots, and ``points`` given on
  approval ballots (ignored). Real files contain such ballots (Warszawa 2018 Grochów Kinowa has
  two ballots above ``max_sum_cost``; the Mechanical Turk file has eleven below
  ``min_sum_points``), and the official count included them, so by default they are kept and
  listed in ``PbFile.problems``; ``parse(text, strict=True)`` raises ``ParseError`` instead.

``write`` turns an ``Election`` (and optionally an ``Outcome``, for the ``selected`` column)
into a file that pabulib's checker accepts; ``dump`` writes a parsed ``PbFile`` back with every
column it had.
"""

from __future__ import annotations

import gc
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property

from tally.model import (
    Ballot,
    BallotConstraints,
    Election,
    Number,
    Outcome,
    Project,
    VoteType,
    format_number,
)
from tally.scoring import approvals

__all__ = [
    "PABULIB_RULES",
    "ParseError",
    "PbFile",
    "Problem",
    "Table",
    "dump",
    "parse",
    "parse_number",
    "read",
    "write",
]

SECTIONS = ("meta", "projects", "votes")
PABULIB_RULES = (
    "greedy",
    "greedy-no-skip",
    "greedy-threshold",
    "greedy-exclusive",
    "greedy-custom",
    "equalshares",
    "equalshares-comparison",
    "equalshares/add1",
    "equalshares/add1-comparison",
    "unknown",
)
INT_KEYS = ("min_length", "max_length")
NUMBER_KEYS = (
    "min_sum_cost",
    "max_sum_cost",
    "min_points",
    "max_points",
    "min_sum_points",
    "max_sum_points",
)
# The order pabulib documents for META keys and PROJECTS columns; others follow in input order.
META_ORDER = (
    "description", "country", "unit", "district", "subunit", "instance", "num_projects",
    "num_votes", "budget", "vote_type", "rule", "date_begin", "date_end", "min_length",
    "max_length", "min_sum_cost", "max_sum_cost", "min_points", "max_points", "min_sum_points",
    "max_sum_points", "default_score", "min_project_cost", "max_project_cost",
    "min_project_score_threshold", "neighborhoods", "subdistricts", "categories", "edition",
    "language", "currency", "fully_funded", "experimental", "comment", "acknowledgments",
)  # fmt: skip
PROJECT_ORDER = (
    "project_id", "cost", "votes", "score", "name", "category", "beneficiaries", "selected",
    "neighborhood", "subunit", "district", "description", "proposer", "public_id", "latitude",
    "longitude",
)  # fmt: skip
# Columns read into ``Project`` fields, or derived from the ballots (``votes``, ``score``: the
# writer recomputes them); every other column is kept in ``Project.extra``.
_MODELLED = {"project_id", "cost", "name", "category", "categories", "target", "targets",
             "beneficiaries", "district", "votes", "score"}  # fmt: skip
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")


class ParseError(ValueError):
    """A ``.pb`` text that cannot be read; ``line`` is 1-based and named in the message."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class Problem:
    """A tolerated defect (see the module docstring), kept so ``pb check`` can report it."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True, eq=False)
class Table:
    """A section's header and rows: ``rows`` are stripped text cells padded to the header.

    Rows are kept as their source text (``texts``) and split on first use: a large VOTES
    section then costs one string per voter instead of a tuple of cells.
    """

    header: tuple[str, ...]
    texts: tuple[str, ...]
    lines: tuple[int, ...]
    header_line: int

    @cached_property
    def rows(self) -> tuple[tuple[str, ...], ...]:
        width = len(self.header)
        return tuple(
            _fit(_cells(text), width, line, "")
            for text, line in zip(self.texts, self.lines, strict=True)
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        return self.header == other.header and self.rows == other.rows

    __hash__ = None  # type: ignore[assignment]

    def index(self, name: str) -> int | None:
        """Position of column ``name`` (case-insensitive), or ``None``."""
        lowered = [h.lower() for h in self.header]
        return lowered.index(name) if name in lowered else None


@dataclass(frozen=True)
class PbFile:
    """A parsed ``.pb`` file: META rows in order, PROJECTS and VOTES tables, parsed ballots.

    ``ballots`` are the VOTES rows as ballots with identical ones collapsed into weights, in
    first-seen order (approval and choose-1 ballots compare as sets, cumulative and scoring
    ballots as project→points maps, ordinal ballots as sequences).
    """

    meta: tuple[tuple[str, str], ...]
    meta_lines: tuple[int, ...]
    projects: Table
    votes: Table
    ballots: tuple[Ballot, ...]
    problems: tuple[Problem, ...] = ()
    costs: Mapping[str, Number] = field(default_factory=dict, compare=False, repr=False)

    def meta_value(self, key: str, default: str | None = None) -> str | None:
        for k, v in self.meta:
            if k == key:
                return v
        return default

    def meta_line(self, key: str) -> int:
        for (k, _), line in zip(self.meta, self.meta_lines, strict=True):
            if k == key:
                return line
        return 1

    @property
    def vote_type(self) -> VoteType:
        return VoteType(self.meta_value("vote_type"))

    @property
    def rule(self) -> str | None:
        """META ``rule`` (pabulib's name of the official rule), if declared."""
        return self.meta_value("rule")

    def selected_column(self) -> dict[str, str] | None:
        """PROJECTS ``selected`` values by project id, or ``None`` without that column."""
        col = self.projects.index("selected")
        if col is None:
            return None
        return {row[0]: row[col] for row in self.projects.rows}

    def to_election(self) -> Election:
        """The election these rows describe (budget, projects, collapsed ballots, limits)."""
        return Election(
            budget=_meta_number(self, "budget"),
            projects=_projects(self),
            ballots=self.ballots,
            vote_type=self.vote_type,
            constraints=_constraints(self),
            min_project_score_threshold=_optional_number(self, "min_project_score_threshold"),
            meta=self.meta,
        )


# ------------------------------------------------------------------------------------ numbers


def parse_number(text: str) -> Number:
    """Exact value of ``12``, ``4000.0``, ``2838616.34``, ``100,5`` (decimal comma) or ``-3``.

    Raises ``ValueError`` for anything else (thousands separators, exponents, ``None``).
    """
    s = text.strip()
    if s.isascii() and s.isdecimal():
        return int(s)
    if s.count(",") == 1 and "." not in s:
        s = s.replace(",", ".")
    if not _DECIMAL.fullmatch(s):
        raise ValueError(f"not a number: {text!r}")
    value = Fraction(s)
    return value.numerator if value.denominator == 1 else value


def _short(text: str, limit: int = 60) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "…"


def _number_at(text: str, line: int, what: str) -> Number:
    try:
        return parse_number(text)
    except ValueError:
        raise ParseError(line, f"{what} is not a number: {_short(text)}") from None


def _is_null(text: str) -> bool:
    return not text or text == "None"


# ------------------------------------------------------------------------------------ lexing


def _split_quoted(lines: list[str], start: int) -> tuple[list[str], str, int]:
    """Split the logical row starting at ``lines[start]`` with CSV quoting (``"``, ``""``).

    A quoted cell may run over several lines; returns the cells, the row's text and the index
    of the next line. Raises ``ParseError`` if a quote is still open at the end of the text.
    One pass over the characters, so an unclosed quote costs linear time, not quadratic.
    """
    cells: list[str] = []
    buf: list[str] = []
    quoted = False
    at_start = True
    i = start
    while True:
        line = lines[i]
        j, n = 0, len(line)
        while j < n:
            c = line[j]
            if quoted:
                if c != '"':
                    buf.append(c)
                elif j + 1 < n and line[j + 1] == '"':
                    buf.append('"')
                    j += 1
                else:
                    quoted = False
            elif c == ";":
                cells.append("".join(buf))
                buf = []
                at_start = True
                j += 1
                continue
            elif c == '"' and at_start:
                quoted = True
            else:
                buf.append(c)
            at_start = at_start and c in " \t" and not quoted
            j += 1
        i += 1
        if not quoted:
            break
        if i >= len(lines):
            raise ParseError(start + 1, "a quoted cell is never closed")
        buf.append("\n")
    cells.append("".join(buf))
    return cells, "\n".join(lines[start:i]), i


def _cells(text: str) -> list[str]:
    """Stripped cells of one logical row (quoted or not)."""
    if '"' not in text:
        return [c.strip() for c in text.split(";")]
    return [c.strip() for c in _split_quoted(text.split("\n"), 0)[0]]


class _Lines:
    """The text's physical lines and a cursor; yields logical rows (quoted cells may span lines)."""

    def __init__(self, text: str) -> None:
        if text.startswith("\ufeff"):
            text = text[1:]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        self.lines = text.split("\n")
        self.pos = 0
        self.pending: tuple[int, list[str], str] | None = None

    def next(self) -> tuple[int, list[str], str] | None:
        """The next non-blank row as ``(line number, stripped cells, text)``, or ``None``."""
        if self.pending is not None:
            rec, self.pending = self.pending, None
            return rec
        lines, n = self.lines, len(self.lines)
        while self.pos < n:
            line = lines[self.pos]
            if '"' in line:
                first = self.pos + 1
                cells, text, self.pos = _split_quoted(lines, self.pos)
                return first, [c.strip() for c in cells], text
            self.pos += 1
            if line and not line.isspace():
                return self.pos, [c.strip() for c in line.split(";")], line
        return None

    def push(self, rec: tuple[int, list[str], str]) -> None:
        self.pending = rec


def _section_of(cells: list[str]) -> str | None:
    name = cells[0].lower()
    if name in SECTIONS and not any(cells[1:]):
        return name
    return None


# ------------------------------------------------------------------------------------ parsing


@dataclass
class _State:
    """Mutable scratch space while reading one file."""

    problems: list[Problem] = field(default_factory=list)

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(line, message))


def parse(text: str, *, strict: bool = False) -> PbFile:
    """Parse a ``.pb`` text; errors raise ``ParseError``, tolerated defects go to ``problems``.

    With ``strict=True`` the first tolerated defect raises ``ParseError`` as well. The cyclic
    garbage collector is paused while parsing: a large file allocates hundreds of thousands of
    objects and none of them form cycles, so collection passes would only cost time.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        return _parse(text, strict)
    finally:
        if paused:
            gc.enable()


def _parse(text: str, strict: bool) -> PbFile:
    state = _State()
    src = _Lines(text)
    meta, meta_lines, marker = _read_meta(src)
    vote_type = _vote_type(meta, meta_lines, marker)
    if "budget" not in {k for k, _ in meta}:
        raise ParseError(marker, "META has no budget")
    projects = _read_projects(src)
    costs = _project_costs(projects)
    votes, ballots = _read_votes(src, vote_type, costs, meta, meta_lines, state)
    pb = PbFile(tuple(meta), tuple(meta_lines), projects, votes, ballots, (), costs)
    _check_counts(pb)
    _check_budget(pb)
    _check_columns(pb, state)
    problems = tuple(sorted(state.problems, key=lambda p: p.line))
    if strict and problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise ParseError(first.line, first.message + more)
    return replace(pb, problems=problems) if problems else pb


def read(text: str, *, strict: bool = False) -> Election:
    """Parse a ``.pb`` text straight into an ``Election``."""
    return parse(text, strict=strict).to_election()


def _expect_section(src: _Lines, name: str, last_line: int) -> int:
    """Consume the marker line of section ``name``; return its line number."""
    rec = src.next()
    if rec is None:
        raise ParseError(last_line, f"missing {name.upper()} section")
    line, cells, _ = rec
    found = _section_of(cells)
    if found != name:
        what = f"the {found.upper()} section" if found else _short(cells[0])
        raise ParseError(line, f"expected the {name.upper()} section, found {what}")
    return line


def _header(src: _Lines, section: str, marker: int) -> tuple[int, list[str]]:
    rec = src.next()
    if rec is None or _section_of(rec[1]) is not None:
        raise ParseError(rec[0] if rec else marker, f"{section.upper()} has no header row")
    line, cells, _ = rec
    while cells and not cells[-1]:
        cells.pop()
    lowered = [c.lower() for c in cells]
    for i, c in enumerate(lowered):
        if not c:
            raise ParseError(line, f"{section.upper()} header column {i + 1} is empty")
        if c in lowered[:i]:
            raise ParseError(
                line, f"{section.upper()} header names column {_short(cells[i])} twice"
            )
    return line, cells


def _read_meta(src: _Lines) -> tuple[list[tuple[str, str]], list[int], int]:
    marker = _expect_section(src, "meta", 1)
    line, header = _header(src, "meta", marker)
    if [h.lower() for h in header[:2]] != ["key", "value"]:
        raise ParseError(line, "the META header must be 'key;value'")
    meta: list[tuple[str, str]] = []
    lines: list[int] = []
    seen: dict[str, int] = {}
    while (rec := src.next()) is not None:
        line, cells, _ = rec
        if _section_of(cells) is not None:
            src.push(rec)
            return meta, lines, marker
        key = cells[0]
        if not key:
            raise ParseError(line, "META row has an empty key")
        if key in seen:
            raise ParseError(
                line, f"META key {_short(key)} appears twice (first on line {seen[key]})"
            )
        if any(cells[2:]):
            raise ParseError(
                line,
                f"META row {_short(key)} has more than two cells; quote a value containing ';'",
            )
        seen[key] = line
        meta.append((key, cells[1] if len(cells) > 1 else ""))
        lines.append(line)
    raise ParseError(lines[-1] if lines else line, "missing PROJECTS section")


def _vote_type(meta: list[tuple[str, str]], lines: list[int], marker: int) -> VoteType:
    for (k, v), line in zip(meta, lines, strict=True):
        if k == "vote_type":
            try:
                return VoteType(v)
            except ValueError:
                known = ", ".join(t.value for t in VoteType)
                raise ParseError(line, f"unknown vote_type {_short(v)}; known: {known}") from None
    raise ParseError(marker, "META has no vote_type")


def _read_projects(src: _Lines) -> Table:
    marker = _expect_section(src, "projects", src.pos)
    header_line, header = _header(src, "projects", marker)
    lowered = [h.lower() for h in header]
    if lowered[0] != "project_id":
        raise ParseError(header_line, "the PROJECTS header must start with 'project_id'")
    if "cost" not in lowered:
        raise ParseError(header_line, "the PROJECTS header has no 'cost' column")
    width = len(header)
    texts: list[str] = []
    lines: list[int] = []
    while (rec := src.next()) is not None:
        line, cells, text = rec
        if _section_of(cells) is not None:
            src.push(rec)
            return Table(tuple(header), tuple(texts), tuple(lines), header_line)
        _fit(cells, width, line, "projects")
        texts.append(text)
        lines.append(line)
    raise ParseError(lines[-1] if lines else header_line, "missing VOTES section")


def _fit(cells: list[str], width: int, line: int, section: str) -> tuple[str, ...]:
    """Pad a short row; reject a long one unless its extra cells are empty."""
    if len(cells) < width:
        cells = cells + [""] * (width - len(cells))
    elif len(cells) > width:
        if any(cells[width:]):
            raise ParseError(
                line, f"{section.upper()} row has {len(cells)} cells but the header has {width}"
            )
        cells = cells[:width]
    return tuple(cells)


def _project_costs(projects: Table) -> dict[str, Number]:
    col = projects.index("cost")
    assert col is not None
    costs: dict[str, Number] = {}
    first_line: dict[str, int] = {}
    for row, line in zip(projects.rows, projects.lines, strict=True):
        pid = row[0]
        if not pid:
            raise ParseError(line, "project with an empty project_id")
        if pid in costs:
            raise ParseError(
                line, f"project id {_short(pid)} appears twice (first on line {first_line[pid]})"
            )
        if _is_null(row[col]):
            raise ParseError(line, f"project {_short(pid)} has no cost")
        cost = _number_at(row[col], line, f"cost of project {_short(pid)}")
        if cost < 0:
            raise ParseError(line, f"project {_short(pid)} has a negative cost")
        costs[pid] = cost
        first_line[pid] = line
    return costs


@dataclass(frozen=True, slots=True)
class _Limits:
    """META ballot limits, read once."""

    values: dict[str, Number]
    choose_one: bool

    @property
    def active(self) -> bool:
        return bool(self.values) or self.choose_one


def _limits(meta: list[tuple[str, str]], lines: list[int], vote_type: VoteType) -> _Limits:
    values: dict[str, Number] = {}
    for (k, v), line in zip(meta, lines, strict=True):
        if k in INT_KEYS or k in NUMBER_KEYS:
            if _is_null(v):
                continue
            num = _number_at(v, line, f"META {k}")
            if k in INT_KEYS and not isinstance(num, int):
                raise ParseError(line, f"META {k} must be a whole number, not {_short(v)}")
            values[k] = num
    return _Limits(values, vote_type == VoteType.CHOOSE_ONE)


def _ballot_issue(
    items: tuple[str, ...], points: tuple[Number, ...], limits: _Limits, costs: Mapping[str, Number]
) -> str | None:
    """The first declared limit this ballot breaks, as a sentence, or ``None``."""
    lim = limits.values
    n = len(items)
    f = format_number
    if limits.choose_one and n != 1:
        return f"a choose-1 ballot names {n} projects"
    if "min_length" in lim and n < lim["min_length"]:
        return f"ballot names {n} projects, fewer than min_length {lim['min_length']}"
    if "max_length" in lim and n > lim["max_length"]:
        return f"ballot names {n} projects, more than max_length {lim['max_length']}"
    if "min_sum_cost" in lim or "max_sum_cost" in lim:
        total = sum(costs[p] for p in items)
        if "min_sum_cost" in lim and total < lim["min_sum_cost"]:
            return f"ballot costs {f(total)}, less than min_sum_cost {f(lim['min_sum_cost'])}"
        if "max_sum_cost" in lim and total > lim["max_sum_cost"]:
            return f"ballot costs {f(total)}, more than max_sum_cost {f(lim['max_sum_cost'])}"
    if points:
        low, high, total = min(points), max(points), sum(points)
        if "min_points" in lim and low < lim["min_points"]:
            return f"ballot gives {f(low)} points, less than min_points {f(lim['min_points'])}"
        if "max_points" in lim and high > lim["max_points"]:
            return f"ballot gives {f(high)} points, more than max_points {f(lim['max_points'])}"
        if "min_sum_points" in lim and total < lim["min_sum_points"]:
            return f"ballot gives {f(total)} points in all, less than min_sum_points {f(lim['min_sum_points'])}"
        if "max_sum_points" in lim and total > lim["max_sum_points"]:
            return f"ballot gives {f(total)} points in all, more than max_sum_points {f(lim['max_sum_points'])}"
    return None


def _read_votes(
    src: _Lines,
    vote_type: VoteType,
    costs: Mapping[str, Number],
    meta: list[tuple[str, str]],
    meta_lines: list[int],
    state: _State,
) -> tuple[Table, tuple[Ballot, ...]]:
    """Read VOTES, validating each distinct ballot text once and collapsing identical ballots.

    This is the hot loop for files with 100,000 voters: plain rows are split once and only
    the ``vote``/``points`` text is looked at; rows with quotes take the general path.
    """
    marker = _expect_section(src, "votes", src.pos)
    header_line, header = _header(src, "votes", marker)
    lowered = [h.lower() for h in header]
    if lowered[0] != "voter_id":
        raise ParseError(header_line, "the VOTES header must start with 'voter_id'")
    if "vote" not in lowered:
        raise ParseError(header_line, "the VOTES header has no 'vote' column")
    vote_col = lowered.index("vote")
    points_col = lowered.index("points") if "points" in lowered else None
    needs_points = vote_type in (VoteType.CUMULATIVE, VoteType.SCORING)
    if needs_points and points_col is None:
        raise ParseError(header_line, f"{vote_type} ballots need a 'points' column")
    use_points = points_col is not None and vote_type not in (
        VoteType.APPROVAL,
        VoteType.CHOOSE_ONE,
    )
    limits = _limits(meta, meta_lines, vote_type)
    width = len(header)

    texts: list[str] = []
    lines: list[int] = []
    voters: dict[str, int] = {}
    keys: list[str] = []
    parsed: dict[str, tuple[tuple[str, ...], tuple[Number, ...], str | None]] = {}
    lines_src, n = src.lines, len(src.lines)
    known = frozenset(costs)
    pos = src.pos
    points_noted = False
    while pos < n:
        text = lines_src[pos]
        pos += 1
        line = pos
        if '"' in text:
            src.pos = pos - 1
            rec = src.next()
            assert rec is not None
            line, cells, text = rec
            pos = src.pos
        elif not text or text.isspace():
            continue
        else:
            cells = text.split(";")
        if len(cells) != width:
            if _section_of([c.strip() for c in cells]) is not None:
                raise ParseError(line, f"unexpected {cells[0].strip().upper()} section after VOTES")
            cells = list(_fit([c.strip() for c in cells], width, line, "votes"))
        voter = cells[0].strip()
        if not voter:
            raise ParseError(line, "vote with an empty voter_id")
        if voter in voters:
            raise ParseError(
                line, f"voter id {_short(voter)} appears twice (first on line {voters[voter]})"
            )
        voters[voter] = line
        texts.append(text)
        lines.append(line)
        vote = cells[vote_col]
        if (
            points_col is not None
            and not use_points
            and cells[points_col].strip()
            and not points_noted
        ):
            state.problem(
                line, f"{vote_type} ballots carry no points; the 'points' column is ignored"
            )
            points_noted = True
        key = f"{vote};{cells[points_col]}" if use_points else vote  # type: ignore[index]
        entry = parsed.get(key)
        if entry is None:
            raw_points = cells[points_col] if use_points else ""  # type: ignore[index]
            items, pts = _ballot_cells(vote, raw_points, line, known, use_points, needs_points)
            issue = _ballot_issue(items, pts, limits, costs) if limits.active else None
            entry = parsed[key] = (items, pts, issue)
        keys.append(key)
        if entry[2] is not None:
            state.problem(line, f"voter {_short(voter)}: {entry[2]}")
    src.pos = pos
    table = Table(tuple(header), tuple(texts), tuple(lines), header_line)
    weights = Counter(keys)
    return table, _collapse(((*parsed[k][:2], w) for k, w in weights.items()), vote_type)


def _ballot_cells(
    vote: str, points: str, line: int, known: frozenset[str], use_points: bool, needs_points: bool
) -> tuple[tuple[str, ...], tuple[Number, ...]]:
    """Validate one ``vote`` (and ``points``) cell; return project ids and aligned points."""
    items = vote.split(",")
    if " " in vote or "" in items or "\t" in vote or vote == "None":
        vote = vote.strip()
        items = [] if _is_null(vote) else [x for x in (i.strip() for i in vote.split(",")) if x]
    unique = set(items)
    if len(unique) != len(items):
        dup = next(x for i, x in enumerate(items) if x in items[:i])
        raise ParseError(line, f"vote names project {_short(dup)} twice")
    if not unique <= known:
        raise ParseError(line, f"vote names unknown project {_short(sorted(unique - known)[0])}")
    pts: tuple[Number, ...] = ()
    points = points.strip()
    if use_points and (items or not _is_null(points)):
        raw = [] if _is_null(points) else [x for x in (p.strip() for p in points.split(",")) if x]
        if len(raw) != len(items):
            raise ParseError(
                line, f"vote names {len(items)} projects but points has {len(raw)} values"
            )
        pts = tuple(_number_at(p, line, "a points value") for p in raw)
    elif needs_points and items:
        raise ParseError(line, "vote has projects but no points")
    return tuple(items), pts


def _collapse(
    entries: Iterable[tuple[tuple[str, ...], tuple[Number, ...], int]], vote_type: VoteType
) -> tuple[Ballot, ...]:
    """Merge identical ballots (as sets, maps or sequences by vote type), first-seen order."""
    merged: dict[object, list] = {}
    ordinal = vote_type == VoteType.ORDINAL
    for items, pts, weight in entries:
        if ordinal:
            key: object = (items, pts)
        elif pts:
            key = frozenset(zip(items, pts, strict=True))
        else:
            key = frozenset(items)
        slot = merged.get(key)
        if slot is None:
            merged[key] = [items, pts, weight]
        else:
            slot[2] += weight
    return tuple(Ballot(projects=i, points=p, weight=w) for i, p, w in merged.values())


def _check_counts(pb: PbFile) -> None:
    for key, actual, what in (
        ("num_projects", len(pb.projects.texts), "projects"),
        ("num_votes", len(pb.votes.texts), "votes"),
    ):
        text = pb.meta_value(key)
        if text is None or _is_null(text):
            continue
        line = pb.meta_line(key)
        declared = _number_at(text, line, f"META {key}")
        if declared != actual:
            raise ParseError(line, f"META {key} is {text} but the file has {actual} {what}")


def _check_budget(pb: PbFile) -> None:
    if _meta_number(pb, "budget") < 0:
        raise ParseError(pb.meta_line("budget"), "the budget is negative")
    _optional_number(pb, "min_project_score_threshold")


def _tallies(
    ballots: tuple[Ballot, ...], ids: Iterable[str], with_scores: bool
) -> tuple[dict[str, int], dict[str, Number]]:
    """Weighted supporters per project, and (if asked) points, ordinal ranks scored ``L - r``
    as pabulib's ``score`` column does (``tally.scoring``'s default)."""
    ids = list(ids)
    counts = approvals(ballots, ids)
    scores: dict[str, Number] = dict.fromkeys(ids, 0)
    if with_scores:
        for b in ballots:
            w, n = b.weight, len(b.projects)
            pts = b.points or range(n, 0, -1)
            for pid, x in zip(b.projects, pts, strict=True):
                scores[pid] += x * w
    return counts, scores


def _check_columns(pb: PbFile, state: _State) -> None:
    """Compare PROJECTS ``votes``/``score`` with the ballots (a tolerated problem)."""
    votes_col, score_col = pb.projects.index("votes"), pb.projects.index("score")
    if pb.vote_type in (VoteType.APPROVAL, VoteType.CHOOSE_ONE):
        score_col = None
    if votes_col is None and score_col is None:
        return
    counts, scores = _tallies(pb.ballots, pb.costs, score_col is not None)
    for row, line in zip(pb.projects.rows, pb.projects.lines, strict=True):
        pid = row[0]
        for col, actual, what in (
            (votes_col, counts[pid], "votes"),
            (score_col, scores[pid], "score"),
        ):
            if col is None or _is_null(row[col]):
                continue
            try:
                declared = parse_number(row[col])
            except ValueError:
                state.problem(
                    line, f"project {_short(pid)}: {what} {_short(row[col])} is not a number"
                )
                continue
            if declared != actual:
                state.problem(
                    line,
                    f"project {_short(pid)}: {what} column says {row[col]} but the ballots give {format_number(actual)}",
                )


# ------------------------------------------------------------------------------ to_election


def _meta_number(pb: PbFile, key: str) -> Number:
    text = pb.meta_value(key)
    line = pb.meta_line(key)
    if text is None or _is_null(text):
        raise ParseError(line, f"META {key} is missing")
    return _number_at(text, line, f"META {key}")


def _optional_number(pb: PbFile, key: str) -> Number | None:
    text = pb.meta_value(key)
    if text is None or _is_null(text):
        return None
    return _number_at(text, pb.meta_line(key), f"META {key}")


def _constraints(pb: PbFile) -> BallotConstraints:
    values = _limits(list(pb.meta), list(pb.meta_lines), pb.vote_type).values
    return BallotConstraints(**values)  # type: ignore[arg-type]


def _split_list(text: str) -> tuple[str, ...]:
    if _is_null(text):
        return ()
    return tuple(x for x in (s.strip() for s in text.split(",")) if x)


def _projects(pb: PbFile) -> tuple[Project, ...]:
    header = [h.lower() for h in pb.projects.header]

    def col(*names: str) -> int | None:
        return next((header.index(n) for n in names if n in header), None)

    name_c, cat_c = col("name"), col("category", "categories")
    tgt_c, dist_c = col("beneficiaries", "target", "targets"), col("district")
    extra_cols = [(i, pb.projects.header[i]) for i, h in enumerate(header) if h not in _MODELLED]
    out = []
    for row in pb.projects.rows:
        out.append(
            Project(
                id=row[0],
                cost=pb.costs[row[0]],
                name="" if name_c is None or row[name_c] == "None" else row[name_c],
                categories=() if cat_c is None else _split_list(row[cat_c]),
                targets=() if tgt_c is None else _split_list(row[tgt_c]),
                district="" if dist_c is None or row[dist_c] == "None" else row[dist_c],
                extra=tuple((h, row[i]) for i, h in extra_cols),
            )
        )
    return tuple(out)


# ------------------------------------------------------------------------------------ writing


def _cell(value: str) -> str:
    """Quote a cell when it holds ``;``, ``"``, a line break or edge spaces."""
    if any(c in value for c in ';"\n\r') or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


def _row(cells: Iterable[str]) -> str:
    return ";".join(_cell(c) for c in cells)


def _num(x: Number) -> str:
    text = format_number(x)
    if "/" in text:
        raise ValueError(f"{x} has no finite decimal form; pabulib needs decimal numbers")
    return text


def _ordered(keys: Iterable[str], canonical: tuple[str, ...]) -> list[str]:
    rank = {k: i for i, k in enumerate(canonical)}
    keys = list(dict.fromkeys(keys))
    return sorted(keys, key=lambda k: (rank.get(k, len(rank)), keys.index(k)))


def _check_id(pid: str, what: str) -> None:
    if not pid or pid != pid.strip() or any(c in pid for c in ',;"\n\r'):
        raise ValueError(
            f'{what} {_short(pid)} cannot be written: empty, edge spaces, or one of , ; " line break'
        )


def write(
    election: Election,
    outcome: Outcome | None = None,
    *,
    meta: Mapping[str, str] | None = None,
    ordinal_points: bool | None = None,
) -> str:
    """A ``.pb`` text for ``election``; ``selected`` comes from ``outcome`` when given.

    META keeps ``election.meta`` (overridden by ``meta``) and always states ``budget``,
    ``vote_type``, ``num_projects``, ``num_votes``, ``rule`` and the ballot limits. The
    checker also requires ``description``, ``country``, ``unit``, ``instance``, ``date_begin``
    and ``date_end``: pass them in ``meta`` when the election does not carry them. ``votes``
    and ``score`` are recomputed from the ballots; ballots of weight ``w`` become ``w`` rows
    with voter ids ``1, 2, …``. Ordinal ballots get a ``points`` column when they carry points
    (``ordinal_points`` forces it on or off). Raises ``ValueError`` for what the format cannot
    hold (ids with commas, numbers without a finite decimal form).
    """
    e = election
    for p in e.projects:
        _check_id(p.id, "project id")
    rows: dict[str, str] = dict(e.meta)
    rows.update(
        budget=_num(e.budget),
        vote_type=str(e.vote_type),
        num_projects=str(len(e.projects)),
        num_votes=str(e.num_voters),
    )
    c = e.constraints
    for k in INT_KEYS + NUMBER_KEYS:
        v = getattr(c, k)
        if v is not None:
            rows[k] = _num(v)
    if e.min_project_score_threshold is not None:
        rows["min_project_score_threshold"] = _num(e.min_project_score_threshold)
    if outcome is not None:
        rows["rule"] = outcome.rule if outcome.rule in PABULIB_RULES else "unknown"
    rows.setdefault("rule", "unknown")
    if "fully_funded" not in rows and sum(p.cost for p in e.projects) <= e.budget:
        rows["fully_funded"] = "1"
    if meta:
        rows.update(meta)
    out = ["META", "key;value"]
    out += [_row((k, rows[k])) for k in _ordered(rows, META_ORDER)]
    out += _write_projects(e, outcome)
    out += _write_votes(e, ordinal_points)
    return "\n".join(out) + "\n"


def _selected_marks(outcome: Outcome) -> dict[str, str]:
    marks = dict.fromkeys(outcome.selected, "1")
    for r in outcome.rounds:
        if r.decision == "selected" and r.project and r.details.get("from_reserve"):
            marks[r.project] = "2"
    return marks


def _write_projects(e: Election, outcome: Outcome | None) -> list[str]:
    has_score = e.vote_type not in (VoteType.APPROVAL, VoteType.CHOOSE_ONE)
    counts, scores = _tallies(e.ballots, e.project_by_id, has_score)
    extras: dict[str, dict[str, str]] = {p.id: dict(p.extra) for p in e.projects}
    columns = ["project_id", "cost", "votes"] + (["score"] if has_score else [])
    if any(p.name for p in e.projects):
        columns.append("name")
    if any(p.categories for p in e.projects):
        columns.append("category")
    if any(p.targets for p in e.projects):
        columns.append("beneficiaries")
    marks = _selected_marks(outcome) if outcome is not None else None
    if marks is not None:
        columns.append("selected")
    if any(p.district for p in e.projects):
        columns.append("district")
    skip = {"votes", "score"} | ({"selected"} if marks is not None else set())
    columns += [k for p in e.projects for k, _ in p.extra if k not in skip and k not in columns]
    columns = _ordered(columns, PROJECT_ORDER)
    out = ["PROJECTS", _row(columns)]
    for p in e.projects:
        values = {
            "project_id": p.id,
            "cost": _num(p.cost),
            "votes": str(counts[p.id]),
            "score": _num(scores[p.id]),
            "name": p.name,
            "category": ",".join(p.categories),
            "beneficiaries": ",".join(p.targets),
            "district": p.district,
        }
        if marks is not None:
            values["selected"] = marks.get(p.id, "0")
        out.append(_row(values.get(k, extras[p.id].get(k, "")) for k in columns))
    return out


def _write_votes(e: Election, ordinal_points: bool | None) -> list[str]:
    if e.vote_type in (VoteType.CUMULATIVE, VoteType.SCORING):
        with_points = True
    elif e.vote_type == VoteType.ORDINAL:
        with_points = (
            ordinal_points if ordinal_points is not None else any(b.points for b in e.ballots)
        )
    else:
        with_points = False
    out = ["VOTES", "voter_id;vote;points" if with_points else "voter_id;vote"]
    voter = 0
    for b in e.ballots:
        vote = ",".join(b.projects)
        if with_points:
            pts = b.points or tuple(len(b.projects) - r for r in range(len(b.projects)))
            line = f"{vote};{','.join(_num(x) for x in pts)}"
        else:
            line = vote
        for _ in range(b.weight):
            voter += 1
            out.append(f"{voter};{line}")
    return out


def dump(pb: PbFile) -> str:
    """Write a parsed file back with all its rows and columns (cells quoted where needed)."""
    out = ["META", "key;value"]
    out += [_row(kv) for kv in pb.meta]
    for name, table in (("PROJECTS", pb.projects), ("VOTES", pb.votes)):
        out.append(name)
        out.append(_row(table.header))
        out += [_row(r) for r in table.rows]
    return "\n".join(out) + "\n"
