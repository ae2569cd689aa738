"""The demo city: every proposal status appears, and seeding twice changes nothing."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, func, select

from pb import audit
from pb.accounts import AccountService, Role
from pb.processes import Phase, Process
from proposals.demo import seed_city
from proposals.lifecycle import ProposalStatus
from proposals.models import Proposal


async def test_demo_city_has_every_state(db_session: Any, settings: Any) -> None:
    accounts = AccountService(db_session, settings)
    users = {
        role.value: await accounts.create_user(
            f"{role.value}@demo.pb", f"demo-password-{role.value}", {role}
        )
        for role in (Role.ADMIN, Role.MODERATOR, Role.VALUATOR, Role.OFFICIAL, Role.RESIDENT)
    }
    summary = await seed_city(db_session, settings, users)
    assert summary.startswith("demo city loaded")
    statuses = set((await db_session.exec(select(Proposal.status).distinct())).all())
    assert statuses == {str(s) for s in ProposalStatus}
    phases = dict((await db_session.exec(select(Process.slug, Process.phase))).all())
    assert phases["riverton-2026"] == Phase.COSTING
    assert phases["riverton-2025"] in (Phase.VOTING, Phase.COSTING)
    assert not await audit.verify_chain(db_session)
    count = (await db_session.exec(select(func.count()).select_from(Proposal))).one()
    assert await seed_city(db_session, settings, users) == "demo city already present"
    assert (await db_session.exec(select(func.count()).select_from(Proposal))).one() == count
    over = (
        await db_session.exec(select(Proposal).where(col(Proposal.title) == "Covered ice rink"))
    ).one()
    assert over.status == ProposalStatus.UNFEASIBLE and "budget of South" in over.unfeasible_reason
