"""A participatory budget becomes ``certified`` only through certification (signed package first)."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from pb.phase_guards import phase_guard
from pb.processes import Phase, ProcessKind, WrongPhase
from results.models import CertifiedPackage


@phase_guard(ProcessKind.BUDGETING, Phase.CERTIFIED)
async def certified_only_with_a_package(session: AsyncSession, process: Any, target: str) -> None:
    found = await session.exec(
        select(CertifiedPackage.id).where(CertifiedPackage.process_id == process.id)
    )
    if found.first() is None:
        raise WrongPhase(
            "A result is certified from its results page, where the administrators sign off "
            "and the signed package is built."
        )
