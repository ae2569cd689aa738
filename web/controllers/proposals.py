"""Proposal pages for residents and visitors: browse, read, propose, edit, support, flag, comment.

Every form posts back to an address of its own. Without JavaScript a successful post redirects
(303) and a refused one re-renders the page with the errors; with htmx the relevant fragment is
swapped in place (the filter form swaps only the result list). All writes go through
``ProposalService``; a refused write is rolled back before the page is rendered again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import File, Response, Template
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from pb.accounts import Role, User
from pb.errors import DomainError, InvalidInput, NotFound
from pb.processes import (
    Category,
    District,
    Phase,
    Process,
    ProcessService,
    format_money,
    money_input,
    parse_money,
)
from pb.settings import Settings
from proposals.lifecycle import (
    ACTION_LABELS,
    PUBLIC_STATUSES,
    STATUS_LABELS,
    ProposalAction,
    ProposalActivity,
    ProposalStatus,
    actions_from,
    allowed_in_phase,
    may,
)
from proposals.media import image_path
from proposals.models import Proposal
from proposals.service import SORTS, ProposalService
from web.auth import Viewer
from web.render import is_htmx, page, redirect_after_post
from web.session import flash

__all__ = [
    "FORM_ERROR",
    "InboxController",
    "ProposalController",
    "acting_user",
    "money",
    "read_fields",
    "status_label",
]

FORM_ERROR = "__form__"
MAX_TEXT_FIELD = 12_000
PER_PAGE = 12
SORT_LABELS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "supports": "Most supported",
    "cost": "Lowest estimated cost",
    "title": "Title (A–Z)",
}
PROPOSAL_FIELDS = (
    "title",
    "summary",
    "description",
    "district_id",
    "category_id",
    "estimated_cost",
    "location",
)


# ------------------------------------------------------------------------------------- helpers


async def read_fields(request: Request, *names: str) -> dict[str, str]:
    """Text fields of a posted form (url-encoded or multipart); missing ones are empty."""
    form = await request.form()
    values: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        values[name] = value[:MAX_TEXT_FIELD] if isinstance(value, str) else ""
    return values


async def read_upload(request: Request, name: str) -> bytes | None:
    """The bytes of an uploaded file, or ``None`` when the field was left empty."""
    form = await request.form()
    upload = form.get(name)
    if isinstance(upload, UploadFile):
        data = await upload.read()
        return data or None
    return None


async def acting_user(db_session: AsyncSession, viewer: Viewer) -> User | None:
    """The signed-in user's row (fresh from this session), or ``None`` for a visitor."""
    if viewer.user_id is None:
        return None
    return await db_session.get(User, viewer.user_id)


def money(value: int | None, currency: str) -> str:
    return format_money(value, currency)


def status_label(status: str) -> str:
    try:
        return STATUS_LABELS[ProposalStatus(status)]
    except ValueError:
        return status


def parse_money_field(values: dict[str, str], name: str, currency: str, what: str) -> int:
    try:
        return parse_money(values.get(name, ""), currency, what)
    except ValueError as exc:
        raise InvalidInput(f"{exc}.", field=name) from None


def errors_for(exc: DomainError) -> dict[str, str]:
    return {exc.field or FORM_ERROR: exc.message}


