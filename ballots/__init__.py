"""Ballots: who may vote, ballot formats and their validation.

Import-light on purpose: nothing here touches the database.
"""

from ballots.eligibility import (
    Eligibility,
    anniversary,
    check_age,
    check_district,
    check_phase,
    first_failure,
)
from ballots.formats import (
    FORMATS,
    ApprovalConfig,
    BallotConfig,
    BallotSummary,
    CumulativeConfig,
    InvalidBallot,
    KnapsackConfig,
    RankedConfig,
    ScoreConfig,
    ValidBallot,
    canonical_json,
    config_from_dict,
    summary,
    to_tally_ballot,
    validate_ballot,
)

__all__ = [
    "FORMATS",
    "ApprovalConfig",
    "BallotConfig",
    "BallotSummary",
    "CumulativeConfig",
    "Eligibility",
    "InvalidBallot",
    "KnapsackConfig",
    "RankedConfig",
    "ScoreConfig",
    "ValidBallot",
    "anniversary",
    "canonical_json",
    "check_age",
    "check_district",
    "check_phase",
    "config_from_dict",
    "first_failure",
    "summary",
    "to_tally_ballot",
    "validate_ballot",
]
