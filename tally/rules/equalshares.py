"""Method of Equal Shares (MES) for participatory budgeting: exact, fast and explained.

The rule follows Peters & Skowron ("Proportionality and the limits of welfarism", EC 2020) and
Peters, Pierczyński & Skowron ("Proportional participatory budgeting with additive utilities",
NeurIPS 2021), as cities run it (equalshares.net): every voter starts with the same share ``b`` of
the budget; in each round, for every project ``p``, the smallest ``ρ`` is found such that its
supporters can pay its cost with each supporter ``i`` paying ``min(budget_i, ρ·u_i(p))``; the
project with the smallest ``ρ`` is bought (ties: the election's ``TieBreak``, officially lower
cost then more supporters) and its supporters pay; rounds go on until no project is affordable.

Rule ids: ``equalshares`` (``utility``: ``cost``, the default for approval ballots, where
``cost/max payment = 1/ρ`` is the "effective vote count"; ``cardinality``; ``score``, the ballot's
points, the default for other ballots), ``equalshares/add1`` (the completion cities use: per-voter
budget ``floor(B/n)``, raised one currency unit at a time, keeping the last outcome that fits the
budget) and the ``-comparison`` variants (greedy wins only if strictly more voters prefer it).

How it stays exact and fast (every decision is exact; figures in ``docs/benchmarks.md``):

* Voters who paid for the same projects hold the same money, so money is tracked per *budget
  class*. A project's supporters are counted per class when the project is evaluated, and a
  winner's supporters move to their new classes: an ``itemgetter`` per project reads their
  classes in one C call, ``Counter`` counts them at C speed, a plain loop writes them back (for
  ``score`` utilities the key ``class·nu + utility index`` is built with ``map``, and keys are
  ordered by the integer ``budget·lcm(values)/value`` rather than by fractions; for uniform
  utilities classes are sorted by the floats of their bounds, exact unless two distinct bounds
  share a float next to the poor/rich split, which is then sorted again exactly). Identical
  ballots are one group with a weight; groups cast at most four times are listed once per voter
  so that counting needs no weights. A class's exact budget is ``b - Σ payments`` along its
  history; every class also carries integer bounds ``L ≤ budget·2^K ≤ U``. Projects are compared
  with integer bounds on ``ρ``; exact rationals settle the winner's ``ρ`` (the poor supporters'
  money summed round by round over one common denominator) and any comparison the bounds leave
  open (ties).
* ``ρ`` of a project never decreases during a run (budgets only fall), so stale values are lower
  bounds and only projects that could beat the current candidate are re-evaluated.
* ``add1`` runs MES for a rising per-voter budget ``b``. While a run's decisions hold, every
  quantity in it is affine in ``b``, and each round records how far ``b`` may rise with its
  decisions proven unchanged (integer bounds on values and slopes): the winner stays ahead of
  every rival (a rival's ``ρ`` with its poor/rich split frozen is a lower bound of its true ``ρ``
  for every ``b``, since ``min(x, y) ≤ x, y``), the winner's poor supporters stay poor (rich ones
  stay rich for good: their money grows with ``b`` at least as fast as the payment), and dropped
  projects stay unaffordable or behind. Budgets below the run's bound give the same outcome and
  are skipped; the next run restores the state of the first round whose bound is exceeded
  (class budgets shifted along their slopes; supporters' classes by undoing the later moves, or
  redoing the earlier ones from scratch or from a copy kept at the previous restart, whichever
  touches fewer supporters) and replays from there. On large city files the decisions change
  at almost every unit step (measured on Warszawa 2026: the order of selection changes at every
  second step, mostly two near-tied projects swapping, and in 173 of 185 steps the first
  difference is not which project wins but which of its supporters pay all they have: a class
  lands just above the price instead of just below it), so such a proof rarely reaches the next
  unit and most of the saving comes from replaying only the later rounds; ``docs/benchmarks.md``
  has the figures.
* Until the last budget, add1 only needs to know *whether* an outcome fits, and a count stops
  as soon as that is proven: whatever MES buys later is affordable now (money only falls), so
  the projects bought plus every project still affordable bound the final total. The dearest
  projects are re-checked for affordability when that bound does not fit (a project found
  affordable only once the money spent since could have emptied its surplus). Such a count's
  proof covers its rounds and the unaffordable projects, so budgets below it are proven to fit
  as well; the chosen budget is counted again in full, with its explanations. With the
  exhaustive stop a count stops only once its outcome is also proven not exhaustive: a project
  it can no longer buy costs no more than what the bound leaves.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import compress, repeat
from math import lcm
from operator import add, itemgetter, mul
from typing import Any

from tally.model import Election, Number, Outcome, Round, VoteType
from tally.registry import RULES, register
from tally.tiebreak import TieBreak

__all__ = [
    "UTILITIES",
    "Profile",
    "Run",
    "add1",
    "compile_profile",
    "equal_shares",
    "mes_run",
    "prefers_counts",
]

UTILITIES = ("cost", "cardinality", "score")
COMPLETIONS = ("none", "greedy")
_K = 64  # fractional bits of the integer bounds on money
_SH = 64  # extra fractional bits of the bounds on ρ (ρ bounds carry _K + _SH bits)
_INF = 1 << 400  # "no limit" for the add1 skip bound
_ENDLESS = _INF >> 1  # a skip bound above this is "no limit" less the budget steps taken since
_LIGHT = 4  # ballots cast at most this many times are counted one by one


def _floor_k(x: Number, bits: int = _K) -> int:
    """floor(x·2^bits) for an int or Fraction."""
    if isinstance(x, int):
        return x << bits
    return (x.numerator << bits) // x.denominator


def _lam(f0: int, f1: int) -> int:
    """How far ``λ`` may grow with ``f0 + f1·λ > 0`` still proven (``f0``, ``f1`` lower bounds)."""
    if f0 <= 0:
        return 0
    if f1 >= 0:
        return _INF
    return f0 // -f1


def _gather(indices: Sequence[int]) -> Callable[[Sequence[int]], Sequence[int]]:
    """A C-speed ``lambda xs: [xs[i] for i in indices]`` (``itemgetter``, which returns a bare
    item instead of a tuple for one index)."""
    if len(indices) >= 2:
        return itemgetter(*indices)
    return lambda xs: [xs[i] for i in indices]


def _ceil_k(x: Number, bits: int = _K) -> int:
    """ceil(x·2^bits) for an int or Fraction."""
    if isinstance(x, int):
        return x << bits
    return -((-x.numerator << bits) // x.denominator)


def _split(
    order: list[int], h: dict[int, int], cl: list[int], C: int, P: int, R: int
) -> tuple[int, int, int]:
    """Walk classes by increasing money from ``P`` already paid and weight ``R`` left: the money
    of the poor (who cannot pay the price that the rest share), the weight left, and how many of
    ``order`` are poor."""
    j = 0
    for c in order:
        lv = cl[c]
        if C - P <= lv * R:
            break
        w = h[c]
        P += lv * w
        R -= w
        j += 1
    return P, R, j


# --------------------------------------------------------------------------- compiled profile


@dataclass(frozen=True)
class Profile:
    """An election compiled for MES with one utility: integer money, collapsed ballots.

    Money is scaled by ``scale`` (the lcm of cost denominators, 1 for integer costs) so every cost
    is an integer. ``uniform`` utilities (``cost``, ``cardinality``) are the same for every
    supporter of a project (``unit[p]``); ``score`` utilities are per ballot (``values``, indexed
    by ``group_util``). Groups are distinct ballots with their weights.
    """

    ids: tuple[str, ...]
    cost: tuple[int, ...]
    scale: int
    n: int
    uniform: bool
    unit: tuple[int, ...]
    values: tuple[int, ...]
    group_weight: tuple[int, ...]
    group_projects: tuple[tuple[int, ...], ...]
    group_util: tuple[tuple[int, ...], ...]
    members: tuple[tuple[int, ...], ...]
    member_util: tuple[tuple[int, ...], ...]
    supporters: tuple[int, ...]
    rank: tuple[int, ...]
    utility: str
    util_scale: int = 1
    max_ballot_cost: int = 0
    light: tuple[tuple[int, ...], ...] = ()
    heavy: tuple[tuple[tuple[int, int], ...], ...] = ()
    light_util: tuple[tuple[int, ...], ...] = ()  # score utility: aligned with ``light``
    heavy_util: tuple[tuple[int, ...], ...] = ()  # score utility: aligned with ``heavy``


def default_utility(election: Election) -> str:
    """``cost`` for approval and choose-1 ballots (equalshares.net), ``score`` for the others."""
    if election.vote_type in (VoteType.APPROVAL, VoteType.CHOOSE_ONE):
        return "cost"
    return "score"


def _ballot_scores(election: Election) -> Callable[[Any], tuple[Number, ...]]:
    """Points per listed project: the ballot's points, 1 each on approval ballots, and for
    rankings without points the rank points of ``tally.scoring`` (its default scheme)."""
    if election.vote_type == VoteType.ORDINAL:
        from tally.scoring import DEFAULT_ORDINAL, ballot_points

        declared = election.constraints.max_length or 0
        longest = max(declared, max((len(b.projects) for b in election.ballots), default=0))
        m = len(election.projects)
        return lambda b: ballot_points(b, DEFAULT_ORDINAL, longest, m)
    return lambda b: b.points if b.points else (1,) * len(b.projects)


def compile_profile(election: Election, tie_break: TieBreak, utility: str) -> Profile:
    """Collapse identical ballots and turn money and utilities into integers."""
    if utility not in UTILITIES:
        raise ValueError(f"unknown utility {utility!r}; known: {', '.join(UTILITIES)}")
    ids = tuple(p.id for p in election.projects)
    index = {pid: i for i, pid in enumerate(ids)}
    scale = 1
    for p in election.projects:
        if p.cost < 0:
            raise ValueError(f"project {p.id} has a negative cost")
        if isinstance(p.cost, Fraction):
            scale = lcm(scale, p.cost.denominator)
    cost = tuple(int(p.cost * scale) for p in election.projects)
    uniform = utility != "score"
    collapsed: dict[Any, int] = {}
    try:
        if uniform:
            for b in election.ballots:
                if b.points:
                    key: Any = frozenset(
                        index[pid] for pid, x in zip(b.projects, b.points, strict=True) if x > 0
                    )
                else:
                    key = frozenset(map(index.__getitem__, b.projects))
                if key:
                    collapsed[key] = collapsed.get(key, 0) + b.weight
        else:
            scores = _ballot_scores(election)
            for b in election.ballots:
                acc: dict[int, Number] = {}
                for pid, x in zip(b.projects, scores(b), strict=True):
                    acc[index[pid]] = acc.get(index[pid], 0) + x
                key = frozenset((q, x) for q, x in acc.items() if x > 0)
                if key:
                    collapsed[key] = collapsed.get(key, 0) + b.weight
    except KeyError as missing:
        raise ValueError(f"a ballot names unknown project {missing.args[0]!r}") from None
    collapsed = {tuple(sorted(k)): w for k, w in collapsed.items()}
    util_scale = 1
    if not uniform:
        for key in collapsed:
            for _, s in key:
                if isinstance(s, Fraction):
                    util_scale = lcm(util_scale, s.denominator)
    values: dict[int, int] = {}
    gw: list[int] = []
    gp: list[tuple[int, ...]] = []
    gu: list[tuple[int, ...]] = []
    m = len(ids)
    members: list[list[int]] = [[] for _ in range(m)]
    member_util: list[list[int]] = [[] for _ in range(m)]
    support = [0] * m
    max_ballot_cost = 0
    for g, (key, w) in enumerate(collapsed.items()):
        if uniform:
            projs = key
            uis: tuple[int, ...] = (0,) * len(key)
        else:
            projs = tuple(p for p, _ in key)
            uis = tuple(values.setdefault(int(s * util_scale), len(values)) for _, s in key)
        gw.append(w)
        gp.append(projs)
        gu.append(uis)
        ballot_cost = sum(map(cost.__getitem__, projs))
        if ballot_cost > max_ballot_cost:
            max_ballot_cost = ballot_cost
        for p in projs:
            members[p].append(g)
            support[p] += w
        if not uniform:
            for p, ui in zip(projs, uis, strict=True):
                member_util[p].append(ui)
    if utility == "cost":
        unit = cost
    else:
        unit = (1,) * m
    rank_by_id = tie_break.rank(election)
    # supporters of each project for counting per class: light groups repeated by weight (counted
    # at C speed by ``Counter``), heavy groups with their weight; for score utilities, each
    # entry's utility index alongside
    light: list[tuple[int, ...]] = []
    heavy: list[tuple[tuple[int, int], ...]] = []
    light_util: list[tuple[int, ...]] = []
    heavy_util: list[tuple[int, ...]] = []
    for p in range(m):
        lt: list[int] = []
        hv: list[tuple[int, int]] = []
        lu: list[int] = []
        hu: list[int] = []
        utils = member_util[p] if not uniform else (0,) * len(members[p])
        for g, ui in zip(members[p], utils, strict=True):
            w = gw[g]
            if w <= _LIGHT:
                lt.extend([g] * w)
                lu.extend([ui] * w)
            else:
                hv.append((g, w))
                hu.append(ui)
        light.append(tuple(lt))
        heavy.append(tuple(hv))
        if not uniform:
            light_util.append(tuple(lu))
            heavy_util.append(tuple(hu))
    return Profile(
        ids=ids,
        cost=cost,
        scale=scale,
        n=election.num_voters,
        uniform=uniform,
        unit=tuple(unit),
        values=tuple(sorted(values, key=values.__getitem__)),
        group_weight=tuple(gw),
        group_projects=tuple(gp),
        group_util=tuple(gu),
        members=tuple(tuple(x) for x in members),
        member_util=tuple(tuple(x) for x in member_util) if not uniform else (),
        supporters=tuple(support),
        rank=tuple(rank_by_id[i] for i in ids),
        utility=utility,
        util_scale=util_scale,
        max_ballot_cost=max_ballot_cost,
        light=tuple(light),
        heavy=tuple(heavy),
        light_util=tuple(light_util),
        heavy_util=tuple(heavy_util),
    )


# --------------------------------------------------------------------------- one run


@dataclass
class Run:
    """What one MES run at per-voter budget ``b`` (scaled money) decided.

    ``rho[t]`` is the exact ``ρ`` of round ``t`` (scaled money per scaled utility); ``skip`` is a
    proven lower bound (scaled money) on how far ``b`` may rise with the same outcome (``None``:
    not tracked; ``_INF``: never changes); ``details`` and ``probe`` are filled on request.
    """

    b: Number
    order: list[int] = field(default_factory=list)
    rho: list[Fraction] = field(default_factory=list)
    skip: int | None = None
    details: list[dict[str, Any]] = field(default_factory=list)
    probe: list[dict[str, Any]] = field(default_factory=list)
    bound: int | None = None  # set when the run stopped early: its total cost is at most this


class _Engine:
    """The state of one run; see the module docstring for the representation.

    Histogram keys are class ids for uniform utilities and ``class·nu + utility index`` for
    ``score``. ``lo/hi`` bound ``ρ·2^(K+SH)``; ``slo/shi`` bound its derivative in ``b``.
    """

    def __init__(
        self,
        prof: Profile,
        b: Number,
        track: bool,
        details: bool,
        probe: int | None,
        reuse: bool = False,
    ):
        self.prof = prof
        self.b = b
        self.track = track
        self.want_details = details
        self.probe_p = probe
        self.run = Run(b=b)
        m = len(prof.ids)
        self.nu = max(1, len(prof.values))
        top = lcm(*prof.values) if prof.values else 1
        self.mult = [top // v for v in prof.values]  # budget·mult orders like budget/value
        # classes: exact budget = b - Σ ρ_t·u along the parent chain; integer bounds at 2^K
        self.cpar: list[int] = [-1]
        self.cround: list[int] = [-1]
        self.cutil: list[int] = [0]
        self.cl: list[int] = [_floor_k(b)]
        self.cf: list[float] = [float(self.cl[0])]  # floats of ``cl`` (uniform utilities)
        self.cu: list[int] = [_ceil_k(b)]
        self.gl: list[int] = [1 << _K]  # bounds on d(budget)/db, tracking only
        self.gh: list[int] = [1 << _K]
        self.dmax = self.cu[0] - self.cl[0]  # no class bound interval is wider
        self.gmax = 1 << _K  # no class slope bound is larger in absolute value
        self.cls = [0] * len(prof.group_weight)  # everyone starts in class 0 (even with b = 0)
        self.alive = bytearray(1 if prof.supporters[p] > 0 else 0 for p in range(m))
        self.hcache: list[dict[int, int]] = [{}] * m
        # per project, built on first use: its counted supporters' and its members' classes
        self.gather_light: list[Callable[[Sequence[int]], Sequence[int]] | None] = [None] * m
        self.gather_members: list[Callable[[Sequence[int]], Sequence[int]] | None] = [None] * m
        self.hround = [-1] * m
        self.version = [0] * m
        self.evaluated = [-1] * m
        self.lo = [0] * m
        self.hi = [0] * m
        self.slo = [0] * m
        self.shi = [0] * m
        self.part: list[tuple[list[int], int, int]] = [([], 0, 0)] * m
        self.exact: list[Fraction | None] = [None] * m
        self.exact_round = [-1] * m
        self.coef: dict[int, tuple[int, dict[int, int], int]] = {}
        self.rho_exact: list[Fraction] = []
        self.rho_slope: list[Fraction] = []
        self.lam = _INF
        self.heap: list[tuple[int, int, int, int]] = []
        self.t = 0
        self.first = 0
        self.memo: dict[int, Number] = {}  # exact class budgets, when details are wanted
        self.kills: list[tuple[int, int, int, int]] = []  # (round, project, Λ, ρ lower bound)
        self.snaps: list[tuple] | None = [] if reuse else None
        # per round: the winner's members, their classes before, and after (uniform utilities: the
        # translation dict from old to new classes; score: a list aligned with the members)
        self.undo: list[tuple[Sequence[int], Sequence[int], Any]] = []
        # a copy of the classes at the start of a kept round (index into ``snaps``)
        self.base: tuple[int, list[int] | None] = (0, None)
        # add1: stop a run once its outcome provably fits this total (scaled money); per project,
        # (money spent, its supporters' surplus over its cost) when last found affordable
        self.cap: Number | None = None
        self.checked = [(0, 0)] * m
        # add1 with the exhaustive stop: a count may stop only once also proven not exhaustive
        self.need_not_exhaustive = False

    # ----- exact class budgets (rarely needed)

    def budget(self, c: int) -> Number:
        """Exact budget of class ``c``: ``b`` minus the payments along its history."""
        if self.want_details:
            memo = self.memo
            got = memo.get(c)
            if got is None:
                got = (
                    self.b
                    if c == 0
                    else self.budget(self.cpar[c])
                    - (self.rho_exact[self.cround[c]] * self.cutil[c])
                )
                memo[c] = got
            return got
        total: Number = self.b
        rho, cround, cutil, cpar = self.rho_exact, self.cround, self.cutil, self.cpar
        while c > 0:
            total -= rho[cround[c]] * cutil[c]
            c = cpar[c]
        return total

    def _entry(self, key: int, p: int) -> tuple[int, int]:
        """(class, utility) of a histogram key of project ``p``."""
        if self.prof.uniform:
            return key, self.prof.unit[p]
        c, ui = divmod(key, self.nu)
        return c, self.prof.values[ui]

    def _note(self, f0: int, f1: int) -> None:
        """Record the fact ``f(λ) = f0 + f1·λ > 0`` for ``λ`` from 0 (``f0`` a proven lower bound)."""
        lam = _lam(f0, f1)
        if lam < self.lam:
            self.lam = lam

    # ----- supporters per budget class, counted on demand

    def hist(self, p: int) -> dict[int, int]:
        """``{key: weight}`` of ``p``'s supporters who still hold money (cached per round)."""
        if self.hround[p] == self.t:
            return self.hcache[p]
        prof = self.prof
        cls = self.cls
        if prof.uniform:
            gather = self.gather_light[p]
            if gather is None:
                gather = self.gather_light[p] = _gather(prof.light[p])
            h: dict[int, int] = Counter(gather(cls))
            for g, w in prof.heavy[p]:
                c = cls[g]
                h[c] = h.get(c, 0) + w
            h.pop(-1, None)
        else:
            # key = class·nu + utility index; the broke (class -1) get keys -nu..-1
            nu = self.nu
            gather = self.gather_light[p]
            if gather is None:
                gather = self.gather_light[p] = _gather(prof.light[p])
            h = Counter(map(add, map(mul, gather(cls), repeat(nu)), prof.light_util[p]))
            for (g, w), ui in zip(prof.heavy[p], prof.heavy_util[p], strict=True):
                c = cls[g]
                if c >= 0:
                    key = c * nu + ui
                    h[key] = h.get(key, 0) + w
            for key in range(-nu, 0):
                h.pop(key, None)
        self.hcache[p] = h
        self.hround[p] = self.t
        return h

    def _order(self, p: int, h: dict[int, int]) -> list[int]:
        """Histogram keys by increasing threshold ``budget/utility`` (lower bounds)."""
        cl = self.cl
        nu, mult = self.nu, self.mult
        return sorted(h, key=lambda k: cl[k // nu] * mult[k % nu])

    # ----- evaluating a project with integer bounds

    def _split_uniform(self, h: dict[int, int], C: int, W: int) -> tuple:
        """``(order, P, R, j)``: classes with the poorest ``j`` first (lower bounds ``cl``), their
        money ``P`` and the weight ``R`` of the rest, exactly as a walk in order of ``cl``.

        Classes are sorted by the floats of their bounds, a faster sort with the same order up to
        float ties. The first ``j`` are then exactly the classes below the first rich one, unless
        that one ties a neighbour in float: then the order is redone exactly.
        """
        cl, cf = self.cl, self.cf
        order = sorted(h, key=cf.__getitem__)
        P, R, j = _split(order, h, cl, C, 0, W)
        if j < len(order):
            f = cf[order[j]]
            if (j and cf[order[j - 1]] == f) or (j + 1 < len(order) and cf[order[j + 1]] == f):
                order = sorted(h, key=cl.__getitem__)
                P, R, j = _split(order, h, cl, C, 0, W)
        return order, P, R, j

    def evaluate(self, p: int) -> None:
        """Bounds on ``ρ_p`` now; marks ``p`` dead if its supporters cannot afford it."""
        prof = self.prof
        h = self.hist(p)
        cl = self.cl
        C = prof.cost[p] << _K
        W = sum(h.values())
        if prof.uniform:
            u = prof.unit[p]
            if W and not self.part[p][1] and min(map(cl.__getitem__, h)) * W >= C:
                order: list[int] = []  # nobody is short of money: everyone pays C/W
                j, P, R = 0, 0, W
            else:
                order, P, R, j = self._split_uniform(h, C, W)
            ru = R * u
        else:
            nu, values = self.nu, prof.values
            order = self._order(p, h)
            P, R, j = 0, W, 0
            ru = sum(w * values[k % nu] for k, w in h.items())
            for k in order:
                lv, uv = cl[k // nu], values[k % nu]
                if (C - P) * uv <= lv * ru:
                    break
                w = h[k]
                P += lv * w
                ru -= uv * w
                R -= w
                j += 1
        slack = self.dmax * W
        if R == 0:
            # unaffordable with the lower bounds; settle exactly when the bounds do not decide
            if P + slack >= C and self.exact_money(p) >= prof.cost[p]:
                self.settle(p)
                return
            self.kill(p, P + slack, h)
            return
        a_hi = -((P - C) // ru)  # ceil((C - P)/ru): ρ at 2^K
        a_lo = max(0, (C - P - slack) // ru)
        self.version[p] += 1
        self.evaluated[p] = self.t
        self.lo[p] = lo = a_lo << _SH
        self.hi[p] = a_hi << _SH
        self.part[p] = (order, j, ru)
        if self.track and self.lam > 0:
            self.slopes(p, h, order, j, ru)
        heapq.heappush(self.heap, (lo, prof.rank[p], p, self.version[p]))

    def slopes(self, p: int, h: dict[int, int], order: list[int], j: int, ru: int) -> None:
        """Bounds on the slope in ``b`` of ``ρ_p`` with this partition kept fixed.

        With the poor/rich partition frozen, ``ρ`` is an affine function of ``b`` and a lower bound
        of the true ``ρ`` for every ``b`` (``min(x, y) ≤ x`` and ``≤ y``), so it needs no facts.
        """
        gl, gh = self.gl, self.gh
        nu = self.nu
        s_lo = s_hi = 0
        for k in order[:j]:
            w = h[k]
            c = k // nu
            s_lo += w * gl[c]
            s_hi += w * gh[c]
        # ρ' = -(Σ_poor w·γ)/(Σ_rich w·u), at 2^K, then at the ρ scale
        self.slo[p] = (-s_hi << _SH) // ru
        self.shi[p] = -((s_lo << _SH) // ru)

    def kill(self, p: int, money_hi: int, h: dict[int, int]) -> None:
        """``p`` can never be bought in this run (budgets only fall).

        Two facts keep it out at a higher ``b``: its supporters still cannot afford it, or its
        ``ρ`` stays above the winner's; ``ρ ≥ cost/Σ(weight·utility)`` whatever the budgets.
        """
        self.alive[p] = 0
        self.version[p] += 1
        if self.track and self.lam > 0:
            nu, prof = self.nu, self.prof
            s_hi = sum(w * self.gh[k // nu] for k, w in h.items())
            lam = _lam((prof.cost[p] << _K) - money_hi, -s_hi)
            if prof.uniform:
                ru = sum(h.values()) * prof.unit[p]
            else:
                ru = sum(w * prof.values[k % nu] for k, w in h.items())
            bound = ((prof.cost[p] << (_K + _SH)) // ru) if ru else _INF
            self.kills.append((self.t, p, lam, bound))

    def exact_money(self, p: int) -> Number:
        """Exact money the supporters of ``p`` hold."""
        total: Number = 0
        for key, w in self.hist(p).items():
            c, _ = self._entry(key, p)
            total += w * self.budget(c)
        return total

    def settle(self, p: int) -> None:
        """Evaluate ``p`` exactly (when integer bounds cannot decide affordability)."""
        rho = self.exact_rho(p, fresh=True)
        if rho is None:
            self.alive[p] = 0
            self.version[p] += 1
            self.lam = 0
            return
        self.version[p] += 1
        self.evaluated[p] = self.t
        self.lo[p] = _floor_k(rho, _K + _SH)
        self.hi[p] = _ceil_k(rho, _K + _SH)
        self.lam = 0
        heapq.heappush(self.heap, (self.lo[p], self.prof.rank[p], p, self.version[p]))

    # ----- exact ρ

    def exact_rho(self, p: int, fresh: bool = False) -> Fraction | None:
        """Exact ``ρ_p`` now (``None``: unaffordable); cached per round.

        The partition into poor and rich supporters comes from this round's evaluation, ``ρ``
        is computed exactly from it (poor money summed along class histories), and the partition
        is then checked exactly; a failed check falls back to an exact scan.
        """
        if self.exact_round[p] == self.t:
            return self.exact[p]
        rho = None
        if not fresh and self.evaluated[p] == self.t:
            rho = self._from_partition(p)
        if rho is None:
            rho = self._exact_scan(p)
        self.exact[p] = rho
        self.exact_round[p] = self.t
        return rho

    def _from_partition(self, p: int) -> Fraction | None:
        order, j, ru = self.part[p]
        h = self.hist(p)
        nu = self.nu
        prof = self.prof
        poor = order[:j]
        if prof.uniform:
            rho = self._rho_from(p, list(zip(poor, map(h.__getitem__, poor), strict=True)), ru)
        else:
            rho = self._rho_from(p, [(k // nu, h[k]) for k in poor], ru)
        cl, cu, dmax = self.cl, self.cu, self.dmax
        if prof.uniform:
            amount = rho * prof.unit[p]
            pf, pc = _floor_k(amount), _ceil_k(amount)
            # ``order`` is sorted only up to float ties: filter rather than stop at a bound
            low = pf - dmax
            for c in [c for c in poor if cl[c] > low]:  # poor: budget ≤ payment
                if cu[c] > pf and self.budget(c) > amount:
                    return None
            rich: list[int] = order[j:] if order else list(h)
            for c in [c for c in rich if cl[c] < pc]:  # rich: budget ≥ payment
                if self.budget(c) < amount:
                    return None
            return rho
        values = prof.values
        for i, k in enumerate(order):
            c, uv = k // nu, values[k % nu]
            amount = rho * uv
            if i < j:
                if cu[c] > _floor_k(amount) and self.budget(c) > amount:
                    return None
            elif cl[c] < _ceil_k(amount) and self.budget(c) < amount:
                return None
        return rho

    def _paid(self, classes: Sequence[tuple[int, int]]) -> tuple[int, dict[int, int]]:
        """Total weight of ``(class, weight)`` pairs, and ``{round: Σ weight·utility}`` over the
        payments along their histories (their money is ``total·b - Σ coef[t]·ρ_t``)."""
        coef: dict[int, int] = {}
        total = 0
        cpar, cround, cutil = self.cpar, self.cround, self.cutil
        for c, w in classes:
            total += w
            while c > 0:
                t = cround[c]
                coef[t] = coef.get(t, 0) + w * cutil[c]
                c = cpar[c]
        return total, coef

    def _rho_from(self, p: int, poor: Sequence[tuple[int, int]], ru: int) -> Fraction:
        """``ρ = (cost - money of the poor)/(Σ rich weight·utility)``; poor money summed by round."""
        wp, coef = self._paid(poor)
        self.coef[p] = (wp, coef, ru)
        # cost - (wp·b - Σ k·ρ_t), over one common denominator
        b = Fraction(self.b)
        rho = self.rho_exact
        den = lcm(b.denominator, *(rho[t].denominator for t in coef))
        num = self.prof.cost[p] * den - wp * b.numerator * (den // b.denominator)
        for t, k in coef.items():
            r = rho[t]
            num += k * r.numerator * (den // r.denominator)
        return Fraction(num, den * ru)

    def _exact_scan(self, p: int) -> Fraction | None:
        """Reference computation of ``ρ_p`` from exact budgets (slow; rarely reached)."""
        ents = []
        for key, w in self.hist(p).items():
            c, uv = self._entry(key, p)
            ents.append((Fraction(self.budget(c)) / uv, c, uv, w))
        ents.sort()
        P: Number = 0
        ru = sum(uv * w for _, _, uv, w in ents)
        for i, (thr, _, uv, w) in enumerate(ents):
            if Fraction(self.prof.cost[p] - P, ru) <= thr:
                return self._rho_from(p, [(c, ww) for _, c, _, ww in ents[:i]], ru)
            P += thr * uv * w
            ru -= uv * w
        return None

    def exact_slope(self, q: int) -> Fraction:
        """Exact derivative of ``ρ_q`` in ``b``: ``-(Σ_poor weight·slope)/(Σ rich weight·utility)``."""
        wp, coef, ru = self.coef[q]
        slope = self.rho_slope
        den = lcm(1, *(slope[t].denominator for t in coef))
        num = -wp * den
        for t, k in coef.items():
            r = slope[t]
            num += k * r.numerator * (den // r.denominator)
        return Fraction(num, den * ru)

    # ----- a round

    def select(self) -> int | None:
        """The winner of the current round (exact, with the tie-break), or ``None``."""
        heap = self.heap
        t = self.t
        version, evaluated, hi = self.version, self.evaluated, self.hi
        pop, push = heapq.heappop, heapq.heappush
        while heap:
            _, _, p, ver = heap[0]
            if ver != version[p]:
                pop(heap)
            elif evaluated[p] != t:
                pop(heap)
                self.evaluate(p)
            else:
                break
        if not heap:
            return None
        bound = hi[heap[0][2]]
        contenders: list[tuple[int, int, int, int]] = []
        while heap and heap[0][0] <= bound:
            item = pop(heap)
            p = item[2]
            if item[3] != version[p]:
                continue
            if evaluated[p] != t:
                self.evaluate(p)
                continue
            contenders.append(item)
            if hi[p] < bound:
                bound = hi[p]
        close = [it for it in contenders if it[0] <= bound]
        if len(close) == 1:
            winner = close[0][2]
        else:  # bounds overlap: compare exactly, then by the tie-break
            winner = min(close, key=lambda it: (self.exact_rho(it[2]), it[1]))[2]
        for it in contenders:
            if it[2] != winner:
                push(heap, it)
        return winner

    def record_rivals(self, q: int) -> None:
        """Facts: every other project stays behind the winner (ρ, then tie-break), and every
        killed project stays unaffordable or behind the winner."""
        rank = self.prof.rank
        eq = self.exact_rho(q)
        assert eq is not None
        hq = _ceil_k(eq, _K + _SH)
        sq = _ceil_k(self.exact_slope(q), _K + _SH)
        lo, slo, alive = self.lo, self.slo, self.alive
        note = self._note
        for p in range(len(alive)):
            if not alive[p] or p == q:
                continue
            f0 = lo[p] - hq
            f1 = slo[p] - sq
            if f0 <= 0 and self.exact_round[p] == self.t:
                ep = self.exact[p]
                if ep is not None and ep == eq and rank[p] > rank[q] and f1 >= 0:
                    continue  # an exact tie that stays broken the same way
                if ep is not None and ep > eq:
                    f0 = _floor_k(ep - eq, _K + _SH)
            note(f0, f1)
            if self.lam == 0:
                return
        for _, _, lam_kill, bound in self.kills:
            lam = max(lam_kill, _lam(bound - hq, -sq))
            if lam < self.lam:
                self.lam = lam
                if lam == 0:
                    return

    def pay(self, q: int) -> None:
        """Buy ``q``: supporters pay ``min(budget, ρ·u)``, their classes split."""
        prof = self.prof
        rho = self.exact_rho(q)
        assert rho is not None
        self.alive[q] = 0
        self.version[q] += 1
        h = self.hist(q)
        tracking = self.track and self.lam > 0
        self.rho_exact.append(rho)
        self.rho_slope.append(self.exact_slope(q) if tracking else Fraction(0))
        if self.want_details:
            self.details_for(q, rho, h)
        if prof.uniform:
            self._pay_uniform(q, rho, h, tracking)
        else:
            self._pay_general(q, rho, h, tracking)

    def _pay_uniform(self, q: int, rho: Fraction, h: dict[int, int], tracking: bool) -> None:
        t = self.t
        u = self.prof.unit[q]
        cl, cu, gl, gh = self.cl, self.cu, self.gl, self.gh
        amount = rho * u
        pf, pc = _floor_k(amount), _ceil_k(amount)
        keys = list(h)
        rich = [c for c in keys if cl[c] > pc]
        if len(rich) < len(keys):
            unsure = [c for c in keys if pc >= cl[c] and cu[c] > pf]
            rich += [c for c in unsure if self.budget(c) > amount]
            if tracking:
                # poor supporters (paying their whole budget) must stay poor; rich ones stay
                # rich for good: their budgets grow with b at least as fast as the payment
                dl = _floor_k(self.rho_slope[t] * u)
                fm = self.gmax - dl
                richset = set(rich)
                for c in keys:
                    if c not in richset:
                        f0 = pf - cu[c]
                        if f0 < self.lam * fm:
                            self._note(f0, dl - gh[c])
        base = len(cl)
        cl.extend([cl[c] - pc for c in rich])
        self.cf.extend(map(float, cl[base:]))
        cu.extend([cu[c] - pf for c in rich])
        self.dmax += pc - pf
        self.cpar.extend(rich)
        self.cround.extend([t] * len(rich))
        self.cutil.extend([u] * len(rich))
        if tracking:
            sl = self.rho_slope[t] * u
            sf, sc = _floor_k(sl), _ceil_k(sl)
            gl.extend([gl[c] - sc for c in rich])
            gh.extend([gh[c] - sf for c in rich])
            self.gmax += max(-sf, sc, 0)
        else:
            gl.extend([0] * len(rich))
            gh.extend([0] * len(rich))
        trans = dict.fromkeys(keys, -1)
        trans.update(zip(rich, range(base, base + len(rich)), strict=True))
        trans[-1] = -1
        cls = self.cls
        members = self.prof.members[q]
        gather = self.gather_members[q]
        if gather is None:
            gather = self.gather_members[q] = _gather(members)
        olds = gather(cls)
        # a plain loop stores faster than map(cls.__setitem__)
        for g, c in zip(members, olds, strict=True):
            cls[g] = trans[c]
        if self.snaps is not None:
            self.undo.append((members, olds, trans))

    def _pay_general(self, q: int, rho: Fraction, h: dict[int, int], tracking: bool) -> None:
        t = self.t
        prof = self.prof
        nu, values = self.nu, prof.values
        cl, cu, gl, gh = self.cl, self.cu, self.gl, self.gh
        trans: dict[int, int] = dict.fromkeys(range(-nu, 0), -1)  # the broke stay broke
        pays: dict[int, tuple[Fraction, int, int]] = {}
        for key in h:
            c, ui = divmod(key, nu)
            uv = values[ui]
            got = pays.get(ui)
            if got is None:
                amount = rho * uv
                got = pays[ui] = (amount, _floor_k(amount), _ceil_k(amount))
            amount, pf, pc = got
            if not (cl[c] > pc or (cu[c] > pf and self.budget(c) > amount)):
                trans[key] = -1
                if tracking:
                    self._note(pf - cu[c], _floor_k(self.rho_slope[t] * uv) - gh[c])
            else:
                trans[key] = len(cl)
                self.cpar.append(c)
                self.cround.append(t)
                self.cutil.append(uv)
                cl.append(cl[c] - pc)
                cu.append(cu[c] - pf)
                self.dmax = max(self.dmax, cu[-1] - cl[-1])
                if tracking:
                    sl = self.rho_slope[t] * uv
                    sf, sc = _floor_k(sl), _ceil_k(sl)
                    gl.append(gl[c] - sc)
                    gh.append(gh[c] - sf)
                    self.gmax = max(self.gmax, -gl[-1], gh[-1])
                else:
                    gl.append(0)
                    gh.append(0)
        cls = self.cls
        members = prof.members[q]
        gather = self.gather_members[q]
        if gather is None:
            gather = self.gather_members[q] = _gather(members)
        olds = gather(cls)
        keys = map(add, map(mul, olds, repeat(nu)), prof.member_util[q])
        news = list(map(trans.__getitem__, keys))
        for g, c in zip(members, news, strict=True):
            cls[g] = c
        if self.snaps is not None:
            self.undo.append((members, olds, news))

    def details_for(self, q: int, rho: Fraction, h: dict[int, int]) -> None:
        """Round figures for explanations: payments grouped by amount, supporters' money.

        Rich supporters all pay ``ρ·u``; only the poor ones need their exact budgets. The total
        money is summed round by round along class histories, like the winner's price.
        """
        s = self.prof.scale
        cl = self.cl
        paid: dict[Fraction, int] = {}
        caps: dict[int, tuple[Fraction, int]] = {}
        rich: dict[int, int] = {}
        exhausted = 0
        everyone: list[tuple[int, int]] = []
        for key, w in h.items():
            c, uv = self._entry(key, q)
            everyone.append((c, w))
            got = caps.get(uv)
            if got is None:
                cap = rho * uv
                got = caps[uv] = (cap, _ceil_k(cap))
            cap, pc = got
            if cl[c] > pc:
                rich[uv] = rich.get(uv, 0) + w
                continue
            bud = self.budget(c)
            if bud <= cap:
                exhausted += w
            amount = Fraction(min(bud, cap)) / s
            paid[amount] = paid.get(amount, 0) + w
        for uv, w in rich.items():
            amount = caps[uv][0] / s
            paid[amount] = paid.get(amount, 0) + w
        money = self._money(everyone)
        self.run.details.append(
            {
                "rho": rho,
                "paid": paid,
                "paying": sum(h.values()),
                "exhausted": exhausted,
                "money": money / s,
            }
        )

    def _money(self, classes: list[tuple[int, int]]) -> Fraction:
        """Exact ``Σ weight·budget`` over ``(class, weight)`` pairs, summed round by round."""
        total_w, coef = self._paid(classes)
        b = Fraction(self.b)
        rho = self.rho_exact
        den = lcm(b.denominator, *(rho[t].denominator for t in coef))
        num = total_w * b.numerator * (den // b.denominator)
        for t, k in coef.items():
            r = rho[t]
            num -= k * r.numerator * (den // r.denominator)
        return Fraction(num, den)

    def probe_round(self) -> None:
        """Record the probed project's exact ρ and its supporters' money this round."""
        p = self.probe_p
        assert p is not None
        if not self.alive[p]:
            return
        money = self.exact_money(p)
        rho = self.exact_rho(p, fresh=True)
        self.exact_round[p] = -1  # do not let the probe's scan stand in for an evaluation
        self.run.probe.append(
            {"round": self.t, "rho": rho, "money": Fraction(money) / self.prof.scale}
        )

    def go(self) -> Run:
        """Run MES from the start."""
        prof = self.prof
        m = len(self.alive)
        # zero-cost projects with supporters come first, in tie-break order (no money moves)
        free = sorted((prof.rank[p], p) for p in range(m) if self.alive[p] and prof.cost[p] == 0)
        for _, p in free:
            self.alive[p] = 0
            self.run.order.append(p)
            self.rho_exact.append(Fraction(0))
            self.rho_slope.append(Fraction(0))
            self.run.rho.append(Fraction(0))
            if self.want_details:
                self.run.details.append({"rho": Fraction(0), "paid": {}, "free": True})
            self.t += 1
        self.first = self.t
        self.heap = [(0, prof.rank[p], p, 0) for p in range(m) if self.alive[p]]
        heapq.heapify(self.heap)
        return self.rounds()

    def fit_bound(self) -> int:
        """An upper bound on this run's final total cost (scaled money), as of this round.

        Whatever is bought from now on is affordable now (money only falls), so the total is at
        most what was bought plus every project still alive. When that does not fit ``cap``, the
        dearest alive projects are evaluated (which drops those their supporters can no longer
        afford) until it fits or cannot; a project found affordable is checked again only once
        the money spent since could have brought its supporters below its cost.
        """
        cap, alive, cost = self.cap, self.alive, self.prof.cost
        assert cap is not None
        spent = sum(map(cost.__getitem__, self.run.order))
        bound = spent + sum(compress(cost, alive))
        if bound <= cap:
            return bound
        t, evaluated, checked = self.t, self.evaluated, self.checked
        candidates = sorted(
            (
                p
                for p in range(len(alive))
                if alive[p] and evaluated[p] != t and spent - checked[p][0] >= checked[p][1]
            ),
            key=cost.__getitem__,
            reverse=True,
        )
        left = sum(map(cost.__getitem__, candidates))
        cl, nu = self.cl, self.nu
        for p in candidates:
            if bound - left > cap:
                break  # even if every one left were unaffordable, it would not fit
            left -= cost[p]
            self.evaluate(p)
            if not alive[p]:
                bound -= cost[p]
                if bound <= cap:
                    break
                continue
            h = self.hcache[p]
            if self.prof.uniform:
                money = sum(map(mul, h.values(), map(cl.__getitem__, h)))
            else:
                money = sum(w * cl[k // nu] for k, w in h.items())
            checked[p] = (spent, (money >> _K) - cost[p])
        return bound

    def not_exhaustive(self, bound: int) -> bool:
        """Whether a supported project this run can no longer buy (its supporters cannot afford
        it) costs at most what is left under ``bound``: then the final outcome is not exhaustive."""
        assert self.cap is not None
        left = self.cap - bound
        cost, alive, supporters = self.prof.cost, self.alive, self.prof.supporters
        bought = set(self.run.order)
        return any(
            cost[p] <= left and supporters[p] > 0 and not alive[p] and p not in bought
            for p in range(len(alive))
        )

    def rounds(self) -> Run:
        """Play rounds until no project is affordable."""
        snaps = self.snaps
        cap = self.cap
        while True:
            if snaps is not None:
                self.snapshot()
            if self.probe_p is not None:
                self.probe_round()
            if cap is not None:
                bound = self.fit_bound()
                if bound <= cap and (not self.need_not_exhaustive or self.not_exhaustive(bound)):
                    self.run.bound = bound  # add1 needs only to know that it fits
                    break
            q = self.select()
            if q is None:
                break
            if self.track and self.lam > 0:
                self.record_rivals(q)
            self.pay(q)
            self.run.order.append(q)
            self.run.rho.append(self.rho_exact[-1])
            self.t += 1
        if self.track:
            for _, _, lam, _ in self.kills:  # at the end, killed projects must stay unaffordable
                self.lam = min(self.lam, lam)
            self.run.skip = self.lam
        return self.run

    # ----- reusing a run for a higher per-voter budget (add1)

    def snapshot(self) -> None:
        """What a later run needs to restart at this round (the undo log of ``cls`` is in
        ``self.undo``)."""
        assert self.snaps is not None
        self.snaps.append(
            (
                len(self.cl),
                self.gmax,
                self.lam,
                bytearray(self.alive),
                self.lo[:],
                self.slo[:],
                self.hi[:],
                self.shi[:],
            )
        )

    def _redo(self, moves: Sequence[tuple[Sequence[int], Sequence[int], Any]]) -> None:
        """Replay logged class moves (uniform: a translation of old classes; score: new keys)."""
        cls = self.cls
        for members, olds, news in moves:
            if isinstance(news, dict):
                for g, c in zip(members, olds, strict=True):
                    cls[g] = news[c]
            else:
                for g, c in zip(members, news, strict=True):
                    cls[g] = c

    def advance(self, delta: int) -> Run:
        """The run at ``b + delta``: rounds whose facts still hold at ``delta`` are kept, the
        state is rolled back to the first round that may differ, and play resumes there."""
        assert self.snaps is not None and delta > 0
        lams = [snap[2] for snap in self.snaps] + [self.lam]
        # keep round t when every fact up to and including round t holds at delta
        keep = 0
        while keep + 2 < len(lams) and lams[keep + 1] > delta:
            keep += 1
        start = self.first + keep
        ncls, gmax, lam, alive, lo, slo, hi, shi = self.snaps[keep]
        # classes as they were at the start of the kept round: undo the later moves, latest
        # first, or redo the earlier ones from scratch, whichever touches fewer supporters
        later = sum(len(moves[0]) for moves in self.undo[keep:])
        earlier = sum(len(moves[0]) for moves in self.undo[:keep])
        copy_cost = len(self.cls) // 8
        base_keep, base_cls = self.base
        if base_cls is not None and base_keep <= keep:
            from_base = copy_cost + sum(len(moves[0]) for moves in self.undo[base_keep:keep])
        else:
            from_base = _INF
        if from_base < min(later, earlier + copy_cost):
            cls = self.cls = base_cls[:]
            self._redo(self.undo[base_keep:keep])
        elif earlier + copy_cost < later:
            cls = self.cls = [0] * len(self.cls)
            self._redo(self.undo[:keep])
        else:
            cls = self.cls
            for members, olds, _ in reversed(self.undo[keep:]):
                for g, c in zip(members, olds, strict=True):
                    cls[g] = c
        # the classes at the kept round: most later replays restart at or after it
        if base_cls is None or keep != base_keep:
            self.base = (keep, cls[:])
        del self.undo[keep:]
        del self.snaps[keep + 1 :]
        self.snaps.pop()
        for arr in (self.cpar, self.cround, self.cutil, self.cl, self.cu, self.gl, self.gh):
            del arr[ncls:]
        # budgets move with their slopes: bounds shift by slope bounds times delta
        self.cl[:] = [x + y * delta for x, y in zip(self.cl, self.gl, strict=True)]
        self.cf = list(map(float, self.cl)) if self.prof.uniform else []
        self.cu[:] = [x + y * delta for x, y in zip(self.cu, self.gh, strict=True)]
        self.dmax = max(map(int.__sub__, self.cu, self.cl))
        self.gmax = gmax
        del self.rho_exact[start:]
        del self.rho_slope[start:]
        self.rho_exact[:] = [
            r + d * delta for r, d in zip(self.rho_exact, self.rho_slope, strict=True)
        ]
        self.b = self.b + delta
        self.alive = bytearray(alive)
        m = len(self.alive)
        self.lo = [lo[p] + slo[p] * delta for p in range(m)]
        self.hi = [hi[p] + shi[p] * delta for p in range(m)]
        self.slo, self.shi = slo[:], shi[:]
        self.version = [v + 1 for v in self.version]
        self.evaluated = [-1] * m
        # supporters counted in the first replayed round are still right (same classes, same ids)
        self.hround = [r if r == start else -1 for r in self.hround]
        self.exact_round = [-1] * m
        self.coef = {}
        self.lam = lam - delta
        kills = []
        for t, p, k, bd in self.kills:
            if t >= start:
                continue
            if k > delta:
                kills.append((t, p, k - delta, bd))
            else:  # may be affordable now: alive again, behind its lower bound, from then on
                self.alive[p] = 1
                self.lo[p], self.slo[p] = bd, 0
                for i in range(t + 1 - self.first, len(self.snaps)):
                    snap = self.snaps[i]
                    snap[3][p] = 1
                    snap[4][p] = bd
                    snap[5][p] = 0
        self.kills = kills
        # kept snapshots now describe the run at b + delta
        for i, (nc, gm, lm, al, slo_, shi_, lo_, hi_) in enumerate(
            (sn[0], sn[1], sn[2], sn[3], sn[5], sn[7], sn[4], sn[6]) for sn in self.snaps
        ):
            self.snaps[i] = (
                nc,
                gm,
                lm - delta,
                al,
                [a + b * delta for a, b in zip(lo_, slo_, strict=True)],
                slo_,
                [a + b * delta for a, b in zip(hi_, shi_, strict=True)],
                shi_,
            )
        self.t = start
        rank = self.prof.rank
        self.heap = [(self.lo[p], rank[p], p, self.version[p]) for p in range(m) if self.alive[p]]
        heapq.heapify(self.heap)
        old = self.run
        self.run = Run(b=self.b, order=old.order[:start], rho=self.rho_exact[:start])
        return self.rounds()


def mes_run(
    prof: Profile,
    b: Number,
    *,
    track: bool = False,
    details: bool = False,
    probe: int | None = None,
) -> Run:
    """One MES run with per-voter budget ``b`` (in scaled money units)."""
    return _Engine(prof, b, track, details, probe).go()


# --------------------------------------------------------------------------- add1 completion


@dataclass
class Add1Result:
    """The add1 search: the chosen run (``None`` if even ``floor(B/n)`` gives nothing) and the
    per-voter budgets tried as ``(budget, total cost, fits, skipped to, exact)`` in scaled money;
    ``exact`` is false where the count stopped once it was proven to fit, and the cost is then an
    upper bound."""

    run: Run
    trials: list[tuple[Number, int, bool, Number | None, bool]]
    stop: str
    b: Number = 0  # the last per-voter budget whose outcome fits (scaled money)


def _is_exhaustive(prof: Profile, order: Sequence[int], budget: Number) -> bool:
    """No supported, unselected project fits the money left (MES can fund no other project)."""
    chosen = set(order)
    left = budget - sum(prof.cost[p] for p in chosen)
    return not any(
        prof.supporters[p] > 0 and p not in chosen and prof.cost[p] <= left
        for p in range(len(prof.ids))
    )


def add1(prof: Profile, budget: Number, stop_when_exhaustive: bool = False) -> Add1Result:
    """The add1 completion (equalshares.net): per-voter budget ``floor(B/n)``, then one currency
    unit more at a time; keep the last outcome that fits ``B``, stop at the first that does not.

    Budgets whose outcome is proven equal to the current one are skipped (``Run.skip``), and each
    new run replays only the rounds that may differ. Beyond a per-voter budget that covers every
    ballot's whole cost nobody ever runs short of money, so the outcome no longer changes.

    Until the last budget only *whether* an outcome fits matters (with the exhaustive stop: and
    whether it is exhaustive), so a count stops as soon as it is proven to fit
    (``_Engine.fit_bound``) and, with the exhaustive stop, proven not exhaustive (a project it
    can no longer buy fits in what is left: ``_Engine.not_exhaustive``); the caller counts the
    chosen budget again in full.
    """
    s = prof.scale
    cap = budget * s  # in scaled money
    if prof.n == 0:
        return Add1Result(Run(b=0), [], "no voters")
    b = (Fraction(budget) // prof.n) * s  # floor(B/n) currency units, scaled
    engine = _Engine(prof, b, track=True, details=False, probe=None, reuse=True)
    engine.cap = cap  # only whether an outcome fits (and is exhaustive) matters until the last
    engine.need_not_exhaustive = stop_when_exhaustive
    run = engine.go()
    trials: list[tuple[Number, int, bool, Number | None, bool]] = []
    best: Run | None = None
    stop = ""
    while True:
        exact = run.bound is None
        cost = sum(prof.cost[p] for p in run.order) if exact else run.bound
        fits = cost <= cap
        if not fits:
            trials.append((b, cost, False, None, exact))
            stop = "over budget"
            last = b - s  # every budget since the previous trial is proven to fit
            break
        best = run
        last = b
        if stop_when_exhaustive and exact and _is_exhaustive(prof, run.order, cap):
            trials.append((b, cost, True, None, exact))
            stop = "exhaustive"
            break
        skip = run.skip if run.skip is not None else 0
        if not exact and skip >= _ENDLESS:
            # proven to fit for good, not proven unchanged: the outcome settles at the budget
            # that covers every ballot's cost
            skip = max(s, prof.max_ballot_cost - b)
        if skip >= _ENDLESS or b >= prof.max_ballot_cost:
            trials.append((b, cost, True, None, exact))
            stop = "outcome can no longer change"
            break
        step = max(1, -(-skip // s)) * s
        trials.append((b, cost, True, b + step, exact))
        b += step
        run = engine.advance(step)
    assert best is not None  # floor(B/n)·n ≤ B always fits
    return Add1Result(best, trials, stop, last)


# --------------------------------------------------------------------------- outcomes


def _unscale_rho(prof: Profile, rho: Fraction) -> Fraction:
    """ρ in currency per unit of utility (cost utility: a pure number, ``1/effective votes``)."""
    if prof.utility == "cost":
        return rho
    return rho * prof.util_scale / prof.scale


def _mes_rounds(prof: Profile, run: Run, budget: Number, first: int) -> list[Round]:
    """One round per selected project, with ρ, payments and money left; then why it stopped."""
    s = prof.scale
    rounds: list[Round] = []
    spent: Number = 0
    number = first
    for p, rho, det in zip(run.order, run.rho, run.details, strict=True):
        cost = Fraction(prof.cost[p], s)
        spent += cost
        pid = prof.ids[p]
        details: dict[str, Any] = {
            "cost": cost,
            "supporters": prof.supporters[p],
            "rho": _unscale_rho(prof, rho),
            "total_cost": spent,
            "budget_left": budget - spent,
            "voters_money_left": Fraction(run.b, s) * prof.n - spent,
        }
        if det.get("free"):
            reason = "costs nothing and has supporters"
        else:
            payments = sorted(det["paid"].items(), key=lambda kv: (-kv[0], kv[1]))
            details["paying_supporters"] = det["paying"]
            details["supporters_paying_all"] = det["exhausted"]
            details["supporters_money"] = det["money"]
            details["payments"] = [{"amount": a, "voters": v} for a, v in payments]
            if prof.uniform:
                cap = rho * prof.unit[p] / s
                details["max_payment"] = cap
                if prof.utility == "cost":
                    details["effective_votes"] = cost / cap if cap else 0
                    reason = (
                        f"best value for money: {_fmt(cost / cap if cap else 0)} effective votes "
                        f"(each supporter pays at most {_fmt(cap)})"
                    )
                else:
                    reason = f"lowest price per supporter: at most {_fmt(cap)} each"
            else:
                reason = f"lowest price per point: {_fmt(details['rho'])} per point"
        rounds.append(Round(number, "selected", pid, reason, details))
        number += 1
    left = [
        prof.ids[p]
        for p in range(len(prof.ids))
        if prof.supporters[p] > 0 and p not in set(run.order)
    ]
    rounds.append(
        Round(
            number,
            "stopped",
            None,
            "no remaining project can be paid for by its supporters",
            {"unaffordable": left, "total_cost": spent, "budget_left": budget - spent},
        )
    )
    return rounds


def _fmt(x: Number) -> str:
    """Short human figure for reasons (exact values stay in ``details``)."""
    x = Fraction(x)
    if x.denominator == 1:
        return str(x.numerator)
    return f"{float(x):.2f}"


def _utilitarian_order(election: Election, prof: Profile, tie_break: TieBreak) -> list[int]:
    """Projects by total support (approvals, or points for score utility), then the tie-break."""
    score = [0] * len(prof.ids)
    for g, projs in enumerate(prof.group_projects):
        w = prof.group_weight[g]
        for p, ui in zip(projs, prof.group_util[g], strict=True):
            score[p] += w * (prof.values[ui] if not prof.uniform else 1)
    key = tie_break.key_for(election)
    projects = election.projects
    return sorted(
        (p for p in range(len(prof.ids)) if score[p] > 0),
        key=lambda p: (-score[p], key(projects[p])),
    )


def _complete(
    election: Election, prof: Profile, tie_break: TieBreak, order: list[int], first: int
) -> tuple[list[int], list[Round]]:
    """Utilitarian greedy completion: add, by support, every project that fits the money left."""
    chosen = set(order)
    cap = election.budget * prof.scale
    spent = sum(prof.cost[p] for p in order)
    added: list[int] = []
    rounds: list[Round] = []
    for p in _utilitarian_order(election, prof, tie_break):
        if p in chosen:
            continue
        if spent + prof.cost[p] <= cap:
            spent += prof.cost[p]
            added.append(p)
            rounds.append(
                Round(
                    first + len(rounds),
                    "completed",
                    prof.ids[p],
                    "greedy completion: the most supported project that still fits",
                    {
                        "cost": Fraction(prof.cost[p], prof.scale),
                        "budget_left": Fraction(cap - spent, prof.scale),
                    },
                )
            )
    return order + added, rounds


def _outcome(
    rule: str,
    election: Election,
    prof: Profile,
    tie_break: TieBreak,
    order: list[int],
    rounds: list[Round],
    params: dict[str, Any],
) -> Outcome:
    total = Fraction(sum(prof.cost[p] for p in order), prof.scale)
    return Outcome(
        rule=rule,
        budget=election.budget,
        selected=tuple(prof.ids[p] for p in order),
        total_cost=int(total) if total.denominator == 1 else total,
        rounds=tuple(rounds),
        params=params,
        tie_break=str(tie_break),
    )


def _check(election: Election, utility: str | None, completion: str) -> str:
    if election.budget < 0:
        raise ValueError("the budget must not be negative")
    if completion not in COMPLETIONS:
        raise ValueError(f"unknown completion {completion!r}; known: {', '.join(COMPLETIONS)}")
    return utility or default_utility(election)


@register("equalshares")
def equal_shares(
    election: Election,
    tie_break: TieBreak,
    utility: str | None = None,
    completion: str = "none",
) -> Outcome:
    """Method of Equal Shares with per-voter budget ``B/n`` (Peters & Skowron 2020; Peters,
    Pierczyński & Skowron 2021). ``completion="greedy"`` spends what is left by support."""
    utility = _check(election, utility, completion)
    prof = compile_profile(election, tie_break, utility)
    b = Fraction(election.budget) / prof.n * prof.scale if prof.n else Fraction(0)
    run = mes_run(prof, b, details=True)
    rounds = _mes_rounds(prof, run, election.budget, 1)
    order = list(run.order)
    if completion == "greedy":
        order, extra = _complete(election, prof, tie_break, order, len(rounds) + 1)
        rounds += extra
    params = {"utility": utility, "completion": completion, "budget_per_voter": b / prof.scale}
    return _outcome("equalshares", election, prof, tie_break, order, rounds, params)


@register("equalshares/add1")
def equal_shares_add1(
    election: Election,
    tie_break: TieBreak,
    utility: str | None = None,
    stop_when_exhaustive: bool = False,
    completion: str = "none",
) -> Outcome:
    """MES with the add1 completion used by cities (equalshares.net): per-voter budget
    ``floor(B/n)``, raised one currency unit at a time while the outcome fits the budget."""
    utility = _check(election, utility, completion)
    prof = compile_profile(election, tie_break, utility)
    found = add1(prof, election.budget, stop_when_exhaustive)
    s = prof.scale
    rounds: list[Round] = []
    for b, cost, fits, nxt, exact in found.trials:
        details: dict[str, Any] = {
            "budget_per_voter": Fraction(b, s),
            "total_cost" if exact else "total_cost_at_most": Fraction(cost, s),
            "fits": fits,
        }
        if nxt is not None:
            details["next_budget_per_voter"] = Fraction(nxt, s)
            details["skipped"] = Fraction(nxt - b, s) - 1
        reason = "fits the budget" if fits else "exceeds the budget: keep the previous outcome"
        if not exact:
            reason += " (proven before the count ended: what it bought plus every project its"
            reason += f" voters could still afford costs at most {_fmt(Fraction(cost, s))})"
        if nxt is not None and nxt - b > s:
            proven = "the outcome is proven the same" if exact else "every budget is proven to fit"
            reason += f"; {proven} up to {_fmt(Fraction(nxt, s) - 1)}"
        rounds.append(Round(len(rounds) + 1, "tried", None, reason, details))
    final = mes_run(prof, found.b, details=True) if prof.n else found.run
    rounds += _mes_rounds(prof, final, election.budget, len(rounds) + 1)
    order = list(final.order)
    if completion == "greedy":
        order, extra = _complete(election, prof, tie_break, order, len(rounds) + 1)
        rounds += extra
    params = {
        "utility": utility,
        "completion": completion,
        "stop_when_exhaustive": stop_when_exhaustive,
        "budget_per_voter": Fraction(found.b, s),
        "stop": found.stop,
    }
    return _outcome("equalshares/add1", election, prof, tie_break, order, rounds, params)


# --------------------------------------------------------------------------- comparison


def prefers_counts(election: Election, a: Sequence[str], b: Sequence[str]) -> tuple[int, int, int]:
    """Voters with more of their listed projects in ``a``, in ``b``, and neither."""
    sa, sb = set(a), set(b)
    more_a = more_b = same = 0
    for ballot in election.ballots:
        listed = set(ballot.projects)
        ka, kb = len(listed & sa), len(listed & sb)
        if ka > kb:
            more_a += ballot.weight
        elif kb > ka:
            more_b += ballot.weight
        else:
            same += ballot.weight
    return more_a, more_b, same


def _compare(rule: str, election: Election, tie_break: TieBreak, mes: Outcome) -> Outcome:
    """Greedy wins only if strictly more voters prefer it (equalshares.net's comparison step)."""
    greedy_rule = RULES.get("greedy")
    if greedy_rule is None:
        raise ValueError("the comparison step needs the 'greedy' rule")
    greedy = greedy_rule(election, tie_break)
    prefer_mes, prefer_greedy, same = prefers_counts(election, mes.selected, greedy.selected)
    winner = greedy if prefer_greedy > prefer_mes else mes
    rounds = [
        Round(i + 1, r.decision, r.project, r.reason, r.details)
        for i, r in enumerate(winner.rounds)
    ]
    which = "greedy" if winner is greedy else "equal shares"
    rounds.append(
        Round(
            len(rounds) + 1,
            "compared",
            None,
            f"{prefer_mes} voters prefer the equal-shares outcome, {prefer_greedy} the greedy "
            f"one: {which} is kept",
            {
                "prefer_equal_shares": prefer_mes,
                "prefer_greedy": prefer_greedy,
                "indifferent": same,
                "equal_shares_selected": list(mes.selected),
                "greedy_selected": list(greedy.selected),
                "winner": "greedy" if winner is greedy else "equalshares",
            },
        )
    )
    params = dict(mes.params)
    params["winner"] = "greedy" if winner is greedy else "equalshares"
    return Outcome(
        rule=rule,
        budget=election.budget,
        selected=winner.selected,
        total_cost=winner.total_cost,
        rounds=tuple(rounds),
        params=params,
        tie_break=str(tie_break),
    )


@register("equalshares-comparison")
def equal_shares_comparison(
    election: Election,
    tie_break: TieBreak,
    utility: str | None = None,
    completion: str = "none",
) -> Outcome:
    """MES, replaced by greedy if strictly more voters get more of their projects from greedy."""
    mes = equal_shares(election, tie_break, utility=utility, completion=completion)
    return _compare("equalshares-comparison", election, tie_break, mes)


@register("equalshares/add1-comparison")
def equal_shares_add1_comparison(
    election: Election,
    tie_break: TieBreak,
    utility: str | None = None,
    stop_when_exhaustive: bool = False,
    completion: str = "none",
) -> Outcome:
    """MES with add1, replaced by greedy if strictly more voters prefer greedy's outcome."""
    mes = equal_shares_add1(
        election,
        tie_break,
        utility=utility,
        stop_when_exhaustive=stop_when_exhaustive,
        completion=completion,
    )
    return _compare("equalshares/add1-comparison", election, tie_break, mes)
