"""Costing: valuators cost the proposals assigned to them; administrators assign and publish.

The costing form checks itself as it is filled in (htmx posts it to ``…/check``, which
validates without saving and shows the running total of the breakdown); without JavaScript the
same checks run when it is saved. Amounts are typed in currency units with up to two decimals
and stored exactly as integer minor units.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Response, Template
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from pb.accounts import AccountService, Role, User
from pb.errors import DomainError, Forbidden, InvalidInput
from pb.processes import (
    Phase,
    Process,
    ProcessService,
    format_money,
    money_input,
    parse_money,
    validate_input,
)
from pb.settings import Settings
from proposals.lifecycle import ProposalStatus
from proposals.models import Proposal
from proposals.schemas import MAX_BREAKDOWN_LINES, CostingInput
from proposals.service import ProposalService
from web.auth import Viewer, requires_role
from web.controllers.proposals import (
    errors_for,
    names_of,
    process_context,
    read_fields,
    status_label,
)
from web.render import is_htmx, page, redirect_after_post
from web.session import flash

__all__ = ["CostingController"]

EXTRA_LINES = 3


def costing_values(proposal: Proposal, currency: str) -> dict[str, Any]:
    lines = [
        {"item": line["item"], "amount": money_input(line["amount"], currency)}
        for line in proposal.breakdown
    ]
    return {
        "feasible": "" if proposal.feasible is None else ("yes" if proposal.feasible else "no"),
        "official_cost": money_input(proposal.official_cost, currency),
        "unfeasible_reason": proposal.unfeasible_reason,
        "duration_months": str(proposal.duration_months or ""),
        "lines": lines + [{"item": "", "amount": ""} for _ in range(EXTRA_LINES)],
        "version": str(proposal.version),
    }


async def read_costing_form(request: Request) -> dict[str, Any]:
    form = await request.form()

    def text(name: str) -> str:
        value = form.get(name)
        return value[:5000] if isinstance(value, str) else ""

    rows = text("rows")
    count = min(int(rows), MAX_BREAKDOWN_LINES + EXTRA_LINES) if rows.isdecimal() else EXTRA_LINES
    lines = [{"item": text(f"item_{i}"), "amount": text(f"amount_{i}")} for i in range(count)]
    return {
        "feasible": text("feasible"),
        "official_cost": text("official_cost"),
        "unfeasible_reason": text("unfeasible_reason"),
        "duration_months": text("duration_months"),
        "lines": lines,
        "version": text("version"),
        "intent": text("intent"),
    }


def costing_input(values: dict[str, Any], currency: str) -> CostingInput:
    """Form text → a validated ``CostingInput``; problems name the form field."""
    if values["feasible"] not in ("yes", "no"):
        raise InvalidInput("Say whether the proposal is feasible.", field="feasible")
    feasible = values["feasible"] == "yes"
    cost: int | None = None
    if values["official_cost"].strip():
        try:
            cost = parse_money(values["official_cost"], currency, "Official cost")
        except ValueError as exc:
            raise InvalidInput(f"{exc}.", field="official_cost") from None
    breakdown = []
    for i, line in enumerate(values["lines"]):
        if not line["item"].strip() and not line["amount"].strip():
            continue
        if not line["item"].strip():
            raise InvalidInput("Describe what each amount pays for.", field=f"item_{i}")
        try:
            amount = parse_money(line["amount"], currency, "Amount")
        except ValueError as exc:
            raise InvalidInput(f"{exc}.", field=f"amount_{i}") from None
        breakdown.append({"item": line["item"], "amount": amount})
    duration = values["duration_months"].strip()
    if duration and not duration.isdecimal():
        raise InvalidInput("Duration must be a whole number of months.", field="duration_months")
    return validate_input(
        CostingInput,
        {
            "feasible": feasible,
            "official_cost": cost,
            "breakdown": breakdown,
            "unfeasible_reason": values["unfeasible_reason"],
            "duration_months": int(duration) if duration else None,
        },
    )


def breakdown_total(values: dict[str, Any], currency: str) -> int | None:
    total = 0
    for line in values["lines"]:
        if line["amount"].strip():
            try:
                total += parse_money(line["amount"], currency)
            except ValueError:
                return None
    return total


class CostingController(Controller):
    path = "/costing"
    guards = [requires_role(Role.VALUATOR, Role.ADMIN)]
    include_in_schema = False

    @get("/", name="costing_list")
    async def overview(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: Annotated[int | None, QueryParameter(name="process", ge=1)] = None,
    ) -> Template:
        service = ProposalService(db_session, settings, current_user)
        is_admin = viewer.has(Role.ADMIN)
        rows = await db_session.exec(
            select(Process)
            .where(col(Process.phase).in_([Phase.REVIEW, Phase.COSTING, Phase.VOTING]))
            .order_by(col(Process.id))
        )
        processes = list(rows.all())
        selected = next((p for p in processes if p.id == process_id), None)
        if selected is None:
            selected = next((p for p in processes if p.phase == Phase.COSTING), None)
        proposals: list[Proposal] = []
        assignments: dict[int, list[int]] = {}
        if is_admin and selected is not None:
            proposals = await service.costing_list(selected.id)
            for p in proposals:
                assignments[p.id] = [a.valuator_id for a in await service.assignments(p.id)]
        mine = await service.assigned_to_me()
        valuators = (
            await AccountService(db_session, settings).list_users(role=Role.VALUATOR, limit=500)
            if is_admin
            else []
        )
        uncosted = sum(1 for p in proposals if p.status == ProposalStatus.APPROVED)
        return page(
            request,
            "pages/proposals/costing_list.html",
            viewer=viewer,
            is_admin=is_admin,
            processes=processes,
            selected=selected,
            proposals=proposals,
            assignments=assignments,
            mine=mine,
            valuators=valuators,
            people=await names_of(db_session, {v.id for v in valuators}),
            uncosted=uncosted,
            unpublished=any(
                p.costing_published_at is None
                and p.status in (ProposalStatus.FEASIBLE, ProposalStatus.UNFEASIBLE)
                for p in proposals
            ),
            process_by_id={p.id: p for p in processes},
            status_label=status_label,
            money=format_money,
        )

    @get("/proposals/{proposal_id:int}", name="costing_form")
    async def form(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        proposal_id: FromPath[int],
    ) -> Template:
        return await self._form_page(request, db_session, settings, viewer, proposal_id)

    async def _form_page(
        self,
        request: Request,
        db_session: AsyncSession,
        settings: Settings,
        viewer: Viewer,
        proposal_id: int,
        *,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        checked: bool = False,
        status_code: int = 200,
    ) -> Template:
        user = await db_session.get(User, viewer.user_id)
        service = ProposalService(db_session, settings, user)
        proposal = await service.get(proposal_id)
        if not viewer.has(Role.ADMIN) and user is not None:
            if user.id not in [a.valuator_id for a in await service.assignments(proposal_id)]:
                raise Forbidden("This proposal is not assigned to you.")
        ctx = await process_context(db_session, settings, viewer, process_id=proposal.process_id)
        currency = ctx.process.currency
        values = values or costing_values(proposal, currency)
        district = ctx.district_by_id.get(proposal.district_id)
        return page(
            request,
            "pages/proposals/costing_form.html",
            partial="partials/proposals/costing_form.html",
            viewer=viewer,
            ctx=ctx,
            process=ctx.process,
            proposal=proposal,
            district=district,
            values=values,
            errors=errors or {},
            checked=checked,
            total=breakdown_total(values, currency),
            money=ctx.money,
            status_label=status_label,
            editable=(
                ctx.process.phase == Phase.COSTING
                and proposal.costing_published_at is None
                and proposal.status
                in (ProposalStatus.APPROVED, ProposalStatus.FEASIBLE, ProposalStatus.UNFEASIBLE)
            ),
            over_budget=bool(
                district and proposal.official_cost and proposal.official_cost > district.budget
            ),
            status_code=status_code,
        )

    @post("/proposals/{proposal_id:int}/check", name="costing_check")
    async def check(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        proposal_id: FromPath[int],
    ) -> Template:
        """Validate the form without saving (htmx, on every change) or add breakdown lines."""
        values = await read_costing_form(request)
        if values["intent"] == "more_lines":
            values["lines"] += [{"item": "", "amount": ""} for _ in range(EXTRA_LINES)]
            values["lines"] = values["lines"][: MAX_BREAKDOWN_LINES + EXTRA_LINES]
        ctx = await process_context(
            db_session,
            settings,
            viewer,
            process_id=(
                await ProposalService(db_session, settings, current_user).get(proposal_id)
            ).process_id,
        )
        errors: dict[str, str] = {}
        if values["intent"] != "more_lines":
            try:
                costing_input(values, ctx.process.currency)
            except InvalidInput as exc:
                errors = errors_for(exc)
        return await self._form_page(
            request,
            db_session,
            settings,
            viewer,
            proposal_id,
            values=values,
            errors=errors,
            checked=True,
        )

    @post("/proposals/{proposal_id:int}", name="costing_save")
    async def save(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        proposal_id: FromPath[int],
    ) -> Response[Any]:
        values = await read_costing_form(request)
        service = ProposalService(db_session, settings, current_user)
        try:
            proposal = await service.get(proposal_id)
            process = await ProcessService(db_session, settings).get(proposal.process_id)
            data = costing_input(values, process.currency)
            version = int(values["version"]) if values["version"].isdecimal() else None
            proposal = await service.cost(proposal_id, data, version=version)
        except DomainError as exc:
            await db_session.rollback()
            return await self._form_page(
                request,
                db_session,
                settings,
                viewer,
                proposal_id,
                values=values,
                errors=errors_for(exc),
                status_code=exc.status_code,
            )
        flash(
            request,
            f"Costing of “{proposal.title}” saved: {status_label(proposal.status)}.",
            "success",
        )
        return redirect_after_post(request, f"/costing?process={proposal.process_id}")

    @post(
        "/proposals/{proposal_id:int}/assign",
        name="costing_assign",
        guards=[requires_role(Role.ADMIN)],
    )
    async def assign(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        current_user: NamedDependency[User],
        proposal_id: FromPath[int],
    ) -> Response[Any]:
        values = await read_fields(request, "valuator_id", "undo")
        service = ProposalService(db_session, settings, current_user)
        proposal = await service.get(proposal_id)
        back = f"/costing?process={proposal.process_id}"  # read now: a rollback expires it
        try:
            if not values["valuator_id"].isdecimal():
                raise InvalidInput("Choose a valuator.", field="valuator_id")
            if values["undo"] == "1":
                await service.unassign(proposal_id, int(values["valuator_id"]))
                message = "Valuator removed."
            else:
                await service.assign(proposal_id, int(values["valuator_id"]))
                message = "Valuator assigned."
        except DomainError as exc:
            await db_session.rollback()
            if is_htmx(request):
                raise exc from None
            flash(request, exc.message, "error")
            return redirect_after_post(request, back)
        flash(request, message, "success")
        return redirect_after_post(request, back)

    @post(
        "/processes/{process_id:int}/publish",
        name="costing_publish",
        guards=[requires_role(Role.ADMIN)],
    )
    async def publish(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        current_user: NamedDependency[User],
        process_id: FromPath[int],
    ) -> Response[Any]:
        service = ProposalService(db_session, settings, current_user)
        try:
            report = await service.publish_prices(process_id)
        except DomainError as exc:
            await db_session.rollback()
            if is_htmx(request):
                raise exc from None
            flash(request, exc.message, "error")
            return redirect_after_post(request, f"/costing?process={process_id}")
        flash(
            request,
            f"Prices published: {len(report.on_ballot)} on the ballot, "
            f"{len(report.over_budget)} over their district's budget, "
            f"{len(report.unfeasible)} unfeasible.",
            "success",
        )
        return redirect_after_post(request, f"/costing?process={process_id}")
