"""``pb tally`` and ``pb check``: count a pabulib ``.pb`` file, or check it against its own META.

``pb tally FILE.pb`` runs a rule (by default the file's own META ``rule`` when pb knows it,
else ``greedy``) and prints the outcome as a table, as JSON (``--json``), or the answer to
"why was this project (not) selected?" (``--explain ID``). ``pb check FILE.pb`` lists the
file's format problems (strict validation) and recomputes the declared rule from the ballots
to compare with the ``selected`` column; it exits 0 when both are clean, 1 otherwise.

Any error (unreadable file, malformed ``.pb``, unknown rule, bad tie-break) is one line on
standard error, ``pb: error: …``, with exit status 2.
"""

from __future__ import annotations

import inspect
import json
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import click

import tally
from pb.cli_errors import EXIT_CHECK_FAILED, OneLineCommand, fail
from tally import pabulib
from tally.model import Election, Outcome, format_number
from tally.registry import RULES, UnknownRule
from tally.rules import borda, greedy
from tally.tiebreak import TieBreak

__all__ = ["check_command", "tally_command"]

FALLBACK_RULE = "greedy"
# ``selected`` values in pabulib: 1 = funded by the rule, 2 = funded under Poznań's 80% rule,
# 3 = funded later from extra reserve funds (outside any rule's reach).
SELECTED_BY_RULE = {"1", "2"}
EXPLAINERS = {
    "borda-greedy": borda.explain,
    **{
        r: greedy.explain
        for r in (
            "greedy",
            "greedy-no-skip",
            "greedy-threshold",
            "greedy-exclusive",
            "greedy-custom",
        )
    },
}


def _load(path: str) -> pabulib.PbFile:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        fail(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}")
    try:
        return pabulib.parse(text)
    except pabulib.ParseError as exc:
        fail(f"{path}: {exc}")


def _official(pb: pabulib.PbFile) -> str | None:
    rule = pb.meta_value("rule")
    return rule if rule in RULES else None


def _choose_rule(pb: pabulib.PbFile, requested: str | None) -> str:
    if requested is None:
        return _official(pb) or FALLBACK_RULE
    if requested == "official":
        rule = _official(pb)
        if rule is None:
            declared = pb.meta_value("rule") or "none"
            fail(
                f"the file's rule {declared!r} is not one pb can run; pass --rule (known: {', '.join(sorted(RULES))})"
            )
        return rule
    if requested not in RULES:
        fail(str(UnknownRule(requested)))
    return requested


def _accepts(rule: str, param: str) -> bool:
    params = inspect.signature(RULES[rule]).parameters
    return param in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _run(election: Election, rule: str, tie_break: TieBreak, utility: str | None) -> Outcome:
    params: dict[str, Any] = {}
    if utility is not None and _accepts(rule, "utility"):
        params["utility"] = utility
    try:
        return tally.run(rule, election, tie_break, **params)
    except (ValueError, TypeError, KeyError) as exc:
        fail(f"{rule}: {exc}")


def _explain(outcome: Outcome, election: Election, project_id: str) -> str:
    if project_id not in election.project_by_id:
        fail(f"no project {project_id!r} in this file")
    explainer = EXPLAINERS.get(outcome.rule)
    if explainer is not None:
        return explainer(outcome, election, project_id)
    verdict = "was selected" if project_id in outcome.selected else "was not selected"
    steps = [
        f"round {r.number}: {r.decision}, {r.reason}"
        for r in outcome.rounds
        if r.project == project_id
    ]
    return f"{project_id} {verdict} by {outcome.rule}." + (
        " " + "; ".join(steps) + "." if steps else ""
    )


def _num(value: Any) -> str:
    return (
        format_number(value)
        if isinstance(value, (int, Fraction)) and not isinstance(value, bool)
        else ""
    )


