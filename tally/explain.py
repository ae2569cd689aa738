""" "Why did this project win (or lose)?" in plain words, for every rule family.

* Method of Equal Shares: the round it was bought (ρ, effective votes, who paid what); or, for a
  losing project, a replay of the count that follows it round by round: its best ρ against the
  winner of the round, when its supporters' money fell below its cost, and what it would have
  needed (a lower cost, or more supporters) to be bought while it was still in the race.
* Greedy family and Borda: answered by ``tally.rules.greedy.explain`` / ``tally.rules.borda``.
* Sequential Phragmén and max-welfare: from the rounds (and, for max-welfare, the best total
  score reachable with the project forced in).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from tally.model import Election, Number, Outcome, Round

__all__ = ["explain"]


def _f(x: Number) -> str:
    x = Fraction(x)
    if x.denominator == 1:
        return f"{x.numerator:,}".replace(",", " ")
    return f"{float(x):,.2f}".replace(",", " ")


def _delegate(module: str) -> Callable[..., str] | None:
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    fn = getattr(mod, "explain", None)
    return fn if callable(fn) else None


def explain(outcome: Outcome, election: Election, project_id: str) -> str:
    """A short answer to "why was ``project_id`` (not) selected?" for ``outcome``."""
    if project_id not in election.project_by_id:
        raise KeyError(f"no project {project_id!r} in this election")
    rule = outcome.rule
    if rule.startswith("equalshares"):
        if outcome.params.get("winner") == "greedy":
            return _comparison_greedy(outcome, election, project_id)
        return _equal_shares(outcome, election, project_id)
    if rule == "borda-greedy":
        fn = _delegate("tally.rules.borda")
        if fn is not None:
            return fn(outcome, election, project_id)
    if rule.startswith("greedy") or rule == "borda-greedy":
        fn = _delegate("tally.rules.greedy")
        if fn is not None:
            return fn(outcome, election, project_id)
    if rule == "seq-phragmen":
        return _phragmen(outcome, project_id)
    if rule == "max-welfare":
        return _max_welfare(outcome, election, project_id)
    return _from_rounds(outcome, project_id)


def _from_rounds(outcome: Outcome, project_id: str) -> str:
    verdict = "was selected" if project_id in outcome.selected else "was not selected"
    mine = [r for r in outcome.rounds if r.project == project_id]
    if not mine:
        return f"{project_id} {verdict} by {outcome.rule}."
    return f"{project_id} {verdict} by {outcome.rule}: {mine[-1].reason}."


# --------------------------------------------------------------------------- equal shares


def _equal_shares(outcome: Outcome, election: Election, project_id: str) -> str:
    from tally.rules import equalshares as es
    from tally.tiebreak import TieBreak

    p = election.project_by_id[project_id]
    rounds = {r.project: r for r in outcome.rounds if r.decision in ("selected", "completed")}
    budget_text = _budget_text(outcome)
    r = rounds.get(project_id)
    if r is not None and r.decision == "completed":
        return (
            f"{project_id} was added by the greedy completion after equal shares had finished: "
            f"it was the most supported remaining project that fit the {_f(r.details['budget_left'] + p.cost)} left."
        )
    if r is not None:
        bought = [x for x in outcome.rounds if x.decision == "selected"]
        return _won(r, bought.index(r) + 1, project_id, budget_text)
    utility = str(outcome.params.get("utility", es.default_utility(election)))
    tie_break = TieBreak.parse(outcome.tie_break or None)
    prof = es.compile_profile(election, tie_break, utility)
    idx = prof.ids.index(project_id)
    if prof.supporters[idx] == 0:
        return f"{project_id} was not selected: nobody supported it, and equal shares only spends supporters' money."
    b = Fraction(outcome.params.get("budget_per_voter", Fraction(election.budget) / max(1, prof.n)))
    run = es.mes_run(prof, b * prof.scale, probe=idx)
    return _lost(prof, run, idx, budget_text)


def _budget_text(outcome: Outcome) -> str:
    b = outcome.params.get("budget_per_voter")
    return f" (each voter started with {_f(b)})" if b is not None else ""


def _won(r: Round, k: int, project_id: str, budget_text: str) -> str:
    d = r.details
    if "payments" not in d:
        return f"{project_id} was bought in round {k}: it {r.reason}."
    pays = d["payments"]
    top = pays[0]
    text = f"{project_id} was bought in round {k}{budget_text}: {r.reason}. "
    if "effective_votes" in d:
        text += (
            f"Of its {_f(d['supporters'])} supporters, {_f(d['paying_supporters'])} still had money "
            f"and together held {_f(d['supporters_money'])} against its cost of {_f(d['cost'])}; "
        )
    text += f"{_f(top['voters'])} paid {_f(top['amount'])} each"
    if len(pays) > 1:
        text += f" and {_f(sum(x['voters'] for x in pays[1:]))} paid everything they had left"
    return text + "."


def _lost(prof: Any, run: Any, idx: int, budget_text: str) -> str:
    pid = prof.ids[idx]
    cost = Fraction(prof.cost[idx], prof.scale)
    probes = run.probe
    winners = {t: p for t, p in enumerate(run.order)}
    rhos = dict(enumerate(run.rho))
    last_ok = [x for x in probes if x["rho"] is not None]
    first_bad = next((x for x in probes if x["rho"] is None), None)
    if not last_ok:
        money = probes[0]["money"] if probes else Fraction(0)
        need = cost - money
        text = (
            f"{pid} was not selected{budget_text}: its {_f(prof.supporters[idx])} supporters "
            f"held only {_f(money)} between them, {_f(need)} short of its cost of {_f(cost)}, "
            "so equal shares could never buy it."
        )
        share = Fraction(run.b, prof.scale)
        if share > 0:
            more = -(-need // share)
            text += (
                f" It would have needed a cost of at most {_f(money)}, or about {_f(more)} more "
                "supporters with a full share."
            )
        return text
    last = last_ok[-1]
    t = last["round"]
    winner = winners.get(t)
    mine = last["rho"]
    text = f"{pid} was not selected{budget_text}. "
    if winner is not None:
        theirs = rhos[t]
        text += (
            f"In round {t + 1}, the last one it could still be afforded, it had "
            f"{_describe(prof, idx, mine)} against {_describe(prof, winner, theirs)} for "
            f"{prof.ids[winner]}, which was bought instead. "
        )
        need_cost = _cost_to_win(prof, run.b, idx, t)
        if need_cost is not None:
            text += f"It would have been chosen then had it cost at most {_f(need_cost)}. "
    if first_bad is not None:
        text += (
            f"From round {first_bad['round'] + 1} its supporters held only "
            f"{_f(first_bad['money'])}, less than its cost of {_f(cost)}."
        )
    else:
        text += "Equal shares stopped before it became the best value."
    return text.strip()


def _describe(prof: Any, p: int, rho: Fraction) -> str:
    from tally.rules import equalshares as es

    r = es._unscale_rho(prof, rho)
    if prof.utility == "cost":
        return f"{_f(1 / r) if r else 'infinitely many'} effective votes"
    if prof.uniform:
        return f"a price of {_f(r)} per supporter"
    return f"a price of {_f(r)} per point"


def _cost_to_win(prof: Any, b: Number, p: int, t: int) -> Fraction | None:
    """Largest cost at which ``p`` would have been bought by round ``t`` (bisection over whole
    re-counts; a cheaper project only gets more attractive)."""
    from dataclasses import replace

    from tally.rules import equalshares as es

    def bought_by(c: int) -> bool:
        cost = list(prof.cost)
        cost[p] = c
        unit = list(prof.unit)
        if prof.utility == "cost":
            unit[p] = c
        alt = replace(prof, cost=tuple(cost), unit=tuple(unit))
        return p in es.mes_run(alt, b).order[: t + 1]

    lo, hi = 1, prof.cost[p] - 1
    good = None
    while lo <= hi:
        mid = (lo + hi) // 2
        if bought_by(mid):
            good = mid
            lo = mid + 1
        else:
            hi = mid - 1
    return None if good is None else Fraction(good, prof.scale)


def _comparison_greedy(outcome: Outcome, election: Election, project_id: str) -> str:
    compared = next(r for r in outcome.rounds if r.decision == "compared")
    d = compared.details
    head = (
        f"The comparison step kept the greedy outcome: {_f(d['prefer_greedy'])} voters prefer it "
        f"against {_f(d['prefer_equal_shares'])} for equal shares. "
    )
    fn = _delegate("tally.rules.greedy")
    rest = Outcome(
        rule="greedy",
        budget=outcome.budget,
        selected=outcome.selected,
        total_cost=outcome.total_cost,
        rounds=tuple(r for r in outcome.rounds if r.decision != "compared"),
        params=outcome.params,
        tie_break=outcome.tie_break,
    )
    if fn is not None:
        try:
            return head + fn(rest, election, project_id)
        except (KeyError, TypeError):
            pass
    return head + _from_rounds(rest, project_id)


# --------------------------------------------------------------------------- others


def _phragmen(outcome: Outcome, project_id: str) -> str:
    for r in outcome.rounds:
        if r.project == project_id and r.decision == "selected":
            return (
                f"{project_id} was selected in round {r.number}: {r.reason} "
                f"(maximal load {_f(r.details['max_load'])})."
            )
        if r.project == project_id and r.decision == "stopped":
            return (
                f"{project_id} was not selected: it was next in line (maximal load "
                f"{_f(r.details['max_load'])}) but "
                f"did not fit in the {_f(r.details['budget_left'])} left, so the count stopped."
            )
    stop = next((r for r in outcome.rounds if r.decision == "stopped"), None)
    if stop is not None and stop.project is not None:
        return (
            f"{project_id} was not selected: the count stopped when {stop.project}, whose "
            "supporters would have carried a smaller load, did not fit in the budget."
        )
    return f"{project_id} was not selected: no supporters, or it does not fit in the budget."


def _max_welfare(outcome: Outcome, election: Election, project_id: str) -> str:
    from tally.rules.maxwelfare import optimal_set
    from tally.scoring import scores

    score = scores(election)
    stop = outcome.rounds[-1]
    best = stop.details["welfare"]
    if project_id in outcome.selected:
        return (
            f"{project_id} ({_f(score[project_id])} score) is part of the feasible set with the "
            f"highest total score ({_f(best)})."
        )
    p = election.project_by_id[project_id]
    if score[project_id] <= 0:
        return f"{project_id} was not selected: nobody scored it."
    if p.cost > election.budget:
        return f"{project_id} was not selected: it costs more than the whole budget."
    others = [q for q in election.projects if q.id != project_id and score[q.id] > 0]
    rest = (
        optimal_set(
            [q.cost for q in others], [int(score[q.id]) for q in others], election.budget - p.cost
        )
        if all(Fraction(score[q.id]).denominator == 1 for q in others)
        else None
    )
    if rest is None:
        return f"{project_id} was not selected: including it lowers the best total score."
    with_it = score[project_id] + sum(score[others[i].id] for i in rest)
    return (
        f"{project_id} was not selected: the best feasible set containing it reaches a total "
        f"score of {_f(with_it)}, below the optimum of {_f(best)}."
    )
