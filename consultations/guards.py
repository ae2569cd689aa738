"""A consultation opens only with questions, and is certified only with its signed package."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from consultations.models import ConsultationPackage, ConsultationQuestion
from pb.phase_guards import phase_guard
from pb.processes import Phase, ProcessKind, WrongPhase


@phase_guard(ProcessKind.CONSULTATION, Phase.OPEN)
async def open_only_with_questions(session: AsyncSession, process: Any, target: str) -> None:
    found = await session.exec(
        select(ConsultationQuestion.id).where(ConsultationQuestion.process_id == process.id)
    )
    if found.first() is None:
        raise WrongPhase("Add at least one question before the consultation opens.")


@phase_guard(ProcessKind.CONSULTATION, Phase.CERTIFIED)
async def certified_only_with_a_package(session: AsyncSession, process: Any, target: str) -> None:
    if await session.get(ConsultationPackage, process.id) is None:
        raise WrongPhase(
            "A consultation is certified from its results page, which builds the signed package."
        )
