"""Demo voters: a residents roll for a demo process, every demo resident verified on it, and a
few voting codes, so ``pb demo`` residents can vote straight away."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from ballots.models import Verification
from ballots.verification import import_roll, verify_with_roll
from pb.accounts import User
from pb.processes import District
from pb.settings import Settings

__all__ = ["DEMO_BIRTH_DATE", "DEMO_POSTCODE", "seed_voters"]

DEMO_BIRTH_DATE = "1985-04-12"
DEMO_POSTCODE = "RV1 1AA"


async def seed_voters(
    session: AsyncSession,
    settings: Settings,
    admin: User,
    process_id: int,
    residents: Iterable[User],
    *,
    spare_entries: int = 5,
) -> int:
    """Put ``residents`` on the roll of ``process_id`` for every district and verify them; add
    ``spare_entries`` unused roll entries (references ``DEMO-SPARE-<n>``) for trying the form.

    Returns how many residents were verified; does nothing if any verification exists already.
    """
    if (
        await session.exec(select(Verification.id).where(Verification.process_id == process_id))
    ).first() is not None:
        return 0
    districts = (
        await session.exec(select(District.slug).where(District.process_id == process_id))
    ).all()
    slugs = ";".join(sorted(districts))
    people = list(residents)
    lines = ["reference,birth_date,postcode,districts"]
    lines += [f"DEMO-{u.id},{DEMO_BIRTH_DATE},{DEMO_POSTCODE},{slugs}" for u in people]
    lines += [
        f"DEMO-SPARE-{n},{DEMO_BIRTH_DATE},{DEMO_POSTCODE},{slugs}"
        for n in range(1, spare_entries + 1)
    ]
    report = await import_roll(session, settings, admin, process_id, "\n".join(lines).encode())
    if not report.stored:
        raise RuntimeError(f"demo roll was refused: {report.error or report.lines}")
    for user in people:
        await verify_with_roll(
            session,
            settings,
            user,
            process_id,
            reference=f"DEMO-{user.id}",
            birth_date=DEMO_BIRTH_DATE,
            postcode=DEMO_POSTCODE,
            ip="demo",
        )
    return len(people)
