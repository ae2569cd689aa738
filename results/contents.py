"""What goes into a budgeting package, built from plain data (no database, no I/O).

* ``results.json`` — the declared rule, parameters and tie-break, the frozen-configuration hash,
  the audit-log head, and per district the input digest, turnout, projects and the outcome with
  its rounds. ``pb verify`` re-counts from the ``.pb`` files and compares with it.
* ``results.csv`` — one row per project: district, id, name, cost, votes, score, selected.
* ``ballots/<district>.pb`` — the district's ballots in pabulib's format, shuffled with the
  operating system's CSPRNG, one row per voter; ``ballots/<district>.receipts.csv`` maps each
  ``voter_id`` of that file to the SHA-256 of the voter's receipt code (pabulib's checker
  refuses unknown VOTES columns, so the receipts sit beside the file rather than in it).
* ``config.json`` — the frozen configuration exactly as hashed when voting opened.
* ``audit.json`` — the audit log's head hash and length at certification.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from results.canonical import canonical_json, normalize
from tally import pabulib, scoring
from tally.model import Ballot, Election, Outcome, VoteType, to_jsonable
from tally.tiebreak import natural_key

__all__ = [
    "DistrictData",
    "ProcessData",
    "ballot_from_content",
    "district_pb",
    "pb_name",
    "receipts_name",
    "results_csv",
    "results_doc",
]


@dataclass(frozen=True)
class DistrictData:
    slug: str
    name: str
    budget: int
    election: Election  # normalized, as counted
    outcome: Outcome
    input_sha256: str
    channels: dict[str, int]
    rows: Sequence[tuple[str, dict[str, Any]]] = ()  # (receipt hash, ballot content)


@dataclass(frozen=True)
class ProcessData:
    id: int
    name: str
    slug: str
    currency: str
    rule_id: str
    rule_params: dict[str, Any]
    tie_break: str
    frozen_hash: str | None
    config: bytes
    software_version: str
    country: str
    unit: str
    date_begin: datetime | None
    date_end: datetime | None
    audit_head: str
    audit_entries: int
    certified_at: datetime
    signers: list[dict[str, str]] = field(default_factory=list)
    districts: list[DistrictData] = field(default_factory=list)


def pb_name(slug: str) -> str:
    return f"ballots/{slug}.pb"


def receipts_name(slug: str) -> str:
    return f"ballots/{slug}.receipts.csv"


def ballot_from_content(content: dict[str, Any]) -> Ballot:
    """A stored ballot's content (``{"projects": [...], "points": [...]}``) as a tally ballot."""
    return Ballot(
        projects=tuple(str(p) for p in content["projects"]),
        points=tuple(int(x) for x in content.get("points", ())),
    )


def _for_publication(vote_type: VoteType, b: Ballot) -> Ballot:
    """Points ballots list the most points first, as pabulib's files do (rankings keep order)."""
    if vote_type not in (VoteType.CUMULATIVE, VoteType.SCORING) or not b.points:
        return b
    pairs = sorted(zip(b.projects, b.points, strict=True), key=lambda x: (-x[1], natural_key(x[0])))
    return replace(b, projects=tuple(p for p, _ in pairs), points=tuple(x for _, x in pairs))


def _scores(e: Election) -> dict[str, Any]:
    """Score per project as the greedy family ranks them (votes, points or rank points)."""
    return {k: to_jsonable(v) for k, v in scoring.scores(e).items()}