async def names_of(db_session: AsyncSession, user_ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    rows = await db_session.exec(select(User.id, User.display_name).where(col(User.id).in_(ids)))
    return {uid: name for uid, name in rows.all()}


@dataclass
class ProcessContext:
    process: Process
    districts: list[District]
    categories: list[Category]
    district_by_id: dict[int, District] = field(default_factory=dict)
    category_by_id: dict[int, Category] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.district_by_id = {d.id: d for d in self.districts}  # type: ignore[misc]
        self.category_by_id = {c.id: c for c in self.categories}  # type: ignore[misc]

    def money(self, value: int | None) -> str:
        return format_money(value, self.process.currency)


async def process_context(
    db_session: AsyncSession,
    settings: Settings,
    viewer: Viewer,
    *,
    slug: str | None = None,
    process_id: int | None = None,
) -> ProcessContext:
    """A process with its districts and categories; drafts only for administrators."""
    processes = ProcessService(db_session, settings)
    process = await (processes.get_by_slug(slug) if slug else processes.get(process_id or 0))
    if not process.is_public and not viewer.has(Role.ADMIN):
        raise NotFound("No such process.")
    return ProcessContext(
        process, await processes.districts(process.id), await processes.categories(process.id)
    )


def allowed_actions(viewer: Viewer, proposal: Proposal, process: Process) -> set[ProposalAction]:
    """Actions the viewer could take now (role, phase and status; assignment not checked)."""
    is_author = viewer.user_id == proposal.proposer_id
    return {
        action
        for action in actions_from(proposal.status)
        if may(action, viewer.roles, is_author=is_author)
        and allowed_in_phase(action, process.phase)
        and process.kind == "budgeting"
    }


def proposal_form_values(proposal: Proposal | None, currency: str) -> dict[str, str]:
    if proposal is None:
        return {name: "" for name in PROPOSAL_FIELDS}
    return {
        "title": proposal.title,
        "summary": proposal.summary,
        "description": proposal.description,
        "district_id": str(proposal.district_id),
        "category_id": str(proposal.category_id or ""),
        "estimated_cost": money_input(proposal.estimated_cost, currency),
        "location": proposal.location,
    }


def proposal_input(values: dict[str, str], currency: str) -> dict[str, Any]:
    """Form text → service input; the money field is parsed exactly into minor units."""
    return {
        "title": values["title"],
        "summary": values["summary"],
        "description": values["description"],
        "district_id": values["district_id"] or None,
        "category_id": values["category_id"] or None,
        "estimated_cost": parse_money_field(values, "estimated_cost", currency, "Estimated cost"),
        "location": values["location"],
    }


# ------------------------------------------------------------------------------------- pages


class ProposalController(Controller):
    include_in_schema = False

    # ---- list -------------------------------------------------------------------------------

    @get("/processes/{slug:str}/proposals", name="proposal_list")
    async def list_proposals(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
        district: Annotated[int | None, QueryParameter(ge=1)] = None,
        category: Annotated[int | None, QueryParameter(ge=1)] = None,
        status: Annotated[str | None, QueryParameter(max_length=40)] = None,
        q: Annotated[str | None, QueryParameter(max_length=200)] = None,
        sort: Annotated[str, QueryParameter(max_length=20)] = "newest",
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=100_000)] = 1,
        mine: FromQuery[bool] = False,
    ) -> Template:
        ctx = await process_context(db_session, settings, viewer, slug=slug)
        service = ProposalService(db_session, settings, await acting_user(db_session, viewer))
        if sort not in SORTS:
            sort = "newest"
        error = ""
        try:
            results = await service.list(
                ctx.process.id,
                district_id=district,
                category_id=category,
                status=status or None,
                q=q,
                sort=sort,
                page=page_number,
                per_page=PER_PAGE,
                mine=mine and viewer.is_authenticated,
            )
        except InvalidInput as exc:
            error = exc.message
            status = None
            results = await service.list(ctx.process.id, sort=sort, per_page=PER_PAGE)
        filters = {
            "district": district or "",
            "category": category or "",
            "status": status or "",
            "q": q or "",
            "sort": sort,
            "mine": "1" if mine else "",
        }
        base = f"/processes/{slug}/proposals"

        def page_url(n: int) -> str:
            query = {k: v for k, v in filters.items() if v not in ("", None)} | {"page": n}
            return f"{base}?{urlencode(query)}"

        statuses = sorted(PUBLIC_STATUSES, key=list(ProposalStatus).index)
        if viewer.has(Role.MODERATOR, Role.ADMIN):
            statuses.append(ProposalStatus.HIDDEN)
        return page(
            request,
            "pages/proposals/list.html",
            partial="partials/proposals/results.html",
            viewer=viewer,
            ctx=ctx,
            process=ctx.process,
            results=results,
            filters=filters,
            statuses=statuses,
            sort_labels=SORT_LABELS,
            status_label=status_label,
            page_url=page_url,
            list_url=base,
            error=error,
            can_propose=_can_propose(viewer, ctx.process),
        )

    # ---- new --------------------------------------------------------------------------------

    @get("/processes/{slug:str}/proposals/new", name="proposal_new")
    async def new_form(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        slug: FromPath[str],
    ) -> Template:
        ctx = await process_context(db_session, settings, viewer, slug=slug)
        values = proposal_form_values(None, ctx.process.currency)
        return self._form_page(request, viewer, ctx, values=values)

    @post("/processes/{slug:str}/proposals", name="proposal_create")
    async def create(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        slug: FromPath[str],
    ) -> Response[Any]:
        ctx = await process_context(db_session, settings, viewer, slug=slug)
        values = await read_fields(request, *PROPOSAL_FIELDS, "intent")
        submit = values.pop("intent") != "draft"
        try:
            image = await read_upload(request, "image")
            data = proposal_input(values, ctx.process.currency)
            proposal = await ProposalService(db_session, settings, current_user).create(
                ctx.process.id, data, image=image, submit=submit
            )
        except DomainError as exc:
            await db_session.rollback()
            ctx = await process_context(db_session, settings, viewer, slug=slug)
            return self._form_page(
                request,
                viewer,
                ctx,
                values=values,
                errors=errors_for(exc),
                status_code=exc.status_code,
            )
        flash(
            request,
            "Your proposal was submitted. Moderators will review it."
            if submit
            else "Your draft is saved. Submit it when it is ready.",
            "success",
        )
        return redirect_after_post(request, f"/proposals/{proposal.id}")

    def _form_page(
        self,
        request: Request,
        viewer: Viewer,
        ctx: ProcessContext,
        *,
        values: dict[str, str],
        errors: dict[str, str] | None = None,
        proposal: Proposal | None = None,
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "pages/proposals/form.html",
            partial="partials/proposals/form.html",
            viewer=viewer,
            ctx=ctx,
            process=ctx.process,
            proposal=proposal,
            values=values,
            errors=errors or {},
            status_code=status_code,
        )

    # ---- detail -----------------------------------------------------------------------------

    @get("/proposals/{proposal_id:int}", name="proposal_detail")
    async def detail(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        proposal_id: FromPath[int],
    ) -> Template:
        return await self._detail_page(request, db_session, settings, viewer, proposal_id)

    async def _detail_page(
        self,
        request: Request,
        db_session: AsyncSession,
        settings: Settings,
        viewer: Viewer,
        proposal_id: int,
        *,
        errors: dict[str, str] | None = None,
        comment_body: str = "",
        status_code: int = 200,
        partial: str | None = None,
    ) -> Template:
        user = await acting_user(db_session, viewer)
        service = ProposalService(db_session, settings, user)
        proposal = await service.get(proposal_id)
        ctx = await process_context(db_session, settings, viewer, process_id=proposal.process_id)
        history = await service.history(proposal_id)
        comments = await service.comments(proposal_id)
        readable = {c.id: await service.can_read_comment(c) for c in comments}
        people = await names_of(
            db_session,
            {proposal.proposer_id}
            | {e.actor_id for e in history}
            | {c.author_id for c in comments},
        )
        merged_into = (
            await db_session.get(Proposal, proposal.merged_into_id)
            if proposal.merged_into_id
            else None
        )
        process = ctx.process
        actions = allowed_actions(viewer, proposal, process)
        is_author = viewer.user_id == proposal.proposer_id
        public_status = ProposalStatus(proposal.status) in PUBLIC_STATUSES
        in_public_phase = process.phase in (
            Phase.SUBMISSION,
            Phase.REVIEW,
            Phase.COSTING,
            Phase.VOTING,
        )
        return page(
            request,
            "pages/proposals/detail.html",
            partial=partial,
            viewer=viewer,
            ctx=ctx,
            process=process,
            proposal=proposal,
            district=ctx.district_by_id.get(proposal.district_id),
            category=ctx.category_by_id.get(proposal.category_id or 0),
            proposer_name=people.get(proposal.proposer_id, "a resident"),
            history=history,
            comments=comments,
            readable=readable,
            people=people,
            merged_into=merged_into,
            actions=actions,
            is_author=is_author,
            supports=await service.supports(proposal_id),
            flagged=await service.flagged(proposal_id),
            can_support=(
                viewer.has(Role.RESIDENT)
                and not is_author
                and proposal.status == ProposalStatus.SUBMITTED
                and allowed_in_phase(ProposalActivity.SUPPORT, process.phase)
            ),
            can_flag=viewer.has(Role.RESIDENT)
            and not is_author
            and public_status
            and in_public_phase,
            can_comment=viewer.has(Role.RESIDENT) and public_status and in_public_phase,
            can_moderate_comments=viewer.has(Role.MODERATOR, Role.ADMIN),
            is_moderator=viewer.has(Role.MODERATOR, Role.ADMIN),
            status_label=status_label,
            action_label=_event_label,
            errors=errors or {},
            comment_body=comment_body,
            status_code=status_code,
        )

    @get("/proposals/{proposal_id:int}/image", name="proposal_image")
    async def image(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        proposal_id: FromPath[int],
    ) -> File:
        proposal = await ProposalService(
            db_session, settings, await acting_user(db_session, viewer)
        ).get(proposal_id)
        path = image_path(settings, proposal.image_path or "")
        if path is None or not path.is_file() or not proposal.image_type:
            raise NotFound("This proposal has no image.")
        return File(
            path=path,
            media_type=proposal.image_type,
            content_disposition_type="inline",
            filename=f"proposal-{proposal.id}.{path.suffix.lstrip('.')}",
            headers={"Cache-Control": "private, max-age=300"},
        )

    # ---- edit, submit, withdraw -------------------------------------------------------------

    @get("/proposals/{proposal_id:int}/edit", name="proposal_edit")
    async def edit_form(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        proposal_id: FromPath[int],
    ) -> Template:
        proposal = await ProposalService(db_session, settings, current_user).get(proposal_id)
        if proposal.proposer_id != current_user.id:
            raise NotFound("No such proposal.")
        ctx = await process_context(db_session, settings, viewer, process_id=proposal.process_id)
        values = proposal_form_values(proposal, ctx.process.currency)
        return self._form_page(request, viewer, ctx, values=values, proposal=proposal)

    @post("/proposals/{proposal_id:int}/edit", name="proposal_update")
    async def update(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        proposal_id: FromPath[int],
    ) -> Response[Any]:
        values = await read_fields(request, *PROPOSAL_FIELDS, "version", "remove_image", "intent")
        service = ProposalService(db_session, settings, current_user)
        proposal = await service.get(proposal_id)
        ctx = await process_context(db_session, settings, viewer, process_id=proposal.process_id)
        resubmit = values.pop("intent") == "resubmit"
        try:
            version = _int_or_none(values.pop("version"))
            remove = values.pop("remove_image") == "1"
            image = await read_upload(request, "image")
            data = proposal_input(values, ctx.process.currency)
            proposal = await service.edit(
                proposal_id, data, version=version, image=image, remove_image=remove
            )
            if resubmit:
                await service.resubmit(proposal_id)
        except DomainError as exc:
            await db_session.rollback()
            proposal = await db_session.get(Proposal, proposal_id, populate_existing=True)
            ctx = await process_context(
                db_session, settings, viewer, process_id=proposal.process_id
            )
            return self._form_page(
                request,
                viewer,
                ctx,
                values=values,
                proposal=proposal,
                errors=errors_for(exc),
                status_code=exc.status_code,
            )
        flash(
            request, "Your proposal was resubmitted." if resubmit else "Changes saved.", "success"
        )
        return redirect_after_post(request, f"/proposals/{proposal_id}")

    @post("/proposals/{proposal_id:int}/submit", name="proposal_submit")
    async def submit(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        proposal_id: FromPath[int],
    ) -> Response[Any]:
        return await self._author_action(
            request, db_session, settings, viewer, current_user, proposal_id, ProposalAction.SUBMIT
        )

    @post("/proposals/{proposal_id:int}/resubmit", name="proposal_resubmit")
    async def resubmit(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        proposal_id: FromPath[int],
    ) -> Response[Any]:
        return await self._author_action(
            request,
            db_session,
            settings,
            viewer,
            current_user,
            proposal_id,
            ProposalAction.RESUBMIT,
        )

    @post("/proposals/{proposal_id:int}/withdraw", name="proposal_withdraw")
    async def withdraw(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        proposal_id: FromPath[int],
    ) -> Response[Any]:
        return await self._author_action(
            request,
            db_session,
            settings,
            viewer,
            current_user,
            proposal_id,
            ProposalAction.WITHDRAW,
        )

    async def _author_action(
        self,
        request: Request,
        db_session: AsyncSession,
        settings: Settings,
        viewer: Viewer,
        user: User,
        proposal_id: int,
        action: ProposalAction,
    ) -> Response[Any]:
        values = await read_fields(request, "version", "reason")
        service = ProposalService(db_session, settings, user)
        try:
            version = _int_or_none(values["version"])
            if action is ProposalAction.SUBMIT:
                await service.submit(proposal_id, version=version)
            elif action is ProposalAction.RESUBMIT:
                await service.resubmit(proposal_id, version=version)
            else:
                await service.withdraw(proposal_id, reason=values["reason"], version=version)
        except DomainError as exc:
            await db_session.rollback()
            return await self._refused(request, db_session, settings, viewer, proposal_id, exc)
        messages = {
            ProposalAction.SUBMIT: "Your proposal was submitted. Moderators will review it.",
            ProposalAction.RESUBMIT: "Your proposal was resubmitted.",
            ProposalAction.WITHDRAW: "Your proposal was withdrawn.",
        }
        flash(request, messages[action], "success")
        return redirect_after_post(request, f"/proposals/{proposal_id}")

    async def _refused(
        self,
        request: Request,
        db_session: AsyncSession,
        settings: Settings,
        viewer: Viewer,
        proposal_id: int,
        exc: DomainError,
        **extra: Any,
    ) -> Response[Any]:
        """The detail page again with the reason; for htmx just the message (error handler)."""
        if is_htmx(request):
            raise exc
        flash(request, exc.message, "error")
        try:
            return await self._detail_page(
                request,
                db_session,
                settings,
                viewer,
                proposal_id,
                status_code=exc.status_code,
                errors=errors_for(exc),
                **extra,
            )
        except NotFound:
            raise exc from None

    # ---- support, flag, comment -------------------------------------------------------------

    @post("/proposals/{proposal_id:int}/support", name="proposal_support")
    async def support(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        proposal_id: FromPath[int],
    ) -> Response[Any]:
        values = await read_fields(request, "undo")
        service = ProposalService(db_session, settings, current_user)
        try:
            if values["undo"] == "1":
                await service.unsupport(proposal_id)
            else:
                await service.support(proposal_id)
        except DomainError as exc:
            await db_session.rollback()
            return await self._refused(request, db_session, settings, viewer, proposal_id, exc)
        if is_htmx(request):
            return await self._detail_page(
                request,
                db_session,
                settings,
                viewer,
                proposal_id,
                partial="partials/proposals/support.html",
            )
        flash(
            request,
            "You no longer support this proposal."
            if values["undo"] == "1"
            else "Thank you for your support.",
            "success",
        )
        return redirect_after_post(request, f"/proposals/{proposal_id}")

    @post("/proposals/{proposal_id:int}/flag", name="proposal_flag")
    async def flag(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        proposal_id: FromPath[int],
    ) -> Response[Any]:
        values = await read_fields(request, "reason")
        try:
            await ProposalService(db_session, settings, current_user).flag(
                proposal_id, values["reason"]
            )
        except DomainError as exc:
            await db_session.rollback()
            return await self._refused(request, db_session, settings, viewer, proposal_id, exc)
        flash(request, "Thank you. Moderators will look at this proposal.", "success")
        return redirect_after_post(request, f"/proposals/{proposal_id}")

    @post("/proposals/{proposal_id:int}/comments", name="proposal_comment")
    async def comment(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        proposal_id: FromPath[int],
    ) -> Response[Any]:
        values = await read_fields(request, "body")
        try:
            await ProposalService(db_session, settings, current_user).comment(
                proposal_id, {"body": values["body"]}
            )
        except DomainError as exc:
            await db_session.rollback()
            if is_htmx(request) and isinstance(exc, InvalidInput):
                return await self._detail_page(
                    request,
                    db_session,
                    settings,
                    viewer,
                    proposal_id,
                    partial="partials/proposals/comments.html",
                    errors=errors_for(exc),
                    comment_body=values["body"],
                    status_code=exc.status_code,
                )
            return await self._refused(
                request,
                db_session,
                settings,
                viewer,
                proposal_id,
                exc,
                comment_body=values["body"],
            )
        if is_htmx(request):
            return await self._detail_page(
                request,
                db_session,
                settings,
                viewer,
                proposal_id,
                partial="partials/proposals/comments.html",
            )
        flash(request, "Your comment is published.", "success")
        return redirect_after_post(request, f"/proposals/{proposal_id}#comments")

    @post("/comments/{comment_id:int}/flag", name="comment_flag")
    async def flag_comment(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        comment_id: FromPath[int],
    ) -> Response[Any]:
        values = await read_fields(request, "reason")
        service = ProposalService(db_session, settings, current_user)
        try:
            comment = await service.flag_comment(comment_id, values["reason"])
            proposal_id = comment.proposal_id
        except DomainError as exc:
            await db_session.rollback()
            raise exc from None
        flash(request, "Thank you. Moderators will look at this comment.", "success")
        return redirect_after_post(request, f"/proposals/{proposal_id}#comments")


