"""Residents verify and vote: verification forms, the ballot page, review, casting, the receipt.

The ballot page works without JavaScript: ticking boxes or typing points and pressing "Update
totals" (or "Review my ballot") renders the page again with the counters. With htmx the counter,
budget meter or points left update on every change. Casting answers a plain browser with a
redirect to the receipt page, which shows the receipt once: the code travels in a cookie scoped to
that page and deleted as it is shown, never in the server-side session; an htmx request gets the
receipt in the answer itself.

Casting itself is a lean route of its own, ``web.controllers.cast_form`` (the JSON endpoint is
``web.controllers.cast_api``): both read in one statement and hand the ballot to this worker's
``ballots.batch.CastBatcher``, which stores it together with the other casts of the moment in one
transaction (see that module for why and what it guarantees).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie, FormMultiDict
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Response, Template
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ballots import formats
from ballots.service import (
    BallotForm,
    ballot_form,
    has_voted,
    receipt_recorded,
)
from ballots.verification import verification_of, verify_with_code, verify_with_roll, voter_right
from pb.accounts import Role, User
from pb.errors import DomainError, InvalidBallot, NotEligible, NotFound
from pb.processes import District, Phase, Process, ProcessService, format_money, voting_phase
from pb.settings import Settings
from web.auth import Viewer, requires_login
from web.controllers.proposals import errors_for, read_fields
from web.render import page, redirect_after_post

__all__ = [
    "RECEIPT_COOKIE",
    "RECEIPT_MAX_AGE",
    "VotingController",
    "ballot_values",
    "public_process",
    "raw_ballot_from_form",
    "render_ballot",
]

RECEIPT_COOKIE = "pb_receipt"
RECEIPT_MAX_AGE = 600
MAX_FIELD = 40


@dataclass(frozen=True)
class ProjectRow:
    id: str
    title: str
    summary: str
    cost: int
    has_image: bool


def project_rows(form: BallotForm) -> list[ProjectRow]:
    return [
        ProjectRow(str(p.id), p.title, p.summary, int(p.official_cost or 0), bool(p.image_path))
        for p in form.projects
    ]


def raw_ballot_from_form(form: FormMultiDict, config: formats.BallotConfig, ids: list[str]) -> Any:
    """The ballot as the format's validator expects it, from the ballot page's fields."""
    return formats.FormBallot.from_items(form.multi_items()).raw(config, ids)


def ballot_values(raw: Any) -> dict[str, str]:
    """What each field shows when the page is rendered again: ``project id → value``."""
    if isinstance(raw, dict):
        return {k: str(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return {pid: str(i + 1) for i, pid in enumerate(raw) if isinstance(pid, str)}
    return {}


async def public_process(db_session: AsyncSession, settings: Settings, slug: str) -> Process:
    process = await ProcessService(db_session, settings).get_by_slug(slug)
    if not process.is_public:
        raise NotFound("No such process.")
    return process


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def render_ballot(
    request: Request,
    viewer: Viewer,
    form: BallotForm,
    raw: Any,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    template: str = "pages/voting/ballot.html",
    partial: str | None = None,
    **extra: Any,
) -> Template:
    """The ballot page (or ``template``) for ``raw``, the ballot as posted so far."""
    currency = form.process.currency
    meter = formats.summary(form.config, form.costs, raw)
    return page(
        request,
        template,
        partial=partial,
        viewer=viewer,
        status_code=status_code,
        process=form.process,
        district=form.district,
        config=form.config,
        format=form.config.format,
        projects=project_rows(form),
        values=ballot_values(raw),
        meter=meter,
        errors=errors or {},
        money=lambda v: format_money(v, currency),
        base=f"/processes/{form.process.slug}/vote/{form.district.id}",
        **extra,
    )


class VotingController(Controller):
    guards = [requires_login]

    # -- where to vote -------------------------------------------------------------------------

    @get("/vote", name="vote_index")
    async def index(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer],
    ) -> Template:
        """Processes open for voting or answers, and (administrators) their voters pages."""
        is_admin = viewer.has(Role.ADMIN)
        # Administrators prepare the roll before voting opens: they see every process still open.
        phases = (
            [p for p in Phase if p not in (Phase.CLOSED, Phase.CERTIFIED)]
            if is_admin
            else [Phase.VOTING, Phase.OPEN]
        )
        result = await db_session.exec(
            select(Process).where(col(Process.phase).in_(phases)).order_by(col(Process.id).desc())
        )
        return page(
            request,
            "pages/voting/index.html",
            viewer=viewer,
            processes=result.all(),
            is_admin=is_admin,
        )

    # -- verification ---------------------------------------------------------------------------

    @get("/processes/{slug:str}/vote", name="vote_home")
    async def home(
        self,
        request: Request,
        slug: FromPath[str],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
    ) -> Template:
        return await self._home(request, slug, db_session, settings, viewer)

    async def _home(
        self,
        request: Request,
        slug: str,
        db_session: AsyncSession,
        settings: Settings,
        viewer: Viewer,
        *,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Template:
        process = await public_process(db_session, settings, slug)
        assert viewer.user_id is not None
        districts = await ProcessService(db_session, settings).districts(process.id)
        verified = await verification_of(db_session, process.id, viewer.user_id)
        problem = ""
        eligible: list[District] = []
        voted: set[int] = set()
        if verified is not None:
            try:
                right = await voter_right(db_session, settings, process.id, viewer.user_id)
                eligible = [d for d in districts if d.id in right.districts]
                voted = await has_voted(db_session, settings, process.id, viewer.user_id)
            except NotEligible as exc:
                problem = exc.message
        return page(
            request,
            "pages/voting/home.html",
            viewer=viewer,
            status_code=status_code,
            headers=headers,
            process=process,
            verified=verified is not None,
            problem=problem,
            eligible=eligible,
            voted=voted,
            is_open=process.phase == voting_phase(process.kind),
            errors=errors or {},
            values=values or {},
        )

    @post("/processes/{slug:str}/verify/roll", name="vote_verify_roll")
    async def verify_roll(
        self,
        request: Request,
        slug: FromPath[str],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
    ) -> Response[Any] | Template:
        process = await public_process(db_session, settings, slug)
        values = await read_fields(request, "reference", "birth_date", "postcode")
        try:
            await verify_with_roll(
                db_session,
                settings,
                current_user,
                process.id,
                reference=values["reference"][: MAX_FIELD * 2],
                birth_date=values["birth_date"][:MAX_FIELD],
                postcode=values["postcode"][:MAX_FIELD],
                ip=_client_ip(request),
            )
        except DomainError as exc:
            return await self._refused(request, slug, db_session, settings, viewer, exc, values)
        return redirect_after_post(request, f"/processes/{slug}/vote")

    @post("/processes/{slug:str}/verify/code", name="vote_verify_code")
    async def verify_code(
        self,
        request: Request,
        slug: FromPath[str],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
    ) -> Response[Any] | Template:
        process = await public_process(db_session, settings, slug)
        values = await read_fields(request, "code")
        try:
            await verify_with_code(
                db_session,
                settings,
                current_user,
                process.id,
                code=values["code"],
                ip=_client_ip(request),
            )
        except DomainError as exc:
            if exc.field is None:
                exc.field = "code"
            return await self._refused(request, slug, db_session, settings, viewer, exc, values)
        return redirect_after_post(request, f"/processes/{slug}/vote")

    async def _refused(
        self,
        request: Request,
        slug: str,
        db_session: AsyncSession,
        settings: Settings,
        viewer: Viewer,
        exc: DomainError,
        values: dict[str, str],
    ) -> Template:
        # Whatever the failed attempt wrote was committed by the service; start clean.
        await db_session.rollback()
        keep = {k: v for k, v in values.items() if k != "code"}
        retry = getattr(exc, "retry_after", None)
        return await self._home(
            request,
            slug,
            db_session,
            settings,
            viewer,
            errors=errors_for(exc),
            values=keep,
            status_code=exc.status_code,
            headers={"Retry-After": str(retry)} if retry else None,
        )

    # -- the ballot -----------------------------------------------------------------------------

    async def _ballot(
        self,
        db_session: AsyncSession,
        settings: Settings,
        viewer: Viewer,
        slug: str,
        district_id: int,
    ) -> BallotForm:
        process = await public_process(db_session, settings, slug)
        form = await ballot_form(db_session, settings, process.id, district_id)
        assert viewer.user_id is not None
        right = await voter_right(db_session, settings, process.id, viewer.user_id)
        if district_id not in right.districts:
            raise NotEligible(f"You are not registered to vote in {form.district.name}.")
        if Phase(process.phase) is not voting_phase(process.kind):
            raise NotEligible(f"Voting is not open: the process is in the {process.phase} phase.")
        return form

    async def _read(self, request: Request, form: BallotForm) -> tuple[Any, dict[str, str]]:
        data = await request.form()
        try:
            return raw_ballot_from_form(data, form.config, list(form.costs)), {}
        except InvalidBallot as exc:
            return [], {"__form__": exc.message}

    @get("/processes/{slug:str}/vote/{district_id:int}", name="vote_ballot")
    async def ballot(
        self,
        request: Request,
        slug: FromPath[str],
        district_id: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
    ) -> Template:
        form = await self._ballot(db_session, settings, viewer, slug, district_id)
        return render_ballot(
            request, viewer, form, [] if form.config.format not in ("cumulative", "score") else {}
        )

    @post("/processes/{slug:str}/vote/{district_id:int}/summary", name="vote_summary")
    async def summary(
        self,
        request: Request,
        slug: FromPath[str],
        district_id: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
    ) -> Template:
        """The live counters (htmx), or the whole page again with them (no JavaScript)."""
        form = await self._ballot(db_session, settings, viewer, slug, district_id)
        raw, errors = await self._read(request, form)
        return render_ballot(
            request, viewer, form, raw, errors=errors, partial="partials/voting/meter.html"
        )

    @post("/processes/{slug:str}/vote/{district_id:int}/review", name="vote_review")
    async def review(
        self,
        request: Request,
        slug: FromPath[str],
        district_id: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
    ) -> Template:
        form = await self._ballot(db_session, settings, viewer, slug, district_id)
        raw, errors = await self._read(request, form)
        if not errors:
            try:
                valid = formats.validate_ballot(form.config, form.costs, raw)
            except InvalidBallot as exc:
                errors = {"__form__": exc.message}
        if errors:
            return render_ballot(request, viewer, form, raw, errors=errors, status_code=422)
        by_id = {p.id: p for p in project_rows(form)}
        chosen = [
            (by_id[pid], valid.points[i] if valid.points else None)
            for i, pid in enumerate(valid.projects)
        ]
        return render_ballot(
            request, viewer, form, raw, template="pages/voting/review.html", chosen=chosen
        )

    @get("/processes/{slug:str}/receipt", name="vote_receipt")
    async def receipt(
        self,
        request: Request,
        slug: FromPath[str],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
    ) -> Template:
        process = await public_process(db_session, settings, slug)
        receipt = None
        code, _, district = request.cookies.get(RECEIPT_COOKIE, "").partition(".")
        if code and district.isdecimal():
            found = await db_session.get(District, int(district))
            name = found.name if found is not None and found.process_id == process.id else ""
            receipt = {"code": code[:MAX_FIELD], "district": name}
        response = page(
            request,
            "pages/voting/receipt.html",
            viewer=viewer,
            process=process,
            receipt=receipt,
            headers={"Cache-Control": "no-store"},
        )
        # Shown once: the cookie is deleted with this answer.
        response.cookies.append(
            Cookie(key=RECEIPT_COOKIE, value="", path=request.url.path, max_age=0, expires=0)
        )
        return response


class ReceiptCheckController(Controller):
    """Anyone holding a receipt may check that a ballot with it is in the ballot store."""

    @get("/processes/{slug:str}/receipt-check", name="receipt_check")
    async def form(
        self,
        request: Request,
        slug: FromPath[str],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
    ) -> Template:
        process = await public_process(db_session, settings, slug)
        return page(
            request,
            "pages/voting/receipt_check.html",
            viewer=viewer,
            process=process,
            found=None,
            errors={},
            values={},
        )

    @post("/processes/{slug:str}/receipt-check", name="receipt_check_post")
    async def check(
        self,
        request: Request,
        slug: FromPath[str],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
    ) -> Template:
        process = await public_process(db_session, settings, slug)
        values = await read_fields(request, "receipt")
        code = values["receipt"].strip()[:MAX_FIELD]
        if not code:
            return page(
                request, "pages/voting/receipt_check.html", viewer=viewer, process=process,
                found=None, errors={"receipt": "Enter the receipt code you were shown."},
                values=values, status_code=422,
            )  # fmt: skip
        found = await receipt_recorded(db_session, process.id, code)
        return page(
            request, "pages/voting/receipt_check.html", viewer=viewer, process=process,
            found=found, errors={}, values=values,
        )  # fmt: skip
