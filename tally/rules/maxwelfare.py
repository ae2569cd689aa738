"""Utilitarian welfare maximisation: the feasible set of projects with the highest total score.

This is the 0/1 knapsack problem ("knapsack" / utilitarian PB, e.g. Goel et al., "Knapsack voting
for participatory budgeting", 2019; Talmon & Faliszewski, AAAI 2019), solved exactly. A project's
score is its number of approvals on approval ballots and its points otherwise (``tally.scoring``);
projects nobody scores are left out. Among optimal sets the tie-break decides: the set containing
the most preferred project wins, then the next, and so on (lexicographic in tie-break order),
which is folded into one exact integer objective ``score·2^m + Σ 2^(m-1-rank)``.

Algorithms: dynamic programming over cost (costs divided by their gcd) when ``capacity × projects``
is at most ``DP_LIMIT`` cells; otherwise depth-first branch and bound with the fractional-knapsack
bound. Branch and bound is exponential in the worst case; on real PB instances (up to a few hundred
projects, costs far apart) it finishes quickly, and ``node_limit`` turns a runaway search into a
``RuntimeError`` rather than an endless wait.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd

from tally.model import Election, Number, Outcome, Round
from tally.registry import register
from tally.scoring import scores
from tally.tiebreak import TieBreak

__all__ = ["DP_LIMIT", "max_welfare", "optimal_set"]

DP_LIMIT = 1_000_000
NODE_LIMIT = 20_000_000


def optimal_set(
    costs: list[Number], values: list[int], capacity: Number, node_limit: int = NODE_LIMIT
) -> list[int]:
    """Indices of the lexicographically-first optimal knapsack (items listed in preference order).

    ``values`` are non-negative integers; item ``i`` outranks item ``j`` when ``i < j``.
    """
    m = len(costs)
    # one integer objective: value first, then preference (bit m-1-i for item i)
    obj = [(values[i] << m) + (1 << (m - 1 - i)) for i in range(m)]
    scale = 1
    for c in [*costs, capacity]:
        if isinstance(c, Fraction):
            scale = scale * c.denominator // gcd(scale, c.denominator)
    ic = [int(c * scale) for c in costs]
    cap = int(capacity * scale)  # floor: no integer total cost exceeds it
    items = [i for i in range(m) if ic[i] <= cap]
    free = [i for i in items if ic[i] == 0]
    items = [i for i in items if ic[i] > 0]
    g = 0
    for i in items:
        g = gcd(g, ic[i])
    if items and (cap // g) * len(items) <= DP_LIMIT:
        chosen = _dp(items, [ic[i] // g for i in range(m)] if g else ic, obj, cap // g)
    else:
        chosen = _branch_and_bound(items, ic, obj, cap, node_limit)
    return sorted(free + chosen)


def _dp(items: list[int], cost: list[int], obj: list[int], cap: int) -> list[int]:
    """0/1 knapsack by dynamic programming over capacity, keeping choices for reconstruction."""
    best = [0] * (cap + 1)
    took: list[bytearray] = []
    for i in items:
        c, v = cost[i], obj[i]
        row = bytearray(cap + 1)
        for x in range(cap, c - 1, -1):
            cand = best[x - c] + v
            if cand > best[x]:
                best[x] = cand
                row[x] = 1
        took.append(row)
    chosen = []
    x = cap
    for k in range(len(items) - 1, -1, -1):
        if took[k][x]:
            chosen.append(items[k])
            x -= cost[items[k]]
    return chosen


def _branch_and_bound(
    items: list[int], cost: list[int], obj: list[int], cap: int, node_limit: int
) -> list[int]:
    """Depth-first branch and bound, items by decreasing objective per unit of cost."""
    order = sorted(items, key=lambda i: Fraction(obj[i], cost[i]), reverse=True)
    n = len(order)
    c = [cost[i] for i in order]
    v = [obj[i] for i in order]
    best_val = -1
    best_set: list[int] = []
    nodes = 0
    take = [False] * n

    def bound(k: int, room: int, val: int) -> Fraction | int:
        """Fractional-knapsack bound on what items k… can add."""
        total: Fraction | int = val
        for j in range(k, n):
            if c[j] <= room:
                room -= c[j]
                total += v[j]
            else:
                return total + Fraction(v[j] * room, c[j])
        return total

    def search(k: int, room: int, val: int) -> None:
        nonlocal best_val, best_set, nodes
        nodes += 1
        if nodes > node_limit:
            raise RuntimeError("max-welfare: branch and bound exceeded its node limit")
        if k == n:
            if val > best_val:
                best_val = val
                best_set = [order[j] for j in range(n) if take[j]]
            return
        if bound(k, room, val) <= best_val:
            return
        if c[k] <= room:
            take[k] = True
            search(k + 1, room - c[k], val + v[k])
            take[k] = False
        search(k + 1, room, val)

    search(0, cap, 0)
    return best_set


@register("max-welfare")
def max_welfare(election: Election, tie_break: TieBreak) -> Outcome:
    """The feasible set with the highest total score (exact), ties by the tie-break order."""
    score = scores(election)
    denom = 1
    for x in score.values():
        if isinstance(x, Fraction):
            denom = denom * x.denominator // gcd(denom, x.denominator)
    ranked = sorted(election.projects, key=tie_break.key_for(election))
    wanted = [p for p in ranked if score[p.id] > 0]
    values = [int(score[p.id] * denom) for p in wanted]
    chosen = optimal_set([p.cost for p in wanted], values, election.budget)
    selected = [wanted[i] for i in chosen]
    total: Number = sum((p.cost for p in selected), 0)
    welfare = sum((score[p.id] for p in selected), 0)
    rounds = [
        Round(
            i + 1,
            "selected",
            p.id,
            "part of the feasible set with the highest total score",
            {"score": score[p.id], "cost": p.cost},
        )
        for i, p in enumerate(selected)
    ]
    rounds.append(
        Round(
            len(rounds) + 1,
            "stopped",
            None,
            "no feasible set has a higher total score",
            {"welfare": welfare, "total_cost": total, "budget_left": election.budget - total},
        )
    )
    return Outcome(
        rule="max-welfare",
        budget=election.budget,
        selected=tuple(p.id for p in selected),
        total_cost=total,
        rounds=tuple(rounds),
        params={},
        tie_break=str(tie_break),
    )