def _int_or_none(text: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdecimal():
        raise InvalidInput("The form is out of date; reload the page.", field=FORM_ERROR)
    return int(text)


def _can_propose(viewer: Viewer, process: Process) -> bool:
    return process.kind == "budgeting" and process.phase == Phase.SUBMISSION


_EVENT_LABELS = {
    "create": "created as a draft",
    "assign": "assigned to a valuator",
    "comment_hidden": "a comment was hidden",
    "comment_restored": "a comment was restored",
    "comment_flags_dismissed": "flags on a comment were dismissed",
    "flags_dismissed": "flags were dismissed",
}


def _event_label(action: str) -> str:
    if action in _EVENT_LABELS:
        return _EVENT_LABELS[action]
    try:
        return ACTION_LABELS[ProposalAction(action)]
    except ValueError:
        return action.replace("_", " ")


# ------------------------------------------------------------------------------------- inbox


class InboxController(Controller):
    path = "/inbox"
    include_in_schema = False

    @get("/", name="inbox")
    async def inbox(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
    ) -> Template:
        service = ProposalService(db_session, settings, current_user)
        return page(
            request,
            "pages/proposals/inbox.html",
            viewer=viewer,
            notifications=await service.inbox(),
            unread=await service.unread_count(),
        )

    @post("/read", name="inbox_read")
    async def mark_read(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        current_user: NamedDependency[User],
    ) -> Response[Any]:
        values = await read_fields(request, "notification_id")
        service = ProposalService(db_session, settings, current_user)
        await service.mark_read(_int_or_none(values["notification_id"]))
        return redirect_after_post(request, "/inbox")
