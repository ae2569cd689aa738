"""Administrators: the residents roll (CSV import with a per-line report) and voting codes.

Codes are shown exactly once, in the answer to the request that makes them: as a CSV download or
as a page of printable letters. Only their keyed hashes are stored, so they cannot be shown again.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Response, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from ballots.verification import (
    MAX_CODES_PER_BATCH,
    codes_issued,
    generate_codes,
    import_roll,
    roll_size,
)
from pb.accounts import Role, User
from pb.errors import InvalidInput
from pb.processes import ProcessService
from pb.settings import Settings
from web.auth import Viewer, requires_role
from web.controllers.proposals import read_fields, read_upload
from web.render import page

__all__ = ["RollController"]


class RollController(Controller):
    path = "/admin/processes"
    guards = [requires_role(Role.ADMIN)]
    include_in_schema = False

    async def _page(
        self,
        request: Request,
        process_id: int,
        db_session: AsyncSession,
        settings: Settings,
        viewer: Viewer,
        *,
        report: Any = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        processes = ProcessService(db_session, settings)
        process = await processes.get(process_id)
        districts = await processes.districts(process_id)
        return page(
            request,
            "pages/voting/roll.html",
            viewer=viewer,
            status_code=status_code,
            process=process,
            districts=districts,
            roll_size=await roll_size(db_session, process_id),
            codes=await codes_issued(db_session, process_id),
            report=report,
            errors=errors or {},
            max_codes=MAX_CODES_PER_BATCH,
        )

    @get("/{process_id:int}/voters", name="roll_home")
    async def home(
        self,
        request: Request,
        process_id: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
    ) -> Template:
        return await self._page(request, process_id, db_session, settings, viewer)

    @post("/{process_id:int}/roll", name="roll_import")
    async def upload(
        self,
        request: Request,
        process_id: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
    ) -> Template:
        data = await read_upload(request, "roll")
        if data is None:
            return await self._page(
                request, process_id, db_session, settings, viewer,
                errors={"roll": "Choose a CSV file to import."}, status_code=422,
            )  # fmt: skip
        report = await import_roll(db_session, settings, current_user, process_id, data)
        return await self._page(
            request, process_id, db_session, settings, viewer,
            report=report, status_code=200 if report.stored else 422,
        )  # fmt: skip

    @post("/{process_id:int}/codes", name="codes_generate")
    async def codes(
        self,
        request: Request,
        process_id: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
    ) -> Response[Any] | Template:
        values = await read_fields(request, "district_id", "count", "output")
        try:
            if not values["count"].strip().isdecimal():
                raise InvalidInput(
                    "Enter how many codes to make, as a whole number.", field="count"
                )
            if not values["district_id"].isdecimal():
                raise InvalidInput("Choose a district.", field="district_id")
            if values["output"] not in ("csv", "letters"):
                raise InvalidInput("Choose CSV or printable letters.", field="output")
            district_id = int(values["district_id"])
            codes = await generate_codes(
                db_session, settings, current_user, process_id, district_id, int(values["count"])
            )
        except InvalidInput as exc:
            return await self._page(
                request, process_id, db_session, settings, viewer,
                errors={exc.field or "__form__": exc.message}, status_code=422,
            )  # fmt: skip
        processes = ProcessService(db_session, settings)
        process = await processes.get(process_id)
        district = await processes.district(process_id, district_id)
        headers = {"Cache-Control": "no-store"}
        if values["output"] == "csv":
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(["process", "district", "code"])
            writer.writerows([process.slug, district.slug, c] for c in codes)
            name = f"{process.slug}-{district.slug}-codes.csv"
            headers["Content-Disposition"] = f'attachment; filename="{name}"'
            return Response(
                content=out.getvalue(),
                media_type="text/csv; charset=utf-8",
                headers=headers,
                status_code=200,
            )
        return page(
            request,
            "pages/voting/letters.html",
            viewer=viewer,
            process=process,
            district=district,
            codes=codes,
            vote_url=f"{request.base_url}processes/{process.slug}/vote".replace(
                "//processes", "/processes"
            ),
            headers=headers,
        )
