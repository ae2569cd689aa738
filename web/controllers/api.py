"""Open data: processes and their published proposals as JSON (in the OpenAPI schema).

Read-only and anonymous: the answers are the same for everyone, whoever is signed in. Drafts
and hidden proposals are never listed; official costs appear once prices are published.
Errors are RFC 9457 problem documents (see ``web.errors``).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from pb.errors import NotFound
from pb.processes import ProcessDetail, ProcessPublic, ProcessService
from pb.settings import Settings
from proposals.lifecycle import ProposalStatus
from proposals.schemas import ProposalPage, ProposalPublic
from proposals.service import MAX_PER_PAGE, ProposalService

__all__ = ["ApiController"]


class ApiController(Controller):
    path = "/api"
    tags = ["open data"]

    @get("/processes", name="api_processes", summary="Processes")
    async def processes(
        self, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]
    ) -> list[ProcessPublic]:
        """Every process that is out of draft, newest first."""
        found = await ProcessService(db_session, settings).list()
        return [ProcessPublic.of(p) for p in found]

    @get("/processes/{process_id:int}", name="api_process", summary="One process")
    async def process(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        process_id: FromPath[int],
    ) -> ProcessDetail:
        """A process with its districts (budgets in minor currency units) and categories."""
        service = ProcessService(db_session, settings)
        process = await service.get(process_id)
        if not process.is_public:
            raise NotFound("No such process.")
        return ProcessDetail.build(
            process, await service.districts(process_id), await service.categories(process_id)
        )

    @get(
        "/processes/{process_id:int}/proposals",
        name="api_process_proposals",
        summary="Published proposals of a process",
    )
    async def proposals(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        process_id: FromPath[int],
        district_id: Annotated[int | None, QueryParameter(ge=1)] = None,
        category_id: Annotated[int | None, QueryParameter(ge=1)] = None,
        status: Annotated[
            ProposalStatus | None,
            QueryParameter(
                description="Only this status (drafts and hidden ones are never listed)."
            ),
        ] = None,
        q: Annotated[str | None, QueryParameter(max_length=100, description="Text search.")] = None,
        sort: Annotated[
            str, QueryParameter(pattern="^(newest|oldest|supports|cost|title)$")
        ] = "newest",
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, QueryParameter(ge=1, le=MAX_PER_PAGE)] = 50,
    ) -> ProposalPage:
        """Filter, search, sort and paginate the published proposals of one process."""
        result = await ProposalService(db_session, settings, None).list(
            process_id,
            district_id=district_id,
            category_id=category_id,
            status=status,
            q=q,
            sort=sort,
            page=page,
            per_page=per_page,
        )
        return ProposalPage(
            items=[ProposalPublic.of(p) for p in result.items],
            total=result.total,
            page=result.page,
            per_page=result.per_page,
            pages=result.pages,
        )
