"""Process pages: the public list and detail, and the administrator's setup.

Admins create a process, set its ballot configuration, rule and thresholds, add districts with
their budgets and categories, and move it to the next phase with an explicit button. The setup
page stays readable after voting opens, but its forms are gone: the configuration is frozen.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Response, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from pb.accounts import Role, User
from pb.errors import DomainError, InvalidInput, NotFound
from pb.processes import (
    PHASE_LABELS,
    PHASES,
    Phase,
    Process,
    ProcessKind,
    ProcessService,
    format_money,
    money_input,
    parse_money,
    voting_phase,
)
from pb.settings import Settings
from proposals.service import ProposalService
from web.auth import Viewer, requires_role
from web.controllers.proposals import FORM_ERROR, acting_user, errors_for, read_fields
from web.render import page, redirect_after_post
from web.session import flash

__all__ = ["ProcessAdminController", "ProcessController"]

SETTINGS_FIELDS = (
    "name",
    "description",
    "currency",
    "min_age",
    "support_threshold",
    "flag_threshold",
    "ballot_config",
    "rule_id",
    "rule_params",
    "tie_break",
)


def _known_rules() -> list[str]:
    from tally import RULES

    return sorted(RULES)


def settings_values(process: Process | None) -> dict[str, str]:
    if process is None:
        return {
            "name": "",
            "slug": "",
            "kind": ProcessKind.BUDGETING,
            "description": "",
            "currency": "EUR",
            "min_age": "16",
            "support_threshold": "0",
            "flag_threshold": "3",
            "ballot_config": '{"format": "approval", "min_selections": 1, "max_selections": 5}',
            "rule_id": "",
            "rule_params": "{}",
            "tie_break": "",
            **{f"schedule_{p}": "" for p in Phase},
        }
    schedule = process.schedule_dict
    return {
        "name": process.name,
        "slug": process.slug,
        "kind": process.kind,
        "description": process.description,
        "currency": process.currency,
        "min_age": str(process.min_age),
        "support_threshold": str(process.support_threshold),
        "flag_threshold": str(process.flag_threshold),
        "ballot_config": json.dumps(process.ballot_config_dict, indent=1, sort_keys=True),
        "rule_id": process.rule_id,
        "rule_params": json.dumps(process.rule_params_dict, sort_keys=True),
        "tie_break": process.tie_break,
        **{f"schedule_{p}": schedule.get(str(p), "") for p in Phase},
    }


def _kind(text: str) -> ProcessKind:
    """The process kind a form asked for; anything unknown is a budgeting process."""
    try:
        return ProcessKind(text)
    except ValueError:
        return ProcessKind.BUDGETING


def settings_input(values: dict[str, str], kind: str) -> dict[str, Any]:
    data: dict[str, Any] = {name: values.get(name, "") for name in SETTINGS_FIELDS}
    for name in ("min_age", "support_threshold", "flag_threshold"):
        text = data[name].strip()
        if not text.isdecimal():
            label = name.replace("_", " ").capitalize()
            raise InvalidInput(f"{label} must be a whole number.", field=name)
        data[name] = int(text)
    data["schedule"] = {
        str(p): values.get(f"schedule_{p}", "")
        for p in PHASES[ProcessKind(kind)]
        if values.get(f"schedule_{p}", "")
    }
    return data


class ProcessController(Controller):
    """Public pages: every process that is out of draft, with its districts and phase history."""

    path = "/processes"
    include_in_schema = False

    @get("/", name="process_list")
    async def list_processes(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
    ) -> Template:
        service = ProcessService(db_session, settings)
        processes = await service.list(include_drafts=viewer.has(Role.ADMIN))
        return page(
            request,
            "pages/processes/list.html",
            viewer=viewer,
            processes=processes,
            is_admin=viewer.has(Role.ADMIN),
        )

    @get("/{slug:str}", name="process_detail")
    async def detail(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> Template:
        service = ProcessService(db_session, settings)
        process = await service.get_by_slug(slug)
        if not process.is_public and not viewer.has(Role.ADMIN):
            raise NotFound("No such process.")
        districts = await service.districts(process.id)
        history = await service.history(process.id)
        proposals = ProposalService(db_session, settings, await acting_user(db_session, viewer))
        counts = {
            d.id: (await proposals.list(process.id, district_id=d.id, per_page=1)).total
            for d in districts
        }
        ballot = {}
        if process.phase in (Phase.VOTING, Phase.CLOSED, Phase.CERTIFIED):
            ballot = {d.id: await proposals.ballot_projects(process.id, d.id) for d in districts}
        return page(
            request,
            "pages/processes/detail.html",
            viewer=viewer,
            process=process,
            districts=districts,
            categories=await service.categories(process.id),
            history=history,
            counts=counts,
            ballot=ballot,
            phase_labels=PHASE_LABELS,
            money=lambda v: format_money(v, process.currency),
            is_admin=viewer.has(Role.ADMIN),
            official_role=Role.OFFICIAL,
            can_propose=process.kind == "budgeting" and process.phase == Phase.SUBMISSION,
        )


class ProcessAdminController(Controller):
    """Administrators set up processes; every change is audit-logged by ``ProcessService``."""

    path = "/admin/processes"
    guards = [requires_role(Role.ADMIN)]
    include_in_schema = False

    @get("/new", name="process_new")
    async def new_form(self, request: Request, viewer: NamedDependency[Viewer]) -> Template:
        return self._new_page(request, viewer, values=settings_values(None))

    @post("/", name="process_create")
    async def create(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
    ) -> Response[Any]:
        values = await read_fields(
            request, *SETTINGS_FIELDS, "slug", "kind", *(f"schedule_{p}" for p in Phase)
        )
        try:
            kind = _kind(values["kind"]).value
            data = settings_input(values, kind) | {"slug": values["slug"], "kind": kind}
            process = await ProcessService(db_session, settings).create(current_user, data)
        except DomainError as exc:
            await db_session.rollback()
            return self._new_page(
                request, viewer, values=values, errors=errors_for(exc), status_code=exc.status_code
            )
        flash(request, f"Process “{process.name}” created. Add its districts next.", "success")
        return redirect_after_post(request, f"/admin/processes/{process.id}")

    def _new_page(
        self,
        request: Request,
        viewer: Viewer,
        *,
        values: dict[str, str],
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "pages/processes/new.html",
            partial="partials/proposals/process_settings_form.html",
            viewer=viewer,
            values=values,
            errors=errors or {},
            process=None,
            kinds=list(ProcessKind),
            phases=PHASES[_kind(values.get("kind", ""))],
            phase_labels=PHASE_LABELS,
            rules=_known_rules(),
            status_code=status_code,
        )

    @get("/{process_id:int}", name="process_setup")
    async def setup(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        process_id: FromPath[int],
    ) -> Template:
        return await self._setup_page(request, db_session, settings, viewer, process_id)

    async def _setup_page(
        self,
        request: Request,
        db_session: AsyncSession,
        settings: Settings,
        viewer: Viewer,
        process_id: int,
        *,
        form: str = "",
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        service = ProcessService(db_session, settings)
        process = await service.get(process_id)
        current = settings_values(process)
        return page(
            request,
            "pages/processes/setup.html",
            viewer=viewer,
            process=process,
            districts=await service.districts(process_id),
            categories=await service.categories(process_id),
            history=await service.history(process_id),
            frozen_ok=await service.verify_frozen(process_id),
            values=(values if form == "settings" and values is not None else current),
            district_values=(values if form == "district" and values is not None else {}),
            category_values=(values if form == "category" and values is not None else {}),
            errors=errors or {},
            failed_form=form,
            kinds=list(ProcessKind),
            phases=process.phases,
            phase_labels=PHASE_LABELS,
            next_phase=process.next_phase,
            voting_phase=voting_phase(process.kind),
            rules=_known_rules(),
            money=lambda v: format_money(v, process.currency),
            money_input=lambda v: money_input(v, process.currency),
            status_code=status_code,
        )

    @post("/{process_id:int}/settings", name="process_update")
    async def update(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: FromPath[int],
    ) -> Response[Any]:
        values = await read_fields(request, *SETTINGS_FIELDS, *(f"schedule_{p}" for p in Phase))
        service = ProcessService(db_session, settings)
        try:
            process = await service.get(process_id)
            await service.update(current_user, process_id, settings_input(values, process.kind))
        except DomainError as exc:
            await db_session.rollback()
            return await self._setup_page(
                request,
                db_session,
                settings,
                viewer,
                process_id,
                form="settings",
                values=values,
                errors=errors_for(exc),
                status_code=exc.status_code,
            )
        flash(request, "Settings saved.", "success")
        return redirect_after_post(request, f"/admin/processes/{process_id}")

    @post("/{process_id:int}/districts", name="process_add_district")
    async def add_district(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: FromPath[int],
    ) -> Response[Any]:
        values = await read_fields(request, "name", "slug", "budget", "is_citywide", "district_id")
        service = ProcessService(db_session, settings)
        try:
            process = await service.get(process_id)
            try:
                budget = parse_money(values["budget"], process.currency, "Budget")
            except ValueError as exc:
                raise InvalidInput(f"{exc}.", field="budget") from None
            data = {
                "name": values["name"],
                "budget": budget,
                "is_citywide": values["is_citywide"] == "1",
            }
            if values["district_id"]:
                if not values["district_id"].isdecimal():
                    raise InvalidInput("Unknown district.", field=FORM_ERROR)
                await service.update_district(
                    current_user, process_id, int(values["district_id"]), data
                )
                message = f"District “{values['name'].strip()}” saved."
            else:
                await service.add_district(
                    current_user, process_id, data | {"slug": values["slug"]}
                )
                message = f"District “{values['name'].strip()}” added."
        except DomainError as exc:
            await db_session.rollback()
            return await self._setup_page(
                request,
                db_session,
                settings,
                viewer,
                process_id,
                form="district",
                values=values,
                errors=errors_for(exc),
                status_code=exc.status_code,
            )
        flash(request, message, "success")
        return redirect_after_post(request, f"/admin/processes/{process_id}#districts")

    @post("/{process_id:int}/categories", name="process_add_category")
    async def add_category(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: FromPath[int],
    ) -> Response[Any]:
        values = await read_fields(request, "name")
        try:
            await ProcessService(db_session, settings).add_category(
                current_user, process_id, {"name": values["name"]}
            )
        except DomainError as exc:
            await db_session.rollback()
            return await self._setup_page(
                request,
                db_session,
                settings,
                viewer,
                process_id,
                form="category",
                values=values,
                errors=errors_for(exc),
                status_code=exc.status_code,
            )
        flash(request, f"Category “{values['name'].strip()}” added.", "success")
        return redirect_after_post(request, f"/admin/processes/{process_id}#categories")

    @post("/{process_id:int}/phase", name="process_advance")
    async def advance(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: FromPath[int],
    ) -> Response[Any]:
        values = await read_fields(request, "to_phase")
        try:
            process = await ProcessService(db_session, settings).advance_phase(
                current_user, process_id, values["to_phase"]
            )
        except DomainError as exc:
            await db_session.rollback()
            return await self._setup_page(
                request,
                db_session,
                settings,
                viewer,
                process_id,
                form="phase",
                errors=errors_for(exc),
                status_code=exc.status_code,
            )
        message = f"The process is now in the {PHASE_LABELS[Phase(process.phase)].lower()} phase."
        if process.frozen_hash and process.phase == voting_phase(process.kind):
            message += f" Configuration frozen (SHA-256 {process.frozen_hash[:12]}…)."
        flash(request, message, "success")
        return redirect_after_post(request, f"/admin/processes/{process_id}")
