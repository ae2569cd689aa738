"""Sequential Phragmén for participatory budgeting (Los, Christoff & Grossi, "Proportionality in
approval-based participatory budgeting", AAAI 2022), exact.

Voters earn virtual money continuously; a project is bought as soon as its supporters together
hold its cost, and buying it empties their pockets. Equivalently, in load-balancing form: every
voter carries a load (money spent so far); buying ``p`` sets the load of each of its supporters
to ``(cost(p) + Σ their loads) / number of supporters``, and each round buys the project whose
new maximal load is smallest (ties: the ``TieBreak``). The rule stops when that project would
exceed the budget. Ballots other than approval count every listed project as approved.
"""

from __future__ import annotations

from fractions import Fraction

from tally.model import Election, Number, Outcome, Round
from tally.registry import register
from tally.tiebreak import TieBreak

__all__ = ["sequential_phragmen"]


@register("seq-phragmen")
def sequential_phragmen(election: Election, tie_break: TieBreak) -> Outcome:
    """Sequential Phragmén: smallest new maximal load first, stop at the first overspend."""
    ids = [p.id for p in election.projects]
    index = {pid: i for i, pid in enumerate(ids)}
    cost = [p.cost for p in election.projects]
    groups: dict[frozenset[int], int] = {}
    for b in election.ballots:
        key = frozenset(index[pid] for pid in b.projects)
        if key:
            groups[key] = groups.get(key, 0) + b.weight
    members: list[list[int]] = [[] for _ in ids]
    weight = list(groups.values())
    ballots = [sorted(k) for k in groups]
    for g, projs in enumerate(ballots):
        for p in projs:
            members[p].append(g)
    support = [sum(weight[g] for g in members[p]) for p in range(len(ids))]
    load: list[Number] = [0] * len(ballots)
    load_sum: list[Number] = [0] * len(ids)  # Σ weight·load over each project's supporters
    key = tie_break.key_for(election)
    rank = {p: key(election.projects[p]) for p in range(len(ids))}
    open_ = {p for p in range(len(ids)) if support[p] > 0 and cost[p] <= election.budget}
    chosen: list[int] = []
    rounds: list[Round] = []
    spent: Number = 0
    while open_:
        best = min(open_, key=lambda p: (Fraction(cost[p] + load_sum[p], support[p]), rank[p]))
        new_load = Fraction(cost[best] + load_sum[best], support[best])
        if spent + cost[best] > election.budget:
            rounds.append(
                Round(
                    len(rounds) + 1,
                    "stopped",
                    ids[best],
                    "the next project (smallest new maximal load) does not fit in the budget",
                    {
                        "max_load": new_load,
                        "cost": cost[best],
                        "budget_left": election.budget - spent,
                    },
                )
            )
            break
        open_.discard(best)
        chosen.append(best)
        spent += cost[best]
        for g in members[best]:
            delta = (new_load - load[g]) * weight[g]
            load[g] = new_load
            for p in ballots[g]:
                load_sum[p] += delta
        rounds.append(
            Round(
                len(rounds) + 1,
                "selected",
                ids[best],
                "its supporters reach its cost with the smallest maximal load",
                {
                    "max_load": new_load,
                    "supporters": support[best],
                    "cost": cost[best],
                    "total_cost": spent,
                    "budget_left": election.budget - spent,
                },
            )
        )
    else:
        rounds.append(
            Round(len(rounds) + 1, "stopped", None, "every supported project that fits was bought")
        )
    return Outcome(
        rule="seq-phragmen",
        budget=election.budget,
        selected=tuple(ids[p] for p in chosen),
        total_cost=spent,
        rounds=tuple(rounds),
        params={},
        tie_break=str(tie_break),
    )
