"""Axiom checkers for outcomes, used by tests and by result pages. All exact.

* ``is_feasible`` / ``is_exhaustive``: the budget constraint, and "no further project fits".
* ``check_price_system``: the payments of a Method-of-Equal-Shares outcome, replayed from the ρ
  recorded in its rounds, form a price system in the sense of Peters, Pierczyński & Skowron
  ("Proportional participatory budgeting with additive utilities", NeurIPS 2021): nobody pays
  more than their share, only supporters pay, and only for selected projects, each selected
  project is paid in full, and no unselected project's supporters hold its cost between them.
* ``satisfies_ejr_up_to_one``: Extended Justified Representation up to one project (same paper,
  and Los, Christoff & Grossi, AAAI 2022, for cost utilities), by brute force over project sets:
  for every set ``T`` and every group ``S`` of voters who all approve ``T`` with
  ``|S|·B/n ≥ cost(T)``, some voter ``i`` in ``S`` has ``u_i(W) ≥ u_i(T)`` or
  ``u_i(W ∪ {a}) > u_i(T)`` for some ``a ∈ T``. Exponential in the number of projects: for small
  approval instances (tests, teaching examples).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from itertools import combinations

from tally.model import Ballot, Election, Number, Outcome, VoteType

__all__ = [
    "check_price_system",
    "is_exhaustive",
    "is_feasible",
    "satisfies_ejr_up_to_one",
    "total_cost",
    "utility",
]


def total_cost(election: Election, selected: Iterable[str]) -> Number:
    """Total cost of the named projects."""
    by_id = election.project_by_id
    return sum((by_id[pid].cost for pid in selected), 0)


def is_feasible(election: Election, selected: Sequence[str]) -> bool:
    """Known projects, each at most once, costing at most the budget together."""
    by_id = election.project_by_id
    if len(set(selected)) != len(selected) or any(pid not in by_id for pid in selected):
        return False
    return total_cost(election, selected) <= election.budget


def is_exhaustive(election: Election, selected: Sequence[str]) -> bool:
    """Feasible, and no unselected project fits in the money left."""
    if not is_feasible(election, selected):
        return False
    left = election.budget - total_cost(election, selected)
    chosen = set(selected)
    return not any(p.id not in chosen and p.cost <= left for p in election.projects)


def utility(election: Election, ballot: Ballot, project: str, kind: str) -> Number:
    """A voter's utility for one project: ``cost``, ``cardinality`` (1) or ``score`` (points)."""
    if project not in ballot.projects:
        return 0
    j = ballot.projects.index(project)
    if ballot.points and ballot.points[j] <= 0:
        return 0
    if kind == "cost":
        return election.project_by_id[project].cost
    if kind == "cardinality":
        return 1
    if ballot.points:
        return ballot.points[j]
    if election.vote_type == VoteType.ORDINAL:
        from tally.scoring import DEFAULT_ORDINAL, ballot_points

        longest = max(
            election.constraints.max_length or 0,
            max((len(b.projects) for b in election.ballots), default=0),
        )
        return ballot_points(ballot, DEFAULT_ORDINAL, longest, len(election.projects))[j]
    return 1


def check_price_system(election: Election, outcome: Outcome) -> list[str]:
    """Problems with the MES payments behind ``outcome`` (empty when they form a price system).

    Payments are replayed from the rounds: every voter starts with the outcome's per-voter
    budget; in each ``selected`` round every supporter pays ``min(money left, ρ·u)``.
    """
    if not outcome.rule.startswith("equalshares") or outcome.params.get("winner") == "greedy":
        return [f"{outcome.rule} outcome chosen without equal shares: no price system to check"]
    kind = str(outcome.params.get("utility", "cost"))
    b = Fraction(outcome.params["budget_per_voter"])
    problems: list[str] = []
    money = [b] * len(election.ballots)  # per ballot (each of its identical voters holds this)
    paid_for: set[str] = set()
    mes_rounds = [r for r in outcome.rounds if r.decision == "selected"]
    for r in mes_rounds:
        pid = r.project
        assert pid is not None
        rho = Fraction(r.details["rho"])
        cost = election.project_by_id[pid].cost
        total: Number = 0
        for k, ballot in enumerate(election.ballots):
            u = utility(election, ballot, pid, kind)
            if not u:
                continue
            pay = min(money[k], rho * u)
            if pay < 0:
                problems.append(f"{pid}: a negative payment")
            money[k] -= pay
            total += pay * ballot.weight
        if total != cost:
            problems.append(f"{pid}: supporters pay {total}, not its cost {cost}")
        paid_for.add(pid)
        listed = r.details.get("payments")
        if listed is not None:
            claimed = sum(Fraction(x["amount"]) * x["voters"] for x in listed)
            if claimed != cost:
                problems.append(f"{pid}: the round's payment table sums to {claimed}, not {cost}")
    completed = {r.project for r in outcome.rounds if r.decision == "completed"}
    for pid in outcome.selected:
        if pid not in paid_for and pid not in completed:
            problems.append(f"{pid}: selected but never paid for")
    for k, m in enumerate(money):
        if m < 0:
            problems.append(f"ballot {k}: voters pay more than their share")
    for p in election.projects:
        if p.id in paid_for or p.id in completed:
            continue
        supporters_money = sum(
            (money[k] * ballot.weight)
            for k, ballot in enumerate(election.ballots)
            if utility(election, ballot, p.id, kind)
        )
        if supporters_money and supporters_money >= p.cost:
            problems.append(
                f"{p.id}: unselected, yet its supporters hold {supporters_money} ≥ its cost {p.cost}"
            )
    return problems


def satisfies_ejr_up_to_one(
    election: Election, selected: Sequence[str], kind: str = "cost"
) -> bool:
    """EJR up to one project for approval ballots with ``cost`` or ``cardinality`` utilities."""
    if kind not in ("cost", "cardinality"):
        raise ValueError("EJR up to one is checked for cost or cardinality utilities")
    ids = [p.id for p in election.projects]
    cost = {p.id: p.cost for p in election.projects}
    n = election.num_voters
    if n == 0:
        return True
    chosen = set(selected)
    approvals = [(frozenset(b.projects), b.weight) for b in election.ballots]

    def u(approved: frozenset[str], projects: Iterable[str]) -> Number:
        return sum((cost[p] if kind == "cost" else 1 for p in projects if p in approved), 0)

    for size in range(1, len(ids) + 1):
        for group in combinations(ids, size):
            t = frozenset(group)
            t_cost = sum(cost[p] for p in t)
            unhappy = 0
            for approved, w in approvals:
                if not t <= approved:
                    continue
                u_t = u(approved, t)
                u_w = u(approved, chosen)
                if u_w >= u_t:
                    continue
                if any(u_w + u(approved, (a,)) > u_t for a in t - chosen):
                    continue
                unhappy += w
            if unhappy and unhappy * election.budget >= n * t_cost:
                return False
    return True
