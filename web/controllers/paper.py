"""Officials enter paper ballots and, once voting has closed, see turnout per channel.

A paper ballot is entered for a roll entry (the reference number on the resident's poll card);
it goes through the same validation as an online ballot and takes the same pseudonym, so a
resident is counted once whichever channel they used first.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Response, Template
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ballots.service import BallotForm, ballot_form, cast_paper_ballot, turnout
from ballots.verification import roll_entry_by_reference
from pb.accounts import Role, User
from pb.errors import DomainError, InvalidBallot, NotEligible
from pb.processes import Phase, Process, ProcessKind, ProcessService
from pb.settings import Settings
from web.auth import Viewer, requires_role
from web.controllers.proposals import errors_for, read_fields
from web.controllers.voting import raw_ballot_from_form, render_ballot
from web.render import page, redirect_after_post
from web.session import flash

__all__ = ["PaperBallotController"]


class PaperBallotController(Controller):
    path = "/paper-ballots"
    guards = [requires_role(Role.OFFICIAL, Role.ADMIN)]
    include_in_schema = False

    @get("/", name="paper_home")
    async def index(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
    ) -> Template:
        result = await db_session.exec(
            select(Process)
            .where(
                Process.kind == ProcessKind.BUDGETING,
                col(Process.phase).in_([Phase.VOTING, Phase.CLOSED, Phase.CERTIFIED]),
            )
            .order_by(col(Process.id).desc())
        )
        return page(request, "pages/voting/paper_index.html", viewer=viewer, processes=result.all())

    async def _entry(
        self,
        request: Request,
        process_id: int,
        db_session: AsyncSession,
        settings: Settings,
        viewer: Viewer,
        *,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        processes = ProcessService(db_session, settings)
        process = await processes.get(process_id)
        return page(
            request,
            "pages/voting/paper_entry.html",
            viewer=viewer,
            status_code=status_code,
            process=process,
            districts=await processes.districts(process_id),
            errors=errors or {},
            values=values or {},
        )

    @get("/{process_id:int}", name="paper_entry")
    async def entry(
        self,
        request: Request,
        process_id: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
    ) -> Template:
        return await self._entry(request, process_id, db_session, settings, viewer)

    def _sheet(
        self,
        request: Request,
        viewer: Viewer,
        form: BallotForm,
        reference: str,
        raw: Any,
        *,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        return render_ballot(
            request,
            viewer,
            form,
            raw,
            errors=errors,
            status_code=status_code,
            template="pages/voting/paper_sheet.html",
            reference=reference,
        )

    @post("/{process_id:int}/sheet", name="paper_sheet")
    async def sheet(
        self,
        request: Request,
        process_id: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
    ) -> Template:
        """Step 1 done (reference and district): the ballot sheet to copy the paper onto."""
        values = await read_fields(request, "reference", "district_id")
        try:
            if not values["district_id"].isdecimal():
                raise NotEligible("Choose the district of the paper ballot.", field="district_id")
            form = await ballot_form(db_session, settings, process_id, int(values["district_id"]))
            entry = await roll_entry_by_reference(
                db_session, settings, process_id, values["reference"]
            )
            if entry is None:
                raise NotEligible(
                    "No entry on the residents roll has this reference number.", field="reference"
                )
            if form.district.id not in entry.district_ids:
                raise NotEligible(
                    f"This resident is not registered to vote in {form.district.name}.",
                    field="district_id",
                )
        except DomainError as exc:
            return await self._entry(
                request, process_id, db_session, settings, viewer,
                errors=errors_for(exc), values=values, status_code=exc.status_code,
            )  # fmt: skip
        empty: Any = {} if form.config.format in ("cumulative", "score") else []
        return self._sheet(request, viewer, form, values["reference"], empty)

    @post("/{process_id:int}/cast", name="paper_cast")
    async def cast(
        self,
        request: Request,
        process_id: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
    ) -> Response[Any] | Template:
        values = await read_fields(request, "reference", "district_id")
        district_id = int(values["district_id"]) if values["district_id"].isdecimal() else 0
        form = await ballot_form(db_session, settings, process_id, district_id)
        data = await request.form()
        raw: Any = []
        try:
            raw = raw_ballot_from_form(data, form.config, list(form.costs))
            result = await cast_paper_ballot(
                db_session,
                settings,
                actor=current_user,
                process_id=process_id,
                district_id=district_id,
                reference=values["reference"],
                raw_ballot=raw,
            )
        except InvalidBallot as exc:  # raised before anything is written
            return self._sheet(
                request, viewer, form, values["reference"], raw,
                errors={"__form__": exc.message}, status_code=422,
            )  # fmt: skip
        flash(
            request,
            f"Paper ballot recorded for {form.district.name}. Receipt for the resident "
            f"(shown once): {result.receipt}",
            "success",
        )
        return redirect_after_post(request, f"/paper-ballots/{process_id}")

    @get("/{process_id:int}/turnout", name="paper_turnout")
    async def turnout_page(
        self,
        request: Request,
        process_id: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
    ) -> Template:
        report = await turnout(db_session, settings, current_user, process_id)
        process = await ProcessService(db_session, settings).get(process_id)
        return page(
            request, "pages/voting/turnout.html", viewer=viewer, process=process, report=report
        )
