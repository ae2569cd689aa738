"""A small hand-built result (no database) for package, certificate and verify tests."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

import tally
from results.canonical import canonical_json, input_sha256, normalize
from results.contents import DistrictData, ProcessData

CAST = {
    "north": [("1", "2"), ("1", "2"), ("1",), ("3",), ("2", "3"), ("1", "3")],
    "south": [("4",), ("4", "5"), ("5",), ("5",)],
}
PROJECTS = {
    "north": (tally.Project("1", 60, "Park benches"), tally.Project("2", 50, "Bike lane"),
              tally.Project("3", 30, "Café garden")),
    "south": (tally.Project("4", 70, "Library hours"), tally.Project("5", 40, "Skate park")),
}  # fmt: skip
BUDGETS = {"north": 100, "south": 90}


def receipt(slug: str, i: int) -> str:
    return hashlib.sha256(f"{slug}-{i}".encode()).hexdigest()


def process_data(rule: str = "greedy", tie_break: str = "") -> ProcessData:
    config = canonical_json(
        {"rule_id": rule, "rule_params": {}, "tie_break": str(tally.TieBreak.parse(tie_break))}
    ).encode()
    districts = []
    for slug, cast in CAST.items():
        raw = tally.Election(
            budget=BUDGETS[slug],
            projects=PROJECTS[slug],
            ballots=tuple(tally.Ballot(b) for b in cast),
        )
        e = normalize(raw)
        districts.append(
            DistrictData(
                slug=slug,
                name=slug.capitalize(),
                budget=BUDGETS[slug],
                election=e,
                outcome=tally.run(rule, e, tie_break),
                input_sha256=input_sha256(e),
                channels={"online": len(cast) - 1, "paper": 1},
                rows=[(receipt(slug, i), {"projects": list(b)}) for i, b in enumerate(cast)],
            )
        )
    return ProcessData(
        id=1,
        name="Riverton 2026",
        slug="riverton-2026",
        currency="EUR",
        rule_id=rule,
        rule_params={},
        tie_break=tie_break,
        frozen_hash=hashlib.sha256(config).hexdigest(),
        config=config,
        software_version="pb test",
        country="Spain",
        unit="Riverton",
        date_begin=datetime(2026, 5, 1, tzinfo=UTC),
        date_end=datetime(2026, 5, 20, tzinfo=UTC),
        audit_head="ab" * 32,
        audit_entries=12,
        certified_at=datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
        signers=[{"name": "Ada Admin", "signed_at": "2026-06-01 11:00 UTC"}],
        districts=districts,
    )


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rezip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, body in files.items():
            zf.writestr(name, body)
    return out.getvalue()


def flip(body: bytes, at: int | None = None) -> bytes:
    i = len(body) // 2 if at is None else at
    return body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]


def results_json(files: dict[str, bytes]) -> dict:
    return json.loads(files["results.json"])
