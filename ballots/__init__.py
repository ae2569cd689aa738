"""Ballots: who may vote, ballot formats and their validation.

Import-light on purpose: nothing here touches the database. The database side lives in
``ballots.models``, ``ballots.verification`` (roll, codes, verification, ``voter_right``),
``ballots.service`` (``cast_ballot``, paper ballots, turnout) and ``ballots.export``
(``load_election``, ``ballot_rows``).
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
    FormBallot,
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
    "FormBallot",
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
