"""Counting rules for consultation questions: plurality, approval, score, instant-runoff, Schulze.

A question has options (string ids) and responses. A response is one respondent's answer, or
``weight`` identical answers: a ``Choice`` (one option), an ``Approval`` (a set of options),
``Scores`` (a number per option) or a ``Ranking`` (options best first, possibly truncated).

Every rule is exact (integers and Fractions, never floats), deterministic, and explains itself in
``rounds``. Ties the rule itself cannot separate are settled by a *tie-break order*: the options
listed from most to least favoured, by default the natural order of their ids (``o2`` before
``o10``). The favoured option is placed first in a ranking; in an instant-runoff elimination the
least favoured option is eliminated. Every tie settled this way is listed in
``QuestionResult.tie_breaks``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from tally.model import Number, Round, to_jsonable
from tally.tiebreak import natural_key


# --------------------------------------------------------------------------------------- inputs
def _check_weight(weight: object) -> None:
    if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
        raise ValueError(f"a response weight must be a positive integer, not {weight!r}")


def _check_option_id(option: object) -> None:
    if not isinstance(option, str) or not option:
        raise ValueError(f"an option id must be a non-empty string, not {option!r}")


@dataclass(frozen=True, slots=True)
class Choice:
    """One chosen option (single-choice questions)."""

    option: str
    weight: int = 1

    def __post_init__(self) -> None:
        _check_option_id(self.option)
        _check_weight(self.weight)


@dataclass(frozen=True, slots=True)
class Approval:
    """A set of approved options; the empty set is a blank response."""

    options: frozenset[str]
    weight: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.options, str):
            raise ValueError("approved options must be a collection of ids, not one string")
        object.__setattr__(self, "options", frozenset(self.options))
        for option in self.options:
            _check_option_id(option)
        _check_weight(self.weight)


@dataclass(frozen=True, slots=True)
class Scores:
    """A score per option, as ``(option, score)`` pairs (a mapping is accepted and converted).

    Scores are ``int`` or ``Fraction``; options left out were not scored by this respondent.
    """

    scores: tuple[tuple[str, Number], ...]
    weight: int = 1

    def __post_init__(self) -> None:
        pairs = (
            tuple(self.scores.items()) if isinstance(self.scores, Mapping) else tuple(self.scores)
        )
        seen: set[str] = set()
        for pair in pairs:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise ValueError(f"scores must be (option, score) pairs, not {pair!r}")
            option, score = pair
            _check_option_id(option)
            if option in seen:
                raise ValueError(f"option {option!r} is scored twice in one response")
            seen.add(option)
            if isinstance(score, bool) or not isinstance(score, (int, Fraction)):
                raise ValueError(f"a score must be an int or a Fraction, not {score!r}")
        object.__setattr__(self, "scores", pairs)
        _check_weight(self.weight)


@dataclass(frozen=True, slots=True)
class Ranking:
    """Options best first. It may stop early (top-k); unranked options come after ranked ones."""

    order: tuple[str, ...]
    weight: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.order, str):
            raise ValueError("a ranking must be a sequence of ids, not one string")
        order = tuple(self.order)
        for option in order:
            _check_option_id(option)
        if len(set(order)) != len(order):
            raise ValueError(f"a ranking names an option more than once: {list(order)!r}")
        object.__setattr__(self, "order", order)
        _check_weight(self.weight)


Response = Choice | Approval | Scores | Ranking


def _named(response: Response) -> Iterable[str]:
    """Every option id a response mentions."""
    if isinstance(response, Choice):
        return (response.option,)
    if isinstance(response, Approval):
        return response.options
    if isinstance(response, Scores):
        return (option for option, _ in response.scores)
    return response.order


# -------------------------------------------------------------------------------------- outputs
@dataclass(frozen=True)
class QuestionResult:
    """What a consultation rule decided, with the rounds that explain it.

    ``counts`` holds the rule's headline figure per option (plurality and approval: votes;
    score: total score; instant-runoff: first preferences; Schulze: options beaten).
    ``percentages`` are shares of all respondents, out of 100. ``averages`` and ``scored_by``
    are filled by the score rule (``None`` average: nobody scored that option).
    ``winners`` are the options the rule itself puts first (several when tied, none when no
    response supports any option); ``winner`` is the first of ``ranking``, the full order after
    the tie-break order settled the ties listed in ``tie_breaks`` (each group in the order the
    tie-break put it). ``details`` holds rule-specific exact figures (Schulze's ``d`` and ``p``).
    Each round's ``project`` field names the option it concerns (``option`` in ``to_dict``).
    """

    rule: str
    options: tuple[str, ...]
    respondents: int
    counts: Mapping[str, Number]
    winners: tuple[str, ...]
    winner: str | None
    ranking: tuple[str, ...]
    tie_break_order: tuple[str, ...]
    rounds: tuple[Round, ...] = ()
    tie_breaks: tuple[tuple[str, ...], ...] = ()
    percentages: Mapping[str, Fraction] = field(default_factory=dict)
    averages: Mapping[str, Fraction | None] = field(default_factory=dict)
    scored_by: Mapping[str, int] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; Fractions become exact decimal strings (or ``p/q``)."""
        return {
            "rule": self.rule,
            "options": list(self.options),
            "respondents": self.respondents,
            "counts": to_jsonable(dict(self.counts)),
            "percentages": to_jsonable(dict(self.percentages)),
            "averages": to_jsonable(dict(self.averages)),
            "scored_by": to_jsonable(dict(self.scored_by)),
            "winners": list(self.winners),
            "winner": self.winner,
            "ranking": list(self.ranking),
            "tie_break_order": list(self.tie_break_order),
            "tie_breaks": [list(group) for group in self.tie_breaks],
            "rounds": [
                {
                    "number": r.number,
                    "decision": r.decision,
                    "option": r.project,
                    "reason": r.reason,
                    "details": to_jsonable(dict(r.details)),
                }
                for r in self.rounds
            ],
            "details": to_jsonable(dict(self.details)),
        }


# ------------------------------------------------------------------------------------- helpers
@dataclass(frozen=True, slots=True)
class _Question:
    """Validated inputs; ``favour[o]`` is o's place in the tie-break order (0 = most favoured)."""

    options: tuple[str, ...]
    responses: tuple[Response, ...]
    order: tuple[str, ...]
    favour: Mapping[str, int]

    @property
    def respondents(self) -> int:
        return sum(r.weight for r in self.responses)


def _prepare(
    rule_id: str,
    options: Sequence[str],
    responses: Iterable[Response],
    tie_break_order: Sequence[str] | None,
    accepted: tuple[type, ...],
) -> _Question:
    """Check options, responses and the tie-break order; raise ``ValueError`` saying what is wrong."""
    if isinstance(options, str):
        raise ValueError("options must be a sequence of ids, not one string")
    opts = tuple(options)
    if not opts:
        raise ValueError("a question needs at least one option")
    for option in opts:
        _check_option_id(option)
    if len(set(opts)) != len(opts):
        raise ValueError(f"options are not unique: {list(opts)!r}")
    known = set(opts)
    resp = tuple(responses)
    kinds = ", ".join(k.__name__ for k in accepted)
    for i, response in enumerate(resp, start=1):
        if not isinstance(response, accepted):
            raise ValueError(
                f"response {i} is a {type(response).__name__}; rule {rule_id!r} counts {kinds}"
            )
        for option in _named(response):
            if option not in known:
                raise ValueError(
                    f"response {i} names unknown option {option!r}; options: {', '.join(opts)}"
                )
    if tie_break_order is None:
        order = tuple(sorted(opts, key=lambda o: (natural_key(o), o)))
    else:
        if isinstance(tie_break_order, str):
            raise ValueError("the tie-break order must be a sequence of ids, not one string")
        order = tuple(tie_break_order)
        if len(order) != len(opts) or set(order) != known:
            raise ValueError("the tie-break order must list every option exactly once")
    return _Question(opts, resp, order, {o: i for i, o in enumerate(order)})


def _names(items: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _share(part: int, whole: int) -> Fraction:
    return Fraction(100 * part, whole) if whole else Fraction(0)


def _order_by(
    q: _Question, options: Iterable[str], key: Callable[[str], tuple]
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """Sort by ``key`` (smaller is better), equal keys by the tie-break order.

    Returns the order and the groups of equal keys (the ties the tie-break order settled).
    """
    ordered = sorted(options, key=lambda o: (key(o), q.favour[o]))
    groups: list[tuple[str, ...]] = []
    i = 0
    while i < len(ordered):
        j = i + 1
        while j < len(ordered) and key(ordered[j]) == key(ordered[i]):
            j += 1
        if j - i > 1:
            groups.append(tuple(ordered[i:j]))
        i = j
    return tuple(ordered), tuple(groups)


def _top_decision(
    q: _Question,
    ranking: tuple[str, ...],
    ties: tuple[tuple[str, ...], ...],
    supported: bool,
    figure: Callable[[str], str],
    details: Mapping[str, Any],
) -> tuple[tuple[str, ...], str | None, Round]:
    """Winners, winner and the single round of a one-count rule (plurality, approval, score)."""
    if not supported:
        round_ = Round(1, "stopped", None, "No response supports any option.", details)
        return (), None, round_
    winner = ranking[0]
    tied = next((g for g in ties if g[0] == winner), (winner,))
    if len(tied) == 1:
        reason = f"{winner} comes first with {figure(winner)}."
    else:
        reason = (
            f"{_names(tied)} tie for first place with {figure(winner)} each; "
            f"the tie-break order favours {winner}."
        )
    return tied, winner, Round(1, "elected", winner, reason, details)


# ----------------------------------------------------------------------------- count-based rules
def plurality(
    options: Sequence[str],
    responses: Iterable[Response],
    tie_break_order: Sequence[str] | None = None,
) -> QuestionResult:
    """Most chosen option wins (plurality, "first past the post"); each response is a ``Choice``."""
    q = _prepare("plurality", options, responses, tie_break_order, (Choice,))
    counts = dict.fromkeys(q.options, 0)
    for r in q.responses:
        assert isinstance(r, Choice)
        counts[r.option] += r.weight
    return _count_result("plurality", q, counts, "vote")


def approval(
    options: Sequence[str],
    responses: Iterable[Response],
    tie_break_order: Sequence[str] | None = None,
) -> QuestionResult:
    """Most approved option wins (approval voting, Brams & Fishburn 1978).

    Counts ``Approval`` responses; a ``Choice`` counts as approving one option.
    """
    q = _prepare("approval", options, responses, tie_break_order, (Approval, Choice))
    counts = dict.fromkeys(q.options, 0)
    for r in q.responses:
        for option in _named(r):
            counts[option] += r.weight
    return _count_result("approval", q, counts, "approval")


def _count_result(rule: str, q: _Question, counts: dict[str, int], noun: str) -> QuestionResult:
    """Result of a rule that ranks options by a single count, higher first."""
    n = q.respondents
    ranking, ties = _order_by(q, q.options, lambda o: (-counts[o],))

    def figure(o: str) -> str:
        return f"{counts[o]} {noun}{'' if counts[o] == 1 else 's'} of {n} respondents"

    supported = n > 0 and counts[ranking[0]] > 0
    details = {"counts": dict(counts), "respondents": n}
    winners, winner, round_ = _top_decision(q, ranking, ties, supported, figure, details)
    return QuestionResult(
        rule=rule,
        options=q.options,
        respondents=n,
        counts=counts,
        winners=winners,
        winner=winner,
        ranking=ranking,
        tie_break_order=q.order,
        rounds=(round_,),
        tie_breaks=ties,
        percentages={o: _share(c, n) for o, c in counts.items()},
    )


def score(
    options: Sequence[str],
    responses: Iterable[Response],
    tie_break_order: Sequence[str] | None = None,
) -> QuestionResult:
    """Highest average score wins (score or range voting); each response is ``Scores``.

    The average of an option is over the respondents who scored it. Ranking: options scored by
    someone, by average, then by total (more support), then the tie-break order; options nobody
    scored come last.
    """
    q = _prepare("score", options, responses, tie_break_order, (Scores,))
    totals: dict[str, Number] = dict.fromkeys(q.options, 0)
    scored_by = dict.fromkeys(q.options, 0)
    for r in q.responses:
        assert isinstance(r, Scores)
        for option, value in r.scores:
            totals[option] += value * r.weight
            scored_by[option] += r.weight
    averages: dict[str, Fraction | None] = {
        o: (Fraction(totals[o]) / scored_by[o] if scored_by[o] else None) for o in q.options
    }

    def key(o: str) -> tuple:
        avg = averages[o]
        return (1, 0, 0) if avg is None else (0, -avg, -totals[o])

    ranking, ties = _order_by(q, q.options, key)

    def figure(o: str) -> str:
        return f"an average of {to_jsonable(averages[o])} from {scored_by[o]} respondents"

    details = {"totals": dict(totals), "averages": dict(averages), "scored_by": dict(scored_by)}
    supported = averages[ranking[0]] is not None
    winners, winner, round_ = _top_decision(q, ranking, ties, supported, figure, details)
    return QuestionResult(
        rule="score",
        options=q.options,
        respondents=q.respondents,
        counts=totals,
        winners=winners,
        winner=winner,
        ranking=ranking,
        tie_break_order=q.order,
        rounds=(round_,),
        tie_breaks=ties,
        averages=averages,
        scored_by=scored_by,
    )


# ----------------------------------------------------------------------------- instant runoff
def _rankings(q: _Question) -> list[tuple[tuple[str, ...], int]]:
    """Each response as (ranking best first, weight); a ``Choice`` is a ranking of one."""
    out: list[tuple[tuple[str, ...], int]] = []
    for r in q.responses:
        if isinstance(r, Ranking):
            out.append((r.order, r.weight))
        elif isinstance(r, Choice):
            out.append(((r.option,), r.weight))
    return out


def _irv_loser(
    q: _Question, continuing: list[str], history: list[dict[str, int]]
) -> tuple[str, str, dict[str, Any], tuple[str, ...] | None]:
    """Who is eliminated this round, why, the tie details, and the group the tie-break order settled.

    Fewest votes; a tie goes back through earlier rounds, latest first, keeping the options with
    the fewest votes there; if still tied, the least favoured in the tie-break order goes.
    """
    counts = history[-1]
    low = min(counts[o] for o in continuing)
    tied = [o for o in continuing if counts[o] == low]
    if len(tied) == 1:
        return tied[0], f"{tied[0]} has the fewest votes ({low}).", {}, None
    tied.sort(key=lambda o: q.favour[o])
    candidates = list(tied)
    look_back: list[dict[str, Any]] = []
    for index in range(len(history) - 2, -1, -1):
        earlier = history[index]
        fewest = min(earlier[o] for o in candidates)
        look_back.append({"round": index + 1, "counts": {o: earlier[o] for o in candidates}})
        candidates = [o for o in candidates if earlier[o] == fewest]
        if len(candidates) == 1:
            loser = candidates[0]
            reason = (
                f"{_names(tied)} tie for the fewest votes ({low}); counting back through "
                f"earlier rounds, {loser} had fewer votes (decided in round {index + 1})."
            )
            details = {"tied": tied, "look_back": look_back, "decided_by": f"round {index + 1}"}
            return loser, reason, details, None
    loser = candidates[-1]
    earlier_text = (
        "there is no earlier round"
        if len(history) == 1
        else f"earlier rounds do not separate {_names(candidates)}"
    )
    reason = (
        f"{_names(tied)} tie for the fewest votes ({low}); {earlier_text}; "
        f"{loser} comes last in the tie-break order."
    )
    details = {"tied": tied, "look_back": look_back, "decided_by": "tie-break order"}
    return loser, reason, details, tuple(candidates)


def instant_runoff(
    options: Sequence[str],
    responses: Iterable[Response],
    tie_break_order: Sequence[str] | None = None,
) -> QuestionResult:
    """Instant-runoff voting (the alternative vote; Hare's method for a single seat).

    Each round counts every ballot for its highest-ranked continuing option; ballots with none
    left are exhausted (reported per round, blank ballots included). An option with more than
    half of the continuing ballots wins; otherwise the option with the fewest votes is
    eliminated, one per round (ties: fewest votes in the previous rounds, latest first, then the
    least favoured in the tie-break order). Counts ``Ranking`` responses; a ``Choice`` is a
    ranking of one. Final ranking: the winner, the other finalists by last-round votes, then the
    eliminated options, last eliminated first.
    """
    q = _prepare("instant-runoff", options, responses, tie_break_order, (Ranking, Choice))
    ballots = _rankings(q)
    total = q.respondents
    continuing = list(q.options)
    history: list[dict[str, int]] = []
    rounds: list[Round] = []
    eliminated: list[str] = []
    tie_breaks: list[tuple[str, ...]] = []
    winner: str | None = None
    while True:
        alive = set(continuing)
        counts = dict.fromkeys(continuing, 0)
        for order, weight in ballots:
            top = next((o for o in order if o in alive), None)
            if top is not None:
                counts[top] += weight
        history.append(counts)
        active = sum(counts.values())
        details: dict[str, Any] = {
            "counts": dict(counts),
            "continuing_ballots": active,
            "exhausted": total - active,
            "majority": active // 2 + 1,
        }
        number = len(history)
        if active == 0:
            rounds.append(
                Round(number, "stopped", None, "No ballot ranks a continuing option.", details)
            )
            break
        leader = max(continuing, key=lambda o: counts[o])
        if 2 * counts[leader] > active:
            reason = f"{leader} has {counts[leader]} of {active} continuing ballots, a majority."
            rounds.append(Round(number, "elected", leader, reason, details))
            winner = leader
            break
        loser, reason, tie, settled = _irv_loser(q, continuing, history)
        if settled:
            tie_breaks.append(settled)
        rounds.append(Round(number, "eliminated", loser, reason, details | tie))
        continuing.remove(loser)
        eliminated.append(loser)
    last = history[-1]
    others = [o for o in continuing if o != winner]
    finalists, final_ties = _order_by(q, others, lambda o: (-last[o],))
    tie_breaks.extend(final_ties)
    ranking = ((winner,) if winner else ()) + finalists + tuple(reversed(eliminated))
    first = history[0]
    return QuestionResult(
        rule="instant-runoff",
        options=q.options,
        respondents=total,
        counts=dict(first),
        winners=(winner,) if winner else (),
        winner=winner,
        ranking=ranking,
        tie_break_order=q.order,
        rounds=tuple(rounds),
        tie_breaks=tuple(tie_breaks),
        percentages={o: _share(first[o], total) for o in q.options},
        details={"rounds": len(rounds), "eliminated": list(eliminated)},
    )


# ------------------------------------------------------------------------------------- Schulze
Matrix = dict[str, dict[str, int]]


def pairwise_preferences(
    options: Sequence[str], rankings: Iterable[tuple[tuple[str, ...], int]]
) -> Matrix:
    """``d[x][y]``: weighted number of ballots ranking x above y (ranked above unranked).

    ``rankings`` are (options best first, weight) pairs naming only ``options``.
    """
    d: Matrix = {x: {y: 0 for y in options if y != x} for x in options}
    for order, weight in rankings:
        ranked = set(order)
        unranked = [o for o in options if o not in ranked]
        for i, x in enumerate(order):
            for y in order[i + 1 :]:
                d[x][y] += weight
            for y in unranked:
                d[x][y] += weight
    return d


def strongest_paths(options: Sequence[str], d: Matrix) -> Matrix:
    """``p[x][y]``: strength of the strongest path from x to y (widest paths, Floyd–Warshall).

    Links are the pairwise wins measured by winning votes: ``d[x][y]`` when it beats
    ``d[y][x]``, else 0 (Schulze 2011, "A new monotonic, clone-independent, reversal
    symmetric, and Condorcet-consistent single-winner election method", Social Choice and
    Welfare 36(2)).
    """
    p: Matrix = {x: {y: (d[x][y] if d[x][y] > d[y][x] else 0) for y in d[x]} for x in options}
    for i in options:
        for j in options:
            if j == i:
                continue
            for k in options:
                if k == i or k == j:
                    continue
                p[j][k] = max(p[j][k], min(p[j][i], p[i][k]))
    return p


def schulze(
    options: Sequence[str],
    responses: Iterable[Response],
    tie_break_order: Sequence[str] | None = None,
) -> QuestionResult:
    """The Schulze method (Schulze 2011): x beats y when ``p[x][y] > p[y][x]``.

    That relation is transitive, so the ranking is built by repeatedly placing an option no
    remaining option beats; when several qualify, the tie-break order picks, and the group is
    reported. ``winners`` are Schulze's potential winners (``p[x][y] >= p[y][x]`` for all y).
    Counts ``Ranking`` responses (truncation allowed); a ``Choice`` is a ranking of one.
    """
    q = _prepare("schulze", options, responses, tie_break_order, (Ranking, Choice))
    d = pairwise_preferences(q.options, _rankings(q))
    p = strongest_paths(q.options, d)

    def beats(x: str, y: str) -> bool:
        return p[x][y] > p[y][x]

    counts = {x: sum(1 for y in p[x] if beats(x, y)) for x in q.options}
    supported = any(order for order, _ in _rankings(q))
    rounds = [
        Round(
            1,
            "compared",
            None,
            "Pairwise preferences d and strongest paths p computed from the ranked ballots.",
            {"d": d, "p": p},
        )
    ]
    remaining = list(q.options)
    ranking: list[str] = []
    tie_breaks: list[tuple[str, ...]] = []
    while remaining:
        unbeaten = sorted(
            (x for x in remaining if not any(beats(y, x) for y in remaining if y != x)),
            key=lambda o: q.favour[o],
        )
        if not unbeaten:  # impossible: Schulze's relation is a strict partial order
            raise RuntimeError("Schulze relation has a cycle; matrices are inconsistent")
        chosen = unbeaten[0]
        place = len(ranking) + 1
        if len(unbeaten) == 1:
            reason = f"Place {place}: {chosen} is beaten by no remaining option."
        else:
            tie_breaks.append(tuple(unbeaten))
            reason = (
                f"Place {place}: {_names(unbeaten)} are beaten by no remaining option; "
                f"the tie-break order favours {chosen}."
            )
        rounds.append(
            Round(len(rounds) + 1, "placed", chosen, reason, {"place": place, "unbeaten": unbeaten})
        )
        ranking.append(chosen)
        remaining.remove(chosen)
    winners = (
        tuple(
            sorted(
                (x for x in q.options if all(p[x][y] >= p[y][x] for y in p[x])),
                key=lambda o: q.favour[o],
            )
        )
        if supported
        else ()
    )
    return QuestionResult(
        rule="schulze",
        options=q.options,
        respondents=q.respondents,
        counts=counts,
        winners=winners,
        winner=ranking[0] if supported else None,
        ranking=tuple(ranking),
        tie_break_order=q.order,
        rounds=tuple(rounds),
        tie_breaks=tuple(tie_breaks),
        details={"d": d, "p": p},
    )


# ------------------------------------------------------------------------------------ registry
ConsultationRule = Callable[
    [Sequence[str], Iterable[Response], Sequence[str] | None], QuestionResult
]

CONSULTATION_RULES: dict[str, ConsultationRule] = {
    "plurality": plurality,
    "approval": approval,
    "score": score,
    "instant-runoff": instant_runoff,
    "schulze": schulze,
}


def run_question(
    rule_id: str,
    options: Sequence[str],
    responses: Iterable[Response],
    tie_break_order: Sequence[str] | None = None,
) -> QuestionResult:
    """Count a consultation question with a registered rule.

    Raises ``ValueError`` for an unknown rule, a response naming an unknown option or of a kind
    the rule does not count, or a tie-break order that is not a permutation of the options.
    """
    rule = CONSULTATION_RULES.get(rule_id)
    if rule is None:
        known = ", ".join(sorted(CONSULTATION_RULES))
        raise ValueError(f"unknown consultation rule {rule_id!r}; known: {known}")
    return rule(options, responses, tie_break_order)
