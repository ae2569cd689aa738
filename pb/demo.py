"""Demo data for trying pb out locally: one user per role, with published passwords.

Refused in production. Every step skips what already exists, so seeding twice is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from pb.accounts import AccountService, Role, User
from pb.db import create_engine, make_session_factory, session_scope
from pb.errors import ConfigError
from pb.settings import Settings

__all__ = ["DEMO_USERS", "DemoUser", "load", "seed"]


@dataclass(frozen=True)
class DemoUser:
    email: str
    display_name: str
    password: str
    role: Role


DEMO_USERS: tuple[DemoUser, ...] = tuple(
    DemoUser(
        email=f"{role.value}@demo.pb",
        display_name=f"Demo {role.value.capitalize()}",
        password=f"demo-password-{role.value}",
        role=role,
    )
    for role in (Role.ADMIN, Role.MODERATOR, Role.VALUATOR, Role.OFFICIAL, Role.RESIDENT)
)


async def seed(settings: Settings, *, if_empty: bool) -> str:
    """Load the demo data; with ``if_empty``, do nothing when the database already has users.

    Returns a one-line summary for the person running it.
    """
    if settings.is_prod:
        raise ConfigError("demo data cannot be loaded when PB_ENV=prod")
    engine = create_engine(settings)
    try:
        async with session_scope(make_session_factory(engine)) as session:
            if if_empty and await _count_users(session) > 0:
                return "database already has users; demo data not loaded"
            return await load(session, settings)
    finally:
        await engine.dispose()


async def load(session: AsyncSession, settings: Settings) -> str:
    """Load the demo users and city in ``session`` (the caller commits); a one-line summary."""
    created = await _seed_users(session, settings)
    city = await _seed_city(session, settings)
    users = (
        f"{created} users (<role>@demo.pb, password demo-password-<role>)"
        if created
        else "users already present"
    )
    return f"demo data: {users}; {city}"


async def _count_users(session: AsyncSession) -> int:
    result = await session.exec(select(func.count()).select_from(User))
    return int(result.one())


async def _seed_users(session: AsyncSession, settings: Settings) -> int:
    accounts = AccountService(session, settings)
    created = 0
    for demo in DEMO_USERS:
        if await accounts.get_by_email(demo.email) is None:
            await accounts.create_user(
                demo.email, demo.password, {demo.role}, display_name=demo.display_name
            )
            created += 1
    return created


async def _seed_city(session: AsyncSession, settings: Settings) -> str:
    # Imported here: the kernel must not depend on the proposals package at import time.
    from proposals.demo import seed_city

    accounts = AccountService(session, settings)
    users: dict[str, User] = {}
    for demo in DEMO_USERS:
        user = await accounts.get_by_email(demo.email)
        assert user is not None  # created just before
        users[demo.role.value] = user
    city = await seed_city(session, settings, users)
    from consultations.demo import seed_consultations
    from proposals.demo import DEMO_RESIDENTS

    for email, _ in DEMO_RESIDENTS:
        resident = await accounts.get_by_email(email)
        if resident is not None:
            users[email.split("@", 1)[0]] = resident
    return f"{city}; {await seed_consultations(session, settings, users)}"
