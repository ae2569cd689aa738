"""The only bridge from the ballot store to the tally, and the rows of the published ballot file.

``load_election`` builds one district's ``tally.Election``: the district's ballot projects with
their official (integer) costs in ballot order, the district budget, the constraints of the
frozen ballot configuration, and the ballots, identical ones collapsed into one weighted ballot.
Ballots are read in a fixed order (their canonical content), so the result does not depend on
the order in which they were cast.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ballots.models import Ballot
from ballots.service import district_config
from pb.errors import NotFound
from pb.processes import District, Process
from pb.settings import Settings
from proposals.models import Proposal
from proposals.service import ProposalService
from tally.model import Ballot as TallyBallot
from tally.model import Election, Project

__all__ = ["ballot_rows", "load_election"]


async def ballot_rows(
    session: AsyncSession, process_id: int, district_id: int
) -> list[tuple[str, dict[str, Any]]]:
    """``(receipt_hash, content)`` for every ballot of a district, sorted by receipt hash.

    Sorting by the (random) receipt hash publishes the ballots in an order unrelated to the
    order in which they were cast.
    """
    result = await session.exec(
        select(Ballot.receipt_hash, Ballot.content)
        .where(Ballot.process_id == process_id, Ballot.district_id == district_id)
        .order_by(col(Ballot.receipt_hash))
    )
    return [(h, json.loads(c)) for h, c in result.all()]


async def load_election(session: AsyncSession, process_id: int, district_id: int) -> Election:
    """One district's election, ready for ``tally.run``."""
    process = await session.get(Process, process_id)
    if process is None:
        raise NotFound("No such process.")
    district = await session.get(District, district_id)
    if district is None or district.process_id != process_id:
        raise NotFound("No such district in this process.")
    config = district_config(process, district)
    proposals: list[Proposal] = await ProposalService(session, Settings(), None).ballot_projects(
        process_id, district_id
    )
    projects = tuple(
        Project(id=str(p.id), cost=int(p.official_cost or 0), name=p.title) for p in proposals
    )
    result = await session.exec(
        select(Ballot.content).where(
            Ballot.process_id == process_id, Ballot.district_id == district_id
        )
    )
    weights = Counter(result.all())
    ballots = []
    for content in sorted(weights):
        body = json.loads(content)
        ballots.append(
            TallyBallot(
                projects=tuple(body["projects"]),
                points=tuple(int(x) for x in body.get("points", ())),
                weight=weights[content],
            )
        )
    meta = (
        ("description", f"{process.name} — {district.name}"),
        ("district", district.name),
        ("currency", process.currency),
        ("rule", process.rule_id),
    )
    return Election(
        budget=district.budget,
        projects=projects,
        ballots=tuple(ballots),
        vote_type=config.vote_type,
        constraints=config.constraints(),
        meta=tuple((k, v) for k, v in meta if v),
    )
