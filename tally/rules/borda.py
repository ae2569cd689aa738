"""Borda greedy for ordinal ballots: rank projects by Borda points, then fund greedily.

Classic Borda (de Borda 1781; the usual positional count for rankings): with ``m`` projects on
the ballot paper, a voter's first choice gets ``m - 1`` points, the next ``m - 2``, and so on;
unranked projects get nothing. Other rank schemes from ``tally.scoring`` can be chosen with
``points=`` (e.g. ``borda-ballot``: ``L - 1 - r`` within a ballot of length ``L``). The
ballots' own ``points``, if any, are ignored: this rule scores the ranking itself. Projects are
then funded in that order, skipping those that do not fit (as ``greedy``).
"""

from __future__ import annotations

from tally.model import Election, Outcome, VoteType
from tally.registry import register
from tally.rules.greedy import explain as _greedy_explain
from tally.rules.greedy import greedy_count, resolve_threshold
from tally.scoring import scores
from tally.tiebreak import TieBreak

__all__ = ["borda_greedy", "explain"]


@register("borda-greedy")
def borda_greedy(
    election: Election,
    tie_break: TieBreak,
    *,
    points: str = "borda",
    threshold: int | str | None = None,
) -> Outcome:
    """Greedy on Borda points of ordinal ballots; ``points`` names the rank scheme."""
    if election.vote_type != VoteType.ORDINAL:
        raise ValueError(f"borda-greedy needs ordinal ballots, not {election.vote_type}")
    score = scores(election, ordinal=points, explicit_points=False)
    t = resolve_threshold(election, threshold)
    params: dict[str, object] = {"points": points}
    if t is not None:
        params["threshold"] = t
    return greedy_count(
        election, tie_break, rule="borda-greedy", score=score, threshold=t, params=params
    )


def explain(outcome: Outcome, election: Election, project_id: str) -> str:
    """Why a project was (not) selected by ``borda-greedy``, in Borda points."""
    scheme = str(outcome.params.get("points", "borda"))
    label = "Borda points" if scheme == "borda" else f"points ({scheme} scoring of the rankings)"
    return _greedy_explain(outcome, election, project_id, label=label)
