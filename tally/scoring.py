"""Per-project scores for greedy-type rules, for every ballot type.

* approval, choose-1: the (weighted) number of voters who name the project;
* cumulative, scoring: the sum of the points the voters gave it;
* ordinal: the ballot's explicit ``points`` when it has them, otherwise points by rank under
  a named scheme (``ORDINAL_SCHEMES``). For a ballot of length ``L``, the project at rank
  ``r`` (0 = first) gets:

  ``ballot-length`` (default)  ``L - r``: first of three gets 3, then 2, then 1. This is how
                               every ordinal file in pabulib computes its ``score`` column
                               (Kraków 2024 and 2025 with 3-long ballots, Zürich with up to 5,
                               Rochester with 1–5), and how Kraków counts.
  ``max-length``               ``K - r`` with ``K`` = META ``max_length`` (else the longest
                               ballot): a short ballot's first choice weighs as much as a long
                               ballot's. Equal to ``ballot-length`` when all ballots are full.
  ``borda``                    ``m - 1 - r`` with ``m`` projects on the ballot paper
                               (classic Borda; unranked projects get 0).
  ``borda-ballot``             ``L - 1 - r``: Borda within the ballot (last ranked gets 0).
  ``dowdall``                  ``1 / (r + 1)`` as an exact fraction.

Everything is exact (ints and Fractions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction

from tally.model import Ballot, Election, Number, VoteType

__all__ = [
    "DEFAULT_ORDINAL",
    "ORDINAL_SCHEMES",
    "approvals",
    "ballot_points",
    "rank_points",
    "score_label",
    "scores",
]

ORDINAL_SCHEMES = ("ballot-length", "max-length", "borda", "borda-ballot", "dowdall")
DEFAULT_ORDINAL = "ballot-length"


def rank_points(scheme: str, rank: int, length: int, max_length: int, num_projects: int) -> Number:
    """Points for rank ``rank`` (0-based) on a ballot of ``length`` under ``scheme``."""
    if scheme == "ballot-length":
        return length - rank
    if scheme == "max-length":
        return max_length - rank
    if scheme == "borda":
        return num_projects - 1 - rank
    if scheme == "borda-ballot":
        return length - 1 - rank
    if scheme == "dowdall":
        return Fraction(1, rank + 1)
    raise ValueError(f"unknown ordinal scoring {scheme!r}; known: {', '.join(ORDINAL_SCHEMES)}")


def _max_length(election: Election) -> int:
    declared = election.constraints.max_length
    longest = max((len(b.projects) for b in election.ballots), default=0)
    return max(declared or 0, longest)


def ballot_points(
    ballot: Ballot, scheme: str, max_length: int, num_projects: int, *, explicit: bool = True
) -> tuple[Number, ...]:
    """Points per project of one ordinal ballot (explicit points first when ``explicit``)."""
    if explicit and ballot.points:
        return ballot.points
    n = len(ballot.projects)
    return tuple(rank_points(scheme, r, n, max_length, num_projects) for r in range(n))


def approvals(ballots: Iterable[Ballot], project_ids: Iterable[str]) -> dict[str, int]:
    """Weighted number of ballots naming each project."""
    counts: dict[str, int] = dict.fromkeys(project_ids, 0)
    for b in ballots:
        w = b.weight
        for pid in b.projects:
            counts[pid] += w
    return counts


def _ordinal_totals(election: Election, scheme: str, explicit: bool) -> dict[str, Number]:
    """Rank points summed per project (points per ballot length computed once)."""
    totals: dict[str, Number] = dict.fromkeys(election.project_by_id, 0)
    k, m = _max_length(election), len(election.projects)
    by_length: dict[int, tuple[Number, ...]] = {}
    for b in election.ballots:
        projects, w = b.projects, b.weight
        if explicit and b.points:
            pts = b.points
        else:
            n = len(projects)
            pts = by_length.get(n) or by_length.setdefault(
                n, tuple(rank_points(scheme, r, n, k, m) for r in range(n))
            )
        if w == 1:
            for pid, x in zip(projects, pts, strict=True):
                totals[pid] += x
        else:
            for pid, x in zip(projects, pts, strict=True):
                totals[pid] += x * w
    return totals


def scores(
    election: Election, *, ordinal: str = DEFAULT_ORDINAL, explicit_points: bool = True
) -> Mapping[str, Number]:
    """Score of each project (see the module docstring); ``ordinal`` names the rank scheme.

    ``explicit_points=False`` ignores ordinal ballots' own points (Borda on the ranking).
    """
    if ordinal not in ORDINAL_SCHEMES:
        raise ValueError(
            f"unknown ordinal scoring {ordinal!r}; known: {', '.join(ORDINAL_SCHEMES)}"
        )
    vt = election.vote_type
    if vt in (VoteType.APPROVAL, VoteType.CHOOSE_ONE):
        return election.supporters  # cached on the election, shared with the tie-break
    if vt == VoteType.ORDINAL:
        return _ordinal_totals(election, ordinal, explicit_points)
    totals: dict[str, Number] = dict.fromkeys(election.project_by_id, 0)
    for b in election.ballots:
        w = b.weight
        for pid, pts in zip(b.projects, b.points, strict=True):
            totals[pid] += pts * w
    return totals


def score_label(
    election: Election, ordinal: str = DEFAULT_ORDINAL, explicit_points: bool = True
) -> str:
    """What the score counts, for explanations: ``votes``, ``points`` or ``borda points``…"""
    vt = election.vote_type
    if vt in (VoteType.APPROVAL, VoteType.CHOOSE_ONE):
        return "votes"
    if vt in (VoteType.CUMULATIVE, VoteType.SCORING):
        return "points"
    if explicit_points and any(b.points for b in election.ballots):
        return "points"
    return f"points ({ordinal} scoring of the rankings)"
