"""Greedy rules: the count most cities use, and its variants as pabulib names them.

Projects are ranked by score (``tally.scoring``: votes, points, or rank points), ties broken
by the tie-break; then each project in turn is funded if it fits in the money left.

* ``greedy``: skip a project that does not fit and go on (the usual rule, e.g. Warszawa,
  Kraków, Toulouse, Amsterdam's "fund additional projects that fit ... ordered by score").
* ``greedy-no-skip``: stop at the first project that does not fit (Wrocław, Gdynia).
* ``greedy-threshold``: only projects whose score reaches a minimum are eligible (Łódź,
  Warszawa, Katowice, Częstochowa). The minimum is ``threshold=`` (a number, or ``"10%"`` of
  the voters, as in Warszawa 2018) or else the election's ``min_project_score_threshold``.
* ``greedy-exclusive``: greedy with the election's ``exclusive_groups`` (at most one project
  of each group) and ``category_caps`` (most money per category).
* ``greedy-custom``: Poznań's rule from the files' META comment: fund projects by votes until
  the next one does not fit; if the money left covers at least ``reserve_share`` (default 80%)
  of that project's cost, fund it too from the city's reserve (the outcome may then cost more
  than the budget; the round records how much came from the reserve); then stop.

Every variant except plain ``greedy`` applies the election's ``min_project_score_threshold``
when it declares one (pabulib files pair it with ``greedy-no-skip``, e.g. Gdynia); pass
``threshold=0`` to ignore it. Each rule yields one round per project, in ranking order, with
``score``, ``cost`` and ``remaining_before`` in its details; ``explain`` answers "why did this
project win or lose?".
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from itertools import pairwise
from typing import Any

from tally.model import Election, Number, Outcome, Project, Round, format_number
from tally.registry import register
from tally.scoring import DEFAULT_ORDINAL, score_label, scores
from tally.tiebreak import TieBreak

__all__ = ["explain", "greedy_count", "resolve_threshold"]

Threshold = Number | str | None
_f = format_number


def resolve_threshold(election: Election, threshold: Threshold) -> Number | None:
    """An absolute minimum score from a number, ``"155"``, or ``"10%"`` (of the voters)."""
    if threshold is None or isinstance(threshold, (int, Fraction)):
        return threshold
    if isinstance(threshold, float):
        raise TypeError("threshold must be exact: an int, a Fraction or a string such as '10%'")
    text = str(threshold).strip()
    try:
        if text.endswith("%"):
            return Fraction(text[:-1].strip()) * election.num_voters / 100
        value = Fraction(text)
    except ValueError:
        raise ValueError(
            f"threshold must be a number or a percentage such as '10%', not {threshold!r}"
        ) from None
    return value.numerator if value.denominator == 1 else value


def _share(value: Number | str) -> Fraction:
    """A fraction in [0, 1] from ``Fraction(4, 5)``, ``"0.8"`` or ``"80%"``."""
    if isinstance(value, float):
        raise TypeError("reserve_share must be exact: a Fraction or a string such as '80%'")
    text = str(value).strip()
    try:
        share = Fraction(text[:-1]) / 100 if text.endswith("%") else Fraction(text)
    except ValueError:
        raise ValueError(
            f"reserve_share must be a fraction or a percentage, not {value!r}"
        ) from None
    if not 0 <= share <= 1:
        raise ValueError(f"reserve_share must be between 0 and 1 (0% and 100%), not {value!r}")
    return share


def _ranked(election: Election, tie_break: TieBreak, score: Mapping[str, Number]) -> list[Project]:
    """Projects by score, best first; the tie-break orders equal scores (its keys, which may
    count every ballot's supporters, are only built when two scores are equal)."""
    by_score = sorted(election.projects, key=lambda p: -score[p.id])
    if all(score[a.id] != score[b.id] for a, b in pairwise(by_score)):
        return by_score
    key = tie_break.key_for(election)
    return sorted(election.projects, key=lambda p: (-score[p.id], key(p)))


def _conflict(p: Project, election: Election, chosen: set[str]) -> str | None:
    for group in election.exclusive_groups:
        if p.id in group:
            taken = sorted(group & chosen)
            if taken:
                return taken[0]
    return None


def _cap_breach(p: Project, caps: Mapping[str, Number], spent: Mapping[str, Number]) -> str | None:
    for cat in p.categories:
        if cat in caps and spent.get(cat, 0) + p.cost > caps[cat]:
            return (
                f"category {cat!r} would exceed its cap: {_f(spent.get(cat, 0))} already spent "
                f"of {_f(caps[cat])}, and the project costs {_f(p.cost)}"
            )
    return None


def greedy_count(
    election: Election,
    tie_break: TieBreak,
    *,
    rule: str,
    score: Mapping[str, Number],
    mode: str = "skip",
    threshold: Number | None = None,
    reserve_share: Fraction | None = None,
    exclusive: bool = False,
    params: Mapping[str, Any] | None = None,
) -> Outcome:
    """The greedy count shared by every variant; ``mode`` is ``skip``, ``stop`` or ``reserve``."""
    caps = dict(election.category_caps)
    spent: dict[str, Number] = {}
    chosen: set[str] = set()
    selected: list[str] = []
    rounds: list[Round] = []
    remaining: Number = election.budget
    stopped_at: str | None = None
    for rank, p in enumerate(_ranked(election, tie_break, score), 1):
        s = score[p.id]
        details: dict[str, Any] = {
            "rank": rank,
            "score": s,
            "cost": p.cost,
            "remaining_before": remaining,
        }
        decision = "skipped"
        if threshold is not None and s < threshold:
            reason = f"score {_f(s)} is below the threshold {_f(threshold)}"
            details["threshold"] = threshold
        elif stopped_at is not None:
            reason = f"not considered: the count stopped at {stopped_at}, which did not fit"
            details["after_stop"] = stopped_at
        elif exclusive and (other := _conflict(p, election, chosen)) is not None:
            reason = f"excluded: conflicts with {other} already selected"
            details["conflicts_with"] = other
        elif exclusive and (breach := _cap_breach(p, caps, spent)) is not None:
            reason = breach
            details["category_cap"] = True
        elif p.cost <= remaining:
            decision = "selected"
            reason = f"cost {_f(p.cost)} fits in the {_f(remaining)} left"
        elif (
            mode == "reserve" and reserve_share is not None and remaining >= reserve_share * p.cost
        ):
            decision = "selected"
            extra = p.cost - remaining
            reason = (
                f"cost {_f(p.cost)} exceeds the {_f(remaining)} left, but that covers at least "
                f"{_f(reserve_share * 100)}% of it: {_f(extra)} comes from the reserve; the count stops here"
            )
            details["from_reserve"] = extra
            stopped_at = p.id
        else:
            reason = f"cost {_f(p.cost)} exceeds the {_f(remaining)} left"
            if mode == "reserve" and reserve_share is not None:
                reason += f", which covers less than {_f(reserve_share * 100)}% of it"
            if mode in ("stop", "reserve"):
                reason += "; the count stops here"
                stopped_at = p.id
            details["shortfall"] = p.cost - remaining
        if decision == "selected":
            selected.append(p.id)
            chosen.add(p.id)
            for cat in p.categories:
                spent[cat] = spent.get(cat, 0) + p.cost
            remaining -= p.cost
        rounds.append(Round(rank, decision, p.id, reason, details))
    total = election.budget - remaining
    return Outcome(
        rule=rule,
        budget=election.budget,
        selected=tuple(selected),
        total_cost=total,
        rounds=tuple(rounds),
        params=dict(params or {}),
        tie_break=str(tie_break),
    )


def _common(
    election: Election, ordinal_scoring: str, threshold: Number | None
) -> tuple[Mapping[str, Number], dict[str, Any]]:
    params: dict[str, Any] = {}
    if election.vote_type == "ordinal":
        params["ordinal_scoring"] = ordinal_scoring
    if threshold is not None:
        params["threshold"] = threshold
    return scores(election, ordinal=ordinal_scoring), params


def _declared(election: Election, threshold: Threshold) -> Number | None:
    if threshold is None:
        return election.min_project_score_threshold
    return resolve_threshold(election, threshold)


@register("greedy")
def greedy(
    election: Election,
    tie_break: TieBreak,
    *,
    threshold: Threshold = None,
    ordinal_scoring: str = DEFAULT_ORDINAL,
) -> Outcome:
    """Greedy by score, skipping projects that do not fit (no threshold unless given)."""
    t = resolve_threshold(election, threshold)
    score, params = _common(election, ordinal_scoring, t)
    return greedy_count(election, tie_break, rule="greedy", score=score, threshold=t, params=params)


@register("greedy-no-skip")
def greedy_no_skip(
    election: Election,
    tie_break: TieBreak,
    *,
    threshold: Threshold = None,
    ordinal_scoring: str = DEFAULT_ORDINAL,
) -> Outcome:
    """Greedy by score that stops at the first project that does not fit (Wrocław, Gdynia)."""
    t = _declared(election, threshold)
    score, params = _common(election, ordinal_scoring, t)
    return greedy_count(
        election,
        tie_break,
        rule="greedy-no-skip",
        score=score,
        mode="stop",
        threshold=t,
        params=params,
    )


@register("greedy-threshold")
def greedy_threshold(
    election: Election,
    tie_break: TieBreak,
    *,
    threshold: Threshold = None,
    ordinal_scoring: str = DEFAULT_ORDINAL,
) -> Outcome:
    """Greedy among projects whose score reaches the minimum (Łódź, Warszawa, Katowice)."""
    t = _declared(election, threshold)
    if t is None:
        raise ValueError(
            "greedy-threshold needs a minimum score: META min_project_score_threshold or threshold="
        )
    score, params = _common(election, ordinal_scoring, t)
    return greedy_count(
        election, tie_break, rule="greedy-threshold", score=score, threshold=t, params=params
    )


@register("greedy-exclusive")
def greedy_exclusive(
    election: Election,
    tie_break: TieBreak,
    *,
    threshold: Threshold = None,
    ordinal_scoring: str = DEFAULT_ORDINAL,
) -> Outcome:
    """Greedy that keeps at most one project per exclusive group and respects category caps."""
    t = _declared(election, threshold)
    score, params = _common(election, ordinal_scoring, t)
    return greedy_count(
        election,
        tie_break,
        rule="greedy-exclusive",
        score=score,
        threshold=t,
        exclusive=True,
        params=params,
    )


@register("greedy-custom")
def greedy_custom(
    election: Election,
    tie_break: TieBreak,
    *,
    reserve_share: Number | str = Fraction(4, 5),
    threshold: Threshold = None,
    ordinal_scoring: str = DEFAULT_ORDINAL,
) -> Outcome:
    """Poznań's greedy: stop at the first misfit, funding it from the reserve if 80% is covered."""
    share = _share(reserve_share)
    t = _declared(election, threshold)
    score, params = _common(election, ordinal_scoring, t)
    params["reserve_share"] = share
    return greedy_count(
        election,
        tie_break,
        rule="greedy-custom",
        score=score,
        mode="reserve",
        threshold=t,
        reserve_share=share,
        params=params,
    )


# ------------------------------------------------------------------------------ explanations


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _names(ids: list[str], limit: int = 8) -> str:
    if len(ids) <= limit:
        return ", ".join(ids)
    return ", ".join(ids[:limit]) + f" and {len(ids) - limit} more"


def explain(
    outcome: Outcome, election: Election, project_id: str, *, label: str | None = None
) -> str:
    """A plain answer to "why was this project (not) selected?" for a greedy-family outcome."""
    if project_id not in election.project_by_id:
        raise KeyError(f"no project {project_id!r} in this election")
    if label is None:
        label = score_label(election, str(outcome.params.get("ordinal_scoring", DEFAULT_ORDINAL)))
    by_project = {r.project: r for r in outcome.rounds if r.project is not None}
    r = by_project.get(project_id)
    if r is None:
        verdict = "was selected" if project_id in outcome.selected else "was not selected"
        return f"{project_id} {verdict} by {outcome.rule}; the count kept no round for it."
    d = r.details
    total = len(outcome.rounds)
    head = (
        f"{project_id} ranked {_ordinal(d['rank'])} of {total} with {_f(d['score'])} {label} "
        f"and costs {_f(d['cost'])}"
    )
    if r.decision == "selected":
        text = f"{head}. It was selected: {r.reason}."
        if "from_reserve" in d:
            return text
        return text + f" {_f(d['remaining_before'] - d['cost'])} remained after it."
    if "threshold" in d:
        return f"{head}. It was not eligible: {_f(d['score'])} is below the threshold of {_f(d['threshold'])} {label}."
    if "conflicts_with" in d:
        return (
            f"{head}. It was not selected: it is mutually exclusive with {d['conflicts_with']}, "
            "which was selected first."
        )
    if "after_stop" in d:
        return (
            f"{head}. It was not considered: under {outcome.rule} the count stops at the first "
            f"project that does not fit, and {d['after_stop']}, ranked above it, did not fit."
        )
    if "shortfall" in d:
        above = [
            x.project
            for x in outcome.rounds
            if x.decision == "selected" and x.details["rank"] < d["rank"]
        ]
        below = [
            x.project
            for x in outcome.rounds
            if x.decision == "selected" and x.details["rank"] > d["rank"]
        ]
        text = (
            f"{head}. It was not selected: when its turn came, {_f(d['remaining_before'])} was left"
            f" after funding {len(above)} higher-ranked project{'s' if len(above) != 1 else ''}"
            f"{' (' + _names(above) + ')' if above else ''}, {_f(d['shortfall'])} short of its cost."
        )
        if "stops here" in r.reason:
            text += f" Under {outcome.rule} the count stopped there."
        elif below:
            text += f" Cheaper projects ranked below it still fit and were funded: {_names(below)}."
        return text
    return f"{head}. It was not selected: {r.reason}."
