"""Find a voter's ballot in the published files by the receipt code they were shown.

The search runs over the certified packages themselves (the receipts file beside each
district's ``.pb``), not over the ballot table, so a match shows that the ballot is in what was
published and counted. Each package's index is built once per process and kept (packages never
change once certified).
"""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from pb.errors import NotFound
from pb.settings import Settings
from results.models import CertifiedPackage
from results.package import read_package
from tally import pabulib

__all__ = ["ReceiptMatch", "find_receipt", "index_package"]


@dataclass(frozen=True)
class ReceiptMatch:
    process_id: int
    process_name: str
    district: str
    file: str
    voter_id: str
    projects: tuple[str, ...]  # names of the projects on the ballot, as published
    points: tuple[str, ...]
    package_sha256: str


# package sha256 → receipt hash → (district name, file, voter id, projects, points)
_INDEX: dict[str, dict[str, tuple[str, str, str, tuple[str, ...], tuple[str, ...]]]] = {}
_LOCK = threading.Lock()


def index_package(content: bytes, public_key: str) -> tuple[str, dict[str, tuple]]:  # type: ignore[type-arg]
    """The process name and receipt index of a (verified) budgeting package."""
    import json

    manifest, files = read_package(content, public_key)
    results = json.loads(files["results.json"])
    index: dict[str, tuple] = {}  # type: ignore[type-arg]
    for district in results["districts"]:
        pb_file = pabulib.parse(files[district["file"]].decode("utf-8"))
        names = {row[0]: row[pb_file.projects.index("name") or 0] for row in pb_file.projects.rows}
        vote_col = pb_file.votes.index("vote")
        points_col = pb_file.votes.index("points")
        votes = {
            row[0]: (
                tuple(
                    names.get(p.strip(), p.strip()) for p in row[vote_col].split(",") if p.strip()
                ),  # type: ignore[index]
                tuple(x.strip() for x in row[points_col].split(","))
                if points_col is not None
                else (),
            )
            for row in pb_file.votes.rows
        }
        reader = csv.reader(io.StringIO(files[district["receipts"]].decode("ascii")))
        next(reader, None)
        for voter_id, receipt in reader:
            projects, points = votes.get(voter_id, ((), ()))
            index[receipt] = (district["name"], district["file"], voter_id, projects, points)
    return str(manifest.get("process", {}).get("name", "")), index


async def find_receipt(session: AsyncSession, settings: Settings, receipt: str) -> ReceiptMatch:
    """The published ballot with this receipt; ``NotFound`` with a plain reason otherwise."""
    from ballots.models import Ballot
    from ballots.verification import receipt_hash

    digest = receipt_hash(receipt)
    packages = await session.exec(
        select(CertifiedPackage.process_id, CertifiedPackage.sha256, CertifiedPackage.public_key)
        .where(CertifiedPackage.kind == "budgeting")
        .order_by(col(CertifiedPackage.id).desc())
    )
    for process_id, sha, public_key in packages.all():
        with _LOCK:
            cached = _INDEX.get(sha)
        if cached is None:
            content = (
                await session.exec(
                    select(CertifiedPackage.content).where(CertifiedPackage.sha256 == sha)
                )
            ).one()
            name, cached = index_package(content, public_key)
            cached = {"": (name, "", "", (), ()), **cached}
            with _LOCK:
                _INDEX[sha] = cached
        hit = cached.get(digest)
        if hit is not None:
            return ReceiptMatch(
                process_id=process_id,
                process_name=cached[""][0],
                district=hit[0],
                file=hit[1],
                voter_id=hit[2],
                projects=hit[3],
                points=hit[4],
                package_sha256=sha,
            )
    pending = await session.exec(select(Ballot.id).where(Ballot.receipt_hash == digest))
    if pending.first() is not None:
        raise NotFound(
            "Your ballot is recorded, but its results are not certified yet: the published "
            "file appears after certification. Come back then.",
            field="receipt",
        )
    raise NotFound(
        "No published ballot has this receipt. Check the code (letters and digits as shown "
        "after voting) and that the results of your process are certified.",
        field="receipt",
    )
