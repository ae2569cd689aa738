"""A small city for proposal tests: users of every role and a budgeting process with districts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from pb.accounts import AccountService, Role, User
from pb.processes import Category, District, Phase, Process, ProcessService
from pb.settings import Settings
from proposals.service import ProposalService

PASSWORD = "Tulip-garden-42-quiet"


@dataclass
class City:
    """Users by role name, one budgeting process, its districts and categories."""

    users: dict[str, User]
    process: Process
    north: District
    south: District
    citywide: District
    parks: Category
    mobility: Category
    other_process: Process
    other_district: District


@pytest.fixture
async def city(db_session: Any, settings: Settings) -> City:
    accounts = AccountService(db_session, settings)
    users: dict[str, User] = {}
    for name, roles in {
        "admin": {Role.ADMIN},
        "moderator": {Role.MODERATOR},
        "moderator2": {Role.MODERATOR},
        "valuator": {Role.VALUATOR},
        "valuator2": {Role.VALUATOR},
        "alice": set(),
        "bob": set(),
        "carol": set(),
        "dave": set(),
    }.items():
        users[name] = await accounts.create_user(
            f"{name}@test.pb", PASSWORD, roles, display_name=name.capitalize()
        )
    processes = ProcessService(db_session, settings)
    admin = users["admin"]
    process = await processes.create(
        admin,
        {
            "name": "Riverton 2026",
            "currency": "EUR",
            "support_threshold": 0,
            "flag_threshold": 3,
            "ballot_config": {"format": "approval", "max_selections": 3},
        },
    )
    citywide = await processes.add_district(
        admin, process.id, {"name": "City-wide", "budget": 50_000_000, "is_citywide": True}
    )
    north = await processes.add_district(admin, process.id, {"name": "North", "budget": 2_000_000})
    south = await processes.add_district(admin, process.id, {"name": "South", "budget": 1_500_000})
    parks = await processes.add_category(admin, process.id, {"name": "Parks"})
    mobility = await processes.add_category(admin, process.id, {"name": "Mobility"})
    other = await processes.create(admin, {"name": "Lakeside 2026"})
    other_district = await processes.add_district(
        admin, other.id, {"name": "Lakeside", "budget": 1_000_000}
    )
    await processes.advance_phase(admin, process.id, Phase.SUBMISSION)
    await processes.advance_phase(admin, other.id, Phase.SUBMISSION)
    return City(users, process, north, south, citywide, parks, mobility, other, other_district)


@pytest.fixture
def as_user(db_session: Any, settings: Settings, city: City) -> Callable[[str], ProposalService]:
    """``as_user("alice")`` → a ``ProposalService`` acting as that user (``None`` = anonymous)."""

    def make(name: str | None) -> ProposalService:
        return ProposalService(db_session, settings, city.users[name] if name else None)

    return make


@pytest.fixture
def advance(db_session: Any, settings: Settings, city: City) -> Callable[..., Awaitable[None]]:
    """``await advance(Phase.COSTING)`` moves the city's process forward, phase by phase."""

    async def to(phase: Phase, process: Process | None = None) -> None:
        processes = ProcessService(db_session, settings)
        target = process or city.process
        while (await processes.get(target.id)).phase != phase:
            current = await processes.get(target.id)
            await processes.advance_phase(city.users["admin"], target.id, current.next_phase)

    return to


def proposal_data(city: City, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Shade trees on Mill Street",
        "summary": "Plant twenty shade trees along Mill Street to cool the pavement in summer.",
        "description": "Mill Street has no shade between the school and the market. "
        "Twenty native trees with irrigation would make the walk bearable in July.",
        "district_id": city.north.id,
        "category_id": city.parks.id,
        "estimated_cost": 1_200_000,
        "location": "Mill Street, between the school and the market",
    }
    data.update(overrides)
    return data


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x40\x00\x00\x00WEBPVP8 " + b"\x00" * 64
