"""A budgeting process in the voting phase with projects on the ballot, for voting tests.

Projects are written straight to the table as ``on_ballot`` with an official cost: how they get
there is the proposal lifecycle's business, tested elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from ballots import verification
from pb.accounts import AccountService, Role, User
from pb.processes import District, Phase, Process, ProcessService
from pb.settings import Settings
from proposals.lifecycle import ProposalStatus
from proposals.models import Proposal

PASSWORD = "Tulip-garden-42-quiet"

ROLL_CSV = (
    "reference,birth_date,postcode,districts\n"
    "R-001,1980-05-17,RV1 2AB,north\n"
    "R-002,1991-12-01,RV1 3CD,north;south\n"
    "R-003,1975-02-28,RV2 9ZZ,south\n"
    "R-004,{minor},RV2 1AA,south\n"
)


@dataclass
class VotingCity:
    admin: User
    official: User
    voters: list[User]
    process: Process
    north: District
    south: District
    projects: dict[str, list[str]]  # district slug -> project ids (text) in ballot order


async def build_city(
    session: AsyncSession,
    settings: Settings,
    *,
    ballot_config: dict[str, Any] | None = None,
    voters: int = 4,
    tag: str = "v",
) -> VotingCity:
    accounts = AccountService(session, settings)
    admin = await accounts.create_user(f"admin@{tag}.pb", PASSWORD, {Role.ADMIN})
    official = await accounts.create_user(f"official@{tag}.pb", PASSWORD, {Role.OFFICIAL})
    people = [
        await accounts.create_user(f"voter{i}@{tag}.pb", PASSWORD, set()) for i in range(voters)
    ]
    processes = ProcessService(session, settings)
    process = await processes.create(
        admin,
        {
            "name": f"Voting city {tag}",
            "rule_id": "greedy",
            "min_age": 16,
            "ballot_config": ballot_config or {"format": "knapsack"},
        },
    )
    north = await processes.add_district(admin, process.id, {"name": "North", "budget": 100})
    south = await processes.add_district(admin, process.id, {"name": "South", "budget": 50})
    projects: dict[str, list[str]] = {"north": [], "south": []}
    for district, costs in ((north, (60, 30, 20)), (south, (40, 10, 80))):
        for i, cost in enumerate(costs):
            p = Proposal(
                process_id=process.id,
                district_id=district.id,
                proposer_id=admin.id,
                title=f"{district.name} project {i + 1}",
                summary=f"Project {i + 1} for {district.name}.",
                estimated_cost=cost,
                official_cost=cost,
                feasible=True,
                status=ProposalStatus.ON_BALLOT,
            )
            session.add(p)
            await session.flush()
            projects[district.slug].append(str(p.id))
    for phase in (Phase.SUBMISSION, Phase.REVIEW, Phase.COSTING, Phase.VOTING):
        await processes.advance_phase(admin, process.id, phase)
    await session.refresh(process)
    return VotingCity(admin, official, people, process, north, south, projects)


def roll_csv(minor_birth_date: str = "2015-01-01") -> bytes:
    return ROLL_CSV.format(minor=minor_birth_date).encode()


async def import_default_roll(session: AsyncSession, settings: Settings, city: VotingCity) -> None:
    report = await verification.import_roll(
        session, settings, city.admin, city.process.id, roll_csv()
    )
    assert report.stored, report


async def verify(
    session: AsyncSession, settings: Settings, city: VotingCity, user: User, ref: str
) -> None:
    details = {
        "R-001": ("1980-05-17", "RV1 2AB"),
        "R-002": ("1991-12-01", "rv1 3cd"),
        "R-003": ("1975-02-28", "RV2 9ZZ"),
        "R-004": ("2015-01-01", "RV2 1AA"),
    }[ref]
    await verification.verify_with_roll(
        session,
        settings,
        user,
        city.process.id,
        reference=ref,
        birth_date=details[0],
        postcode=details[1],
        ip="203.0.113.5",
    )
