"""A closed-able vote with real verified residents and cast ballots, for results tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from ballots import service as ballots
from pb.accounts import AccountService, Role, User
from pb.settings import Settings
from tests.ballots.voting_city import VotingCity, build_city, import_default_roll, verify

PASSWORD = "Tulip-garden-42-quiet"


@dataclass
class VotedCity:
    city: VotingCity
    admin2: User
    receipts: dict[str, list[str]] = field(default_factory=dict)  # district slug -> receipts

    @property
    def process_id(self) -> int:
        return self.city.process.id  # type: ignore[return-value]


async def voted_city(session: AsyncSession, settings: Settings, tag: str = "r") -> VotedCity:
    """North (budget 100: projects 60, 30, 20) and South (budget 50: 40, 10) with 3 voters.

    North: {60} and {60, 20} → greedy funds 60 (2 votes), then 20; 30 (no votes) no longer fits.
    South: {40} and {40, 10} → greedy funds 40 (2 votes), then 10. No ties anywhere, so any
    greedy implementation must agree.
    """
    city = await build_city(session, settings, voters=3, tag=tag)
    admin2 = await AccountService(session, settings).create_user(
        f"admin2@{tag}.pb", PASSWORD, {Role.ADMIN}, display_name="Bea Admin"
    )
    await import_default_roll(session, settings, city)
    for user, ref in zip(city.voters, ("R-002", "R-001", "R-003"), strict=True):
        await verify(session, settings, city, user, ref)
    n, s = city.projects["north"], city.projects["south"]
    votes = [
        (city.voters[0], city.north, [n[0]]),
        (city.voters[0], city.south, [s[0]]),
        (city.voters[1], city.north, [n[0], n[2]]),
        (city.voters[2], city.south, [s[0], s[1]]),
    ]
    voted = VotedCity(city, admin2, {"north": [], "south": []})
    for user, district, raw in votes:
        result = await ballots.cast_ballot(
            session,
            settings,
            process_id=city.process.id,  # type: ignore[arg-type]
            district_id=district.id,  # type: ignore[arg-type]
            user_id=user.id,  # type: ignore[arg-type]
            raw_ballot=raw,
        )
        voted.receipts[district.slug].append(result.receipt)
    return voted