def results_doc(p: ProcessData) -> dict[str, Any]:
    """The content of ``results.json``."""
    districts = []
    for d in p.districts:
        e = d.election
        scores = _scores(e)
        chosen = set(d.outcome.selected)
        districts.append(
            {
                "slug": d.slug,
                "name": d.name,
                "budget": d.budget,
                "file": pb_name(d.slug),
                "receipts": receipts_name(d.slug),
                "input_sha256": d.input_sha256,
                "num_voters": e.num_voters,
                "channels": d.channels,
                "exclusive_groups": [sorted(g) for g in e.exclusive_groups],
                "category_caps": [[k, to_jsonable(v)] for k, v in e.category_caps],
                "selected": list(d.outcome.selected),
                "total_cost": to_jsonable(d.outcome.total_cost),
                "leftover": to_jsonable(d.outcome.leftover),
                "projects": [
                    {
                        "id": pr.id,
                        "name": pr.name,
                        "cost": to_jsonable(pr.cost),
                        "votes": e.supporters[pr.id],
                        "score": scores.get(pr.id, e.supporters[pr.id]),
                        "selected": pr.id in chosen,
                    }
                    for pr in e.projects
                ],
                "outcome": d.outcome.to_dict(),
            }
        )
    return {
        "process": {"id": p.id, "name": p.name, "slug": p.slug, "currency": p.currency},
        "amounts": "integer minor currency units (cents for EUR)",
        "rule_id": p.rule_id,
        "rule_params": p.rule_params,
        "tie_break": p.tie_break,
        "frozen_hash": p.frozen_hash,
        "software_version": p.software_version,
        "audit_head_hash": p.audit_head,
        "certified_at": p.certified_at.isoformat(timespec="seconds"),
        "signers": p.signers,
        "districts": districts,
    }


def results_csv(p: ProcessData) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["district", "project_id", "name", "cost", "votes", "score", "selected"])
    for d in p.districts:
        scores = _scores(d.election)
        chosen = set(d.outcome.selected)
        for pr in d.election.projects:
            writer.writerow(
                [
                    d.slug,
                    pr.id,
                    pr.name,
                    to_jsonable(pr.cost),
                    d.election.supporters[pr.id],
                    scores.get(pr.id, d.election.supporters[pr.id]),
                    1 if pr.id in chosen else 0,
                ]
            )
    return out.getvalue().encode("utf-8")


def _date(at: datetime | None) -> str:
    return at.strftime("%d.%m.%Y") if at else ""


def district_pb(p: ProcessData, d: DistrictData) -> tuple[bytes, bytes]:
    """The district's ``.pb`` text and its receipts file, ballots in a fresh random order.

    Raises ``ValueError`` when the stored ballots are not exactly the ones counted.
    """
    vt = d.election.vote_type
    rows = [(r, _for_publication(vt, ballot_from_content(c))) for r, c in d.rows]
    secrets.SystemRandom().shuffle(rows)
    as_counted = replace(d.election, ballots=tuple(b for _, b in rows))
    if normalize(as_counted) != normalize(d.election):
        raise ValueError(
            f"the ballots of {d.name} differ from the ones counted; tally again before certifying"
        )
    meta = {
        "description": f"{p.name}: {d.name}",
        "country": p.country or "Worldwide",
        "unit": p.unit or p.name,
        "district": d.name,
        "instance": str((p.date_end or p.certified_at).year),
        "date_begin": _date(p.date_begin or p.date_end or p.certified_at),
        "date_end": _date(p.date_end or p.certified_at),
        "currency": p.currency,
        # pabulib numbers its comments: "#1: …".
        "comment": "#1: Amounts in minor currency units. #2: Ballots in random order; receipts in "
        + receipts_name(d.slug).split("/")[-1],
    }
    text = pabulib.write(as_counted, d.outcome, meta=meta)
    receipts = io.StringIO()
    writer = csv.writer(receipts, lineterminator="\n")
    writer.writerow(["voter_id", "receipt_sha256"])
    for i, (receipt, _) in enumerate(rows, start=1):
        writer.writerow([i, receipt])
    return text.encode("utf-8"), receipts.getvalue().encode("ascii")


def budgeting_files(p: ProcessData) -> dict[str, bytes]:
    """Every data file of the package (the certificate is added by the caller)."""
    files: dict[str, bytes] = {
        "results.json": (
            json.dumps(results_doc(p), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        ).encode(),
        "results.csv": results_csv(p),
        "config.json": p.config,
        "audit.json": (
            canonical_json({"head_hash": p.audit_head, "entries": p.audit_entries}) + "\n"
        ).encode(),
    }
    for d in p.districts:
        pb_text, receipts = district_pb(p, d)
        files[pb_name(d.slug)] = pb_text
        files[receipts_name(d.slug)] = receipts
    return files
