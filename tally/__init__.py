"""Exact, deterministic, explainable voting rules for participatory budgeting and consultations.

Pure Python, standard library only, no I/O: the ``.pb`` reader and writer work on strings.
"""

from tally import rules as _rules  # noqa: F401  (registers every rule)
from tally.model import (
    Ballot,
    BallotConstraints,
    Election,
    Number,
    Outcome,
    Project,
    Round,
    VoteType,
)
from tally.registry import RULES, UnknownRule, register, run
from tally.tiebreak import TieBreak

__all__ = [
    "RULES",
    "Ballot",
    "BallotConstraints",
    "Election",
    "Number",
    "Outcome",
    "Project",
    "Round",
    "TieBreak",
    "UnknownRule",
    "VoteType",
    "register",
    "run",
]