def _table(outcome: Outcome, election: Election) -> str:
    """A plain-text summary and one line per round."""
    names = {p.id: p.name for p in election.projects}
    rows = [("#", "decision", "project", "score", "cost", "left before", "reason")]
    for r in outcome.rounds:
        d = r.details
        rows.append(
            (str(r.number), r.decision, r.project or "", _num(d.get("score")), _num(d.get("cost")),
             _num(d.get("remaining_before")), r.reason)
        )  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(6)]

    def line(row: tuple[str, ...]) -> str:
        cells = [
            c.ljust(w) if i < 3 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row[:6], widths, strict=True))
        ]
        return ("  ".join(cells) + "  " + row[6]).rstrip()

    selected = ", ".join(
        f"{pid} ({names[pid]})" if names.get(pid) else pid for pid in outcome.selected
    )
    head = [
        f"rule: {outcome.rule}"
        + (f"   tie-break: {outcome.tie_break}" if outcome.tie_break else ""),
        f"budget: {format_number(outcome.budget)}   total cost: {format_number(outcome.total_cost)}"
        f"   leftover: {format_number(outcome.leftover)}",
        f"selected ({len(outcome.selected)}): {selected}",
        "",
    ]
    return "\n".join(head + [line(row) for row in rows])


@click.command("tally", cls=OneLineCommand)
@click.argument("file", metavar="FILE.pb")
@click.option(
    "--rule",
    "rule",
    metavar="RULE|official",
    help="Rule id, or `official` for the file's META rule [default: official if pb knows it, else greedy].",
)
@click.option(
    "--utility",
    type=click.Choice(["cost", "cardinality", "score"]),
    help="Utility for rules that take one (equalshares family).",
)
@click.option(
    "--tie-break",
    "tie_break",
    metavar="TEXT",
    help="e.g. `lower-cost,more-supporters,project-id` or `lottery:SEED`.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--explain",
    "explain_id",
    metavar="PROJECT_ID",
    help="Explain why this project was (not) selected.",
)
def tally_command(
    file: str,
    rule: str | None,
    utility: str | None,
    tie_break: str | None,
    as_json: bool,
    explain_id: str | None,
) -> None:
    """Count FILE.pb with a rule and print the outcome."""
    try:
        tb = TieBreak.parse(tie_break)
    except ValueError as exc:
        fail(f"--tie-break: {exc}")
    pb = _load(file)
    election = pb.to_election()
    rule_id = _choose_rule(pb, rule)
    outcome = _run(election, rule_id, tb, utility)
    explanation = _explain(outcome, election, explain_id) if explain_id is not None else None
    if as_json:
        data = outcome.to_dict()
        data.update(
            file=Path(file).name,
            vote_type=str(election.vote_type),
            num_voters=election.num_voters,
            official_rule=pb.meta_value("rule"),
        )
        if explanation is not None:
            data["explanation"] = explanation
        click.echo(json.dumps(data, ensure_ascii=False))
    elif explanation is not None:
        click.echo(explanation)
    else:
        click.echo(_table(outcome, election))


@click.command("check", cls=OneLineCommand)
@click.argument("file", metavar="FILE.pb")
def check_command(file: str) -> None:
    """Check FILE.pb: format problems, and whether `selected` matches its declared rule."""
    pb = _load(file)
    ok = True
    if pb.problems:
        ok = False
        click.echo(f"format: {len(pb.problems)} problem{'s' if len(pb.problems) != 1 else ''}")
        for p in pb.problems:
            click.echo(f"  {p}")
    else:
        click.echo("format: ok")
    ok = _check_outcome(pb) and ok
    sys.exit(0 if ok else EXIT_CHECK_FAILED)


def _check_outcome(pb: pabulib.PbFile) -> bool:
    """Print whether the ``selected`` column matches the declared rule; false on a mismatch."""
    declared = pb.meta_value("rule") or "none"
    column = pb.selected_column()
    rule = _official(pb)
    if column is None:
        click.echo("outcome: not checked (no selected column)")
        return True
    if rule is None:
        click.echo(f"outcome: not checked (rule {declared!r} is not one pb can run)")
        return True
    election = pb.to_election()
    outcome = _run(election, rule, TieBreak(), None)
    in_file = {pid for pid, v in column.items() if v in SELECTED_BY_RULE}
    extra = sorted(pid for pid, v in column.items() if v == "3")
    by_rule = set(outcome.selected) - set(extra)
    if in_file == by_rule:
        note = (
            f"; {', '.join(extra)} funded from extra reserve (selected=3) not checked"
            if extra
            else ""
        )
        click.echo(f"outcome: matches {rule} ({len(in_file)} selected){note}")
        return True
    click.echo(f"outcome: differs from {rule}")
    if in_file - by_rule:
        click.echo(
            f"  selected in the file but not by the rule: {', '.join(sorted(in_file - by_rule))}"
        )
    if by_rule - in_file:
        click.echo(
            f"  selected by the rule but not in the file: {', '.join(sorted(by_rule - in_file))}"
        )
    return False
