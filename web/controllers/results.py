"""Result pages: public results after the vote closes, the council's count and certification,
the receipt check, the signing key, and results and packages as open data.

Public pages show nothing until the vote is closed and counted. The count runs after the
response in a background task (its progress is polled by htmx, or refreshed by hand without
JavaScript); certification needs the configured number of different administrators.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from litestar import Controller, Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Response, Template
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from pb.accounts import Role, User
from pb.errors import DomainError, InvalidInput, NotFound
from pb.processes import District, Process, ProcessService, format_money, minor_digits
from pb.settings import Settings
from results import signing
from results.charts import Bar, budget_chart, district_chart
from results.models import DistrictResult, ProcessResult, ResultStatus
from results.service import (
    MAX_SIGNOFFS,
    ResultService,
    ResultView,
    comparison,
    explain_project,
    recount,
    run_tally,
)
from tally import TieBreak, scoring
from tally.model import Election, Outcome, format_number
from tally.tiebreak import natural_key
from web.auth import Viewer, requires_role
from web.controllers.proposals import errors_for, read_fields
from web.render import page, redirect_after_post
from web.session import flash

__all__ = ["ResultsAdminController", "ResultsApiController", "ResultsController"]

log = logging.getLogger("pb.web")

_RECEIPT = re.compile(r"^[A-Za-z0-9 \-]{4,64}$")
# Round details worth a column in the round-by-round table, with their labels.
FIGURES = (
    ("score", "score"),
    ("effective_votes", "effective votes"),
    ("max_payment", "most paid by one supporter"),
    ("max_load", "max load"),
    ("remaining_before", "left before"),
    ("budget_left", "left after"),
    ("shortfall", "short by"),
    ("budget_per_voter", "per voter"),
    ("total_cost", "total cost"),
)


def _num(x: Any) -> str:
    if isinstance(x, (int, Fraction)):
        text = format_number(x)
        if "/" in text:
            return f"{float(x):,.2f}"
        return text
    return str(x)


@dataclass(frozen=True)
class ProjectRow:
    id: str
    name: str
    cost: int
    votes: int
    score: str
    selected: bool
    rank: int
    score_value: Fraction


def _project_rows(election: Election, outcome: Outcome) -> list[ProjectRow]:
    scores = scoring.scores(election)
    chosen = set(outcome.selected)
    ordered = sorted(
        election.projects,
        key=lambda p: (p.id not in chosen, -Fraction(scores[p.id]), p.cost, natural_key(p.id)),
    )
    return [
        ProjectRow(
            p.id,
            p.name or p.id,
            int(p.cost),
            election.supporters[p.id],
            _num(scores[p.id]),
            p.id in chosen,
            i,
            Fraction(scores[p.id]),
        )
        for i, p in enumerate(ordered, start=1)
    ]


def _district_summary(
    process: Process, result: ProcessResult, district: District, row: DistrictResult
) -> dict[str, Any]:
    outcome = row.outcome
    selected = outcome["selected"]
    used = int(Fraction(str(outcome["total_cost"])))
    channels = row.channels_dict
    return {
        "district": district,
        "row": row,
        "selected": selected,
        "used": used,
        "left": district.budget - used,
        "channels": channels,
        "ballots": row.num_voters,
    }


def _money(process: Process) -> Any:
    """Minor units as money text; a negative amount (a reserve-funded overrun) keeps its sign."""

    def money(v: Any) -> str:
        amount = int(v)
        text = format_money(abs(amount), process.currency)
        return f"−{text}" if amount < 0 else text

    return money


async def _view(db_session: AsyncSession, settings: Settings, slug: str) -> ResultView:
    process = await ProcessService(db_session, settings).get_by_slug(slug)
    return await ResultService(db_session, settings).view(process.id)


def _district_of(view: ResultView, district_slug: str) -> tuple[District, DistrictResult]:
    for district, row in view.districts:
        if district.slug == district_slug:
            return district, row
    raise NotFound("No such district in these results.")


async def _recount(result: ProcessResult, row: DistrictResult) -> tuple[Election, Outcome]:
    return await asyncio.to_thread(recount, result, row)


def _rounds(outcome: Outcome, names: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for r in outcome.rounds:
        figures = [(label, _num(r.details[k])) for k, label in FIGURES if k in r.details]
        payments = r.details.get("payments")
        if payments:
            figures.append(
                (
                    "payments",
                    "; ".join(f"{p['voters']} × {_num(p['amount'])}" for p in payments),
                )
            )
        out.append(
            {
                "number": r.number,
                "decision": r.decision,
                "project": names.get(r.project or "", r.project or "—"),
                "project_id": r.project,
                "reason": r.reason,
                "figures": figures,
            }
        )
    return out


class ResultsController(Controller):
    """Public result pages (after the vote closed and was counted), receipt check, signing key."""

    path = "/results"
    include_in_schema = False

    @get("/", name="results_list")
    async def list_results(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
    ) -> Template:
        published = await ResultService(db_session, settings).published()
        pending: list[Process] = []
        if viewer.has(Role.ADMIN, Role.OFFICIAL):
            # The council's way in: budgets being voted on or waiting for their count.
            done = {p.id for p, r in published if r.status == ResultStatus.CERTIFIED}
            pending = [
                p
                for p in await ProcessService(db_session, settings).list()
                if p.kind == "budgeting" and p.phase in ("voting", "closed") and p.id not in done
            ]
        return page(
            request,
            "pages/results/list.html",
            viewer=viewer,
            published=published,
            pending=pending,
        )

    @get("/public-key", name="results_public_key")
    async def public_key(
        self, request: Request, settings: NamedDependency[Settings], viewer: NamedDependency[Viewer]
    ) -> Template:
        key = signing.public_key_hex(settings)
        return page(
            request,
            "pages/results/public_key.html",
            viewer=viewer,
            key=key,
            pem=signing.public_key_pem(key),
            fingerprint=signing.fingerprint(key),
        )

    @get("/receipt", name="results_receipt_form")
    async def receipt_form(self, request: Request, viewer: NamedDependency[Viewer]) -> Template:
        return page(
            request,
            "pages/results/receipt.html",
            partial="partials/results/receipt_result.html",
            viewer=viewer,
            values={"receipt": ""},
            errors={},
            found=None,
        )

    @post("/receipt", name="results_receipt_check")
    async def receipt_check(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
    ) -> Template:
        from results.receipts import find_receipt

        values = await read_fields(request, "receipt")
        try:
            text = values["receipt"].strip()
            if not _RECEIPT.match(text):
                raise InvalidInput(
                    "Enter the receipt code exactly as it was shown after voting.", field="receipt"
                )
            found = await find_receipt(db_session, settings, text)
        except DomainError as exc:
            return page(
                request,
                "pages/results/receipt.html",
                partial="partials/results/receipt_result.html",
                viewer=viewer,
                values=values,
                errors=errors_for(exc),
                found=None,
                status_code=exc.status_code,
            )
        return page(
            request,
            "pages/results/receipt.html",
            partial="partials/results/receipt_result.html",
            viewer=viewer,
            values=values,
            errors={},
            found=found,
        )

    @get("/{slug:str}", name="results_process")
    async def process_results(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> Template:
        view = await _view(db_session, settings, slug)
        money = _money(view.process)
        summaries = [_district_summary(view.process, view.result, d, r) for d, r in view.districts]
        charts = {
            s["district"].id: budget_chart(
                f"budget-{s['district'].slug}",
                f"Budget used in {s['district'].name}",
                s["used"],
                s["district"].budget,
                money(s["used"]),
                money(s["left"]),
            )
            for s in summaries
        }
        names: dict[str, dict[str, str]] = {}
        for d, r in view.districts:
            election, _ = await _recount(view.result, r)
            names[d.slug] = {p.id: p.name or p.id for p in election.projects}
        return page(
            request,
            "pages/results/process.html",
            viewer=viewer,
            view=view,
            process=view.process,
            result=view.result,
            summaries=summaries,
            names=names,
            tie_break=str(TieBreak.parse(view.result.tie_break)),
            charts=charts,
            money=money,
            is_admin=viewer.has(Role.ADMIN, Role.OFFICIAL),
        )

    @get("/{slug:str}/{district_slug:str}", name="results_district")
    async def district_results(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
        district_slug: FromPath[str],
    ) -> Template:
        view = await _view(db_session, settings, slug)
        district, row = _district_of(view, district_slug)
        election, outcome = await _recount(view.result, row)
        money = _money(view.process)
        projects = _project_rows(election, outcome)
        unit = scoring.score_label(election)
        unit = "votes" if unit == "votes" else "points"
        chart = district_chart(
            f"chart-{district.slug}",
            f"{unit.capitalize()} per project in {district.name}",
            [Bar(p.name, p.score_value, p.selected, p.score) for p in projects],
            unit,
        )
        names = {p.id: p.name for p in projects}
        return page(
            request,
            "pages/results/district.html",
            viewer=viewer,
            view=view,
            process=view.process,
            result=view.result,
            district=district,
            row=row,
            summary=_district_summary(view.process, view.result, district, row),
            projects=projects,
            rounds=_rounds(outcome, names),
            chart=chart,
            unit=unit,
            outcome=outcome,
            money=money,
        )

    @get("/{slug:str}/{district_slug:str}/why/{project_id:str}", name="results_why")
    async def why(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
        district_slug: FromPath[str],
        project_id: FromPath[str],
    ) -> Template:
        view = await _view(db_session, settings, slug)
        district, row = _district_of(view, district_slug)
        election, outcome = await _recount(view.result, row)
        project = election.project_by_id.get(project_id)
        if project is None:
            raise NotFound("No such project in this district's results.")
        text = await asyncio.to_thread(explain_project, view.result, row, project_id)
        return page(
            request,
            "pages/results/why.html",
            partial="partials/results/why.html",
            viewer=viewer,
            process=view.process,
            district=district,
            project=project,
            selected=project_id in outcome.selected,
            explanation=text,
            minor_units=minor_digits(view.process.currency) > 0,
        )


# ----------------------------------------------------------------------------------- admin


async def _tally_in_background(app_state: Any, settings: Settings, process_id: int) -> None:
    try:
        await run_tally(app_state.session_factory, settings, process_id)
    except Exception:  # recorded on the result as "failed"; the page shows the reason
        log.exception("count of process %s failed", process_id)


class ResultsAdminController(Controller):
    """The council's page: close and count, compare rules, sign off and certify.

    Officials may look (status, comparison); only administrators act (the service checks).
    """

    path = "/admin/results"
    guards = [requires_role(Role.ADMIN, Role.OFFICIAL)]
    include_in_schema = False

    async def _context(
        self, db_session: AsyncSession, settings: Settings, process_id: int
    ) -> dict[str, Any]:
        service = ResultService(db_session, settings)
        process = await ProcessService(db_session, settings).get(process_id)
        result = await service.result(process_id)
        view = None
        comparisons: list[dict[str, Any]] = []
        if result is not None and result.is_public:
            view = await service.view(process_id, public=False)
            for district, row in view.districts:
                election, _ = await _recount(result, row)
                names = {p.id: p.name or p.id for p in election.projects}
                rows = await asyncio.to_thread(comparison, result, row)
                comparisons.append({"district": district, "rows": rows, "names": names})
        return {
            "process": process,
            "result": result,
            "view": view,
            "comparisons": comparisons,
            "signoffs": await service.signoffs(process_id),
            "max_signoffs": MAX_SIGNOFFS,
            "money": _money(process),
        }

    @get("/{process_id:int}", name="results_admin")
    async def admin_page(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        process_id: FromPath[int],
    ) -> Template:
        context = await self._context(db_session, settings, process_id)
        return page(
            request,
            "pages/results/admin.html",
            viewer=viewer,
            errors={},
            is_admin=viewer.has(Role.ADMIN),
            **context,
        )

    @get("/{process_id:int}/status", name="results_admin_status")
    async def status(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        process_id: FromPath[int],
    ) -> Template:
        process = await ProcessService(db_session, settings).get(process_id)
        result = await ResultService(db_session, settings).result(process_id)
        return page(
            request,
            "pages/results/status.html",
            partial="partials/results/status.html",
            viewer=viewer,
            process=process,
            result=result,
        )

    async def _act(
        self,
        request: Request,
        db_session: AsyncSession,
        settings: Settings,
        viewer: Viewer,
        process_id: int,
        action: Any,
        message: str,
        *,
        background: bool = False,
    ) -> Response[Any]:
        try:
            outcome = await action()
        except DomainError as exc:
            await db_session.rollback()
            context = await self._context(db_session, settings, process_id)
            return page(
                request,
                "pages/results/admin.html",
                viewer=viewer,
                errors=errors_for(exc),
                is_admin=viewer.has(Role.ADMIN),
                status_code=exc.status_code,
                **context,
            )
        flash(request, outcome if isinstance(outcome, str) else message, "success")
        response = redirect_after_post(request, f"/admin/results/{process_id}")
        if background:
            response.background = BackgroundTask(
                _tally_in_background, request.app.state, settings, process_id
            )
        return response

    @post("/{process_id:int}/close", name="results_close")
    async def close(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: FromPath[int],
    ) -> Response[Any]:
        async def action() -> None:
            await ResultService(db_session, settings).close_voting(current_user, process_id)

        return await self._act(
            request, db_session, settings, viewer, process_id, action,
            "Voting is closed. The count has started.", background=True,
        )  # fmt: skip

    @post("/{process_id:int}/tally", name="results_tally")
    async def tally(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: FromPath[int],
    ) -> Response[Any]:
        async def action() -> None:
            await ResultService(db_session, settings).start_tally(current_user, process_id)

        return await self._act(
            request, db_session, settings, viewer, process_id, action,
            "The count has started.", background=True,
        )  # fmt: skip

    @post("/{process_id:int}/settings", name="results_settings")
    async def publication(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: FromPath[int],
    ) -> Response[Any]:
        values = await read_fields(request, "required_signoffs", "country", "unit")

        async def action() -> None:
            text = values["required_signoffs"].strip()
            if not text.isdecimal():
                raise InvalidInput(
                    f"Sign-offs needed must be a whole number from 1 to {MAX_SIGNOFFS}.",
                    field="required_signoffs",
                )
            await ResultService(db_session, settings).set_publication(
                current_user,
                process_id,
                required_signoffs=int(text),
                country=values["country"],
                unit=values["unit"],
            )

        return await self._act(
            request,
            db_session,
            settings,
            viewer,
            process_id,
            action,
            "Certification settings saved.",
        )

    @post("/{process_id:int}/signoff", name="results_signoff")
    async def signoff(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: FromPath[int],
    ) -> Response[Any]:
        async def action() -> str:
            result, certified = await ResultService(db_session, settings).sign_off(
                current_user, process_id
            )
            if certified:
                return "The result is certified. The signed package is published."
            return (
                "Your sign-off is recorded. Certification needs "
                f"{result.required_signoffs} different administrators."
            )

        return await self._act(request, db_session, settings, viewer, process_id, action, "")


# -------------------------------------------------------------------------------- open data


class ProjectResultPublic(BaseModel):
    id: str
    name: str
    cost: int
    votes: int
    score: str
    selected: bool


class DistrictResultPublic(BaseModel):
    district_id: int
    slug: str
    name: str
    budget: int
    ballots: int
    channels: dict[str, int]
    selected: list[str]
    total_cost: str
    leftover: str
    input_sha256: str
    projects: list[ProjectResultPublic]
    rounds: list[dict[str, Any]]


class ResultPublic(BaseModel):
    process_id: int
    process_slug: str
    status: str
    rule_id: str
    rule_params: dict[str, Any]
    tie_break: str
    software_version: str
    frozen_hash: str | None
    currency: str
    amounts: str = "integer minor currency units"
    certified: bool
    package_sha256: str | None
    districts: list[DistrictResultPublic]


class ResultSummary(BaseModel):
    process_id: int
    process_slug: str
    name: str
    status: str
    certified: bool


class SigningKeyPublic(BaseModel):
    algorithm: str
    public_key: str
    fingerprint: str
    pem: str


class ResultsApiController(Controller):
    path = "/api"
    tags = ["open data"]

    @get("/results", name="api_results", summary="Published results")
    async def results(
        self, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]
    ) -> list[ResultSummary]:
        """Every process whose vote is closed and counted, newest first."""
        return [
            ResultSummary(
                process_id=p.id,  # type: ignore[arg-type]
                process_slug=p.slug,
                name=p.name,
                status=r.status,
                certified=r.status == ResultStatus.CERTIFIED,
            )
            for p, r in await ResultService(db_session, settings).published()
        ]

    @get(
        "/processes/{process_id:int}/results",
        name="api_process_results",
        summary="Results of one process",
    )
    async def process_results(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        process_id: FromPath[int],
    ) -> ResultPublic:
        """Per district: ballots per channel, projects with cost, votes and score, the selection
        and every round of the count. Not found until the vote is closed and counted."""
        view = await ResultService(db_session, settings).view(process_id)
        districts = []
        for d, row in view.districts:
            election, outcome = await _recount(view.result, row)
            data = outcome.to_dict()
            districts.append(
                DistrictResultPublic(
                    district_id=d.id,  # type: ignore[arg-type]
                    slug=d.slug,
                    name=d.name,
                    budget=d.budget,
                    ballots=row.num_voters,
                    channels=row.channels_dict,
                    selected=list(outcome.selected),
                    total_cost=str(data["total_cost"]),
                    leftover=str(data["leftover"]),
                    input_sha256=row.input_sha256,
                    projects=[
                        ProjectResultPublic(
                            id=p.id,
                            name=p.name,
                            cost=p.cost,
                            votes=p.votes,
                            score=p.score,
                            selected=p.selected,
                        )  # fmt: skip
                        for p in _project_rows(election, outcome)
                    ],
                    rounds=data["rounds"],
                )
            )
        return ResultPublic(
            process_id=view.process.id,  # type: ignore[arg-type]
            process_slug=view.process.slug,
            status=view.result.status,
            rule_id=view.result.rule_id,
            rule_params=view.result.rule_params_dict,
            tie_break=view.result.tie_break,
            software_version=view.result.software_version,
            frozen_hash=view.result.frozen_hash,
            currency=view.process.currency,
            certified=view.package is not None,
            package_sha256=view.package.sha256 if view.package else None,
            districts=districts,
        )

    @get(
        "/processes/{process_id:int}/package",
        name="api_process_package",
        summary="Certified package (zip)",
        media_type="application/zip",
        response_description="The signed zip: results, anonymised ballots (.pb), certificate.",
    )
    async def package(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        process_id: FromPath[int],
    ) -> Response[bytes]:
        """The certified package; check it with ``pb verify PACKAGE.zip``."""
        process = await ProcessService(db_session, settings).get(process_id)
        found = await ResultService(db_session, settings).package(process_id)
        return Response(
            content=found.content,
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="{process.slug}-results.zip"',
                "Digest": f"sha-256={found.sha256}",
            },
        )

    @get("/signing-key", name="api_signing_key", summary="Key that signs certified packages")
    async def signing_key(self, settings: NamedDependency[Settings]) -> SigningKeyPublic:
        key = signing.public_key_hex(settings)
        return SigningKeyPublic(
            algorithm="Ed25519",
            public_key=key,
            fingerprint=signing.fingerprint(key),
            pem=signing.public_key_pem(key),
        )
