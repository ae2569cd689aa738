"""The canonical form of a tally's input, so that a count can be hashed, stored and repeated.

``normalize`` reduces an ``Election`` to what the rules read (budget, projects with id, cost,
name and categories, ballots, limits, threshold, exclusive groups and category caps), with
identical ballots merged and sorted. ``election_json`` writes that as canonical JSON (sorted keys,
no spaces, exact numbers as text where needed); its SHA-256 is the input digest a stored result
and a certified package carry. The same election read back from the published ``.pb`` file gives
the same digest, which is how ``pb verify`` knows the file holds exactly the ballots counted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from fractions import Fraction
from typing import Any

from tally.model import (
    Ballot,
    BallotConstraints,
    Election,
    Number,
    Outcome,
    Project,
    VoteType,
    to_jsonable,
)
from tally.tiebreak import natural_key

__all__ = [
    "canonical_json",
    "election_from_json",
    "election_json",
    "input_sha256",
    "normalize",
    "outcome_json",
    "sha256_hex",
]

_SETS = (VoteType.APPROVAL, VoteType.CHOOSE_ONE)
_POINTED = (VoteType.CUMULATIVE, VoteType.SCORING)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text (non-ASCII kept)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def _ballot_key(vote_type: VoteType, b: Ballot) -> tuple[tuple[str, ...], tuple[Number, ...]]:
    if vote_type in _SETS:
        return tuple(sorted(set(b.projects), key=natural_key)), ()
    if vote_type in _POINTED:
        pairs = sorted(zip(b.projects, b.points, strict=True), key=lambda p: natural_key(p[0]))
        return tuple(p for p, _ in pairs), tuple(x for _, x in pairs)
    return tuple(b.projects), tuple(b.points)


def normalize(election: Election) -> Election:
    """The election as the rules see it: identical ballots merged, everything in a fixed order."""
    vt = election.vote_type
    weights: dict[tuple[tuple[str, ...], tuple[Number, ...]], int] = {}
    for b in election.ballots:
        key = _ballot_key(vt, b)
        weights[key] = weights.get(key, 0) + b.weight
    ordered = sorted(
        weights.items(),
        key=lambda item: (
            [natural_key(p) for p in item[0][0]],
            [str(to_jsonable(x)) for x in item[0][1]],
        ),
    )
    ballots = tuple(Ballot(projects=k[0], points=k[1], weight=w) for k, w in ordered)
    projects = tuple(
        Project(id=p.id, cost=p.cost, name=p.name, categories=p.categories)
        for p in election.projects
    )
    groups = tuple(
        sorted((frozenset(g) for g in election.exclusive_groups), key=lambda g: sorted(g))
    )
    caps = tuple(sorted(election.category_caps))
    return replace(
        election,
        projects=projects,
        ballots=ballots,
        exclusive_groups=groups,
        category_caps=caps,
        meta=(),
    )


def _number(x: Number | None) -> Any:
    return None if x is None else to_jsonable(Fraction(x) if not isinstance(x, int) else x)


def election_json(election: Election) -> str:
    """Canonical JSON of ``normalize(election)``."""
    e = normalize(election)
    c = e.constraints
    doc = {
        "v": 1,
        "budget": _number(e.budget),
        "vote_type": str(e.vote_type),
        "projects": [
            {"id": p.id, "cost": _number(p.cost), "name": p.name, "categories": list(p.categories)}
            for p in e.projects
        ],
        "ballots": [
            {
                "projects": list(b.projects),
                "points": [_number(x) for x in b.points],
                "weight": b.weight,
            }
            for b in e.ballots
        ],
        "constraints": {
            k: _number(getattr(c, k))
            for k in BallotConstraints.__dataclass_fields__
            if getattr(c, k) is not None
        },
        "min_project_score_threshold": _number(e.min_project_score_threshold),
        "exclusive_groups": [sorted(g, key=natural_key) for g in e.exclusive_groups],
        "category_caps": [[k, _number(v)] for k, v in e.category_caps],
    }
    return canonical_json(doc)


def _parse_number(value: Any) -> Number | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    f = Fraction(str(value))
    return int(f) if f.denominator == 1 else f


def election_from_json(text: str) -> Election:
    """The inverse of ``election_json`` (gives the normalized election)."""
    doc = json.loads(text)
    constraints = BallotConstraints(
        **{k: _parse_number(v) for k, v in doc.get("constraints", {}).items()}
    )
    return Election(
        budget=_parse_number(doc["budget"]),  # type: ignore[arg-type]
        projects=tuple(
            Project(
                id=p["id"],
                cost=_parse_number(p["cost"]),  # type: ignore[arg-type]
                name=p.get("name", ""),
                categories=tuple(p.get("categories", ())),
            )
            for p in doc["projects"]
        ),
        ballots=tuple(
            Ballot(
                projects=tuple(b["projects"]),
                points=tuple(_parse_number(x) for x in b["points"]),  # type: ignore[misc]
                weight=b["weight"],
            )
            for b in doc["ballots"]
        ),
        vote_type=VoteType(doc["vote_type"]),
        constraints=constraints,
        min_project_score_threshold=_parse_number(doc.get("min_project_score_threshold")),
        exclusive_groups=tuple(frozenset(g) for g in doc.get("exclusive_groups", ())),
        category_caps=tuple((k, _parse_number(v)) for k, v in doc.get("category_caps", ())),  # type: ignore[misc]
    )


def input_sha256(election: Election) -> str:
    return sha256_hex(election_json(election))


def outcome_json(outcome: Outcome) -> str:
    return canonical_json(outcome.to_dict())
