"""The moderation queue: submitted, hidden and flagged proposals, and flagged comments.

Each queue item carries its own small forms (approve, request changes, reject, merge, hide,
restore). With htmx a decision replaces just that item with its outcome; without JavaScript the
form posts, and the browser comes back to the queue with a message. Each form carries the
proposal version it showed, so when two moderators decide at once the second is told the
proposal changed instead of overwriting the first decision.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Response, Template
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from pb.accounts import Role, User
from pb.errors import DomainError, InvalidInput, NotFound
from pb.processes import Phase, Process
from pb.settings import Settings
from proposals.lifecycle import ACTION_LABELS, ProposalAction, ProposalStatus
from proposals.models import Comment, Proposal
from proposals.service import ProposalService
from web.auth import Viewer, requires_role
from web.controllers.proposals import names_of, read_fields, status_label
from web.render import is_htmx, page, redirect_after_post
from web.session import flash

__all__ = ["ModerationController"]

DECISIONS = {
    "approve": ProposalAction.APPROVE,
    "reject": ProposalAction.REJECT,
    "request_changes": ProposalAction.REQUEST_CHANGES,
    "merge": ProposalAction.MERGE,
    "hide": ProposalAction.HIDE,
    "restore": ProposalAction.RESTORE,
}


async def _process_names(db_session: AsyncSession) -> dict[int, Process]:
    rows = await db_session.exec(select(Process))
    return {p.id: p for p in rows.all()}  # type: ignore[misc]


class ModerationController(Controller):
    path = "/moderation"
    guards = [requires_role(Role.MODERATOR, Role.ADMIN)]
    include_in_schema = False

    @get("/", name="moderation_queue")
    async def queue(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: Annotated[int | None, QueryParameter(name="process", ge=1)] = None,
    ) -> Template:
        return await self._queue_page(request, db_session, settings, viewer, process_id)

    async def _queue_page(
        self,
        request: Request,
        db_session: AsyncSession,
        settings: Settings,
        viewer: Viewer,
        process_id: int | None,
        *,
        status_code: int = 200,
    ) -> Template:
        user = await db_session.get(User, viewer.user_id)
        service = ProposalService(db_session, settings, user)
        queue = await service.moderation_queue(process_id)
        processes = await _process_names(db_session)
        active = [
            p
            for p in processes.values()
            if p.phase in (Phase.SUBMISSION, Phase.REVIEW, Phase.COSTING)
        ]
        comment_proposals = {
            c.proposal_id: await db_session.get(Proposal, c.proposal_id) for c in queue.comments
        }
        people = await names_of(
            db_session,
            {p.proposer_id for p in queue.submitted + queue.hidden + queue.flagged}
            | {c.author_id for c in queue.comments},
        )
        return page(
            request,
            "pages/proposals/moderation.html",
            viewer=viewer,
            queue=queue,
            processes=processes,
            active_processes=active,
            process_id=process_id,
            comment_proposals=comment_proposals,
            people=people,
            status_label=status_label,
            merge_targets=await self._merge_targets(
                db_session, {p.process_id for p in queue.submitted + queue.hidden + queue.flagged}
            ),
            status_code=status_code,
        )

    async def _merge_targets(
        self, db_session: AsyncSession, process_ids: set[int]
    ) -> dict[int, list[Proposal]]:
        """Per process, the proposals a duplicate could be merged into."""
        targets: dict[int, list[Proposal]] = {}
        for pid in process_ids:
            rows = await db_session.exec(
                select(Proposal)
                .where(
                    Proposal.process_id == pid,
                    col(Proposal.status).in_(
                        [
                            ProposalStatus.SUBMITTED,
                            ProposalStatus.CHANGES_REQUESTED,
                            ProposalStatus.APPROVED,
                        ]
                    ),
                )
                .order_by(col(Proposal.id))
            )
            targets[pid] = list(rows.all())
        return targets

    @post("/proposals/{proposal_id:int}/{decision:str}", name="moderation_decide")
    async def decide(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        proposal_id: FromPath[int],
        decision: FromPath[str],
    ) -> Response[Any]:
        values = await read_fields(request, "reason", "version", "merge_into_id", "process")
        service = ProposalService(db_session, settings, current_user)
        back = "/moderation" + (
            f"?process={values['process']}" if values["process"].isdecimal() else ""
        )
        try:
            if decision == "dismiss_flags":
                proposal = await service.dismiss_flags(proposal_id)
                done = "Flags dismissed."
            else:
                action = DECISIONS.get(decision)
                if action is None:
                    raise InvalidInput(f"Unknown decision {decision!r}.", field="action")
                proposal = await service.decide(
                    proposal_id,
                    action,
                    {
                        "reason": values["reason"],
                        "version": values["version"] or None,
                        "merge_into_id": values["merge_into_id"] or None,
                    },
                )
                done = f"Proposal {ACTION_LABELS[action]}."
        except NotFound:
            raise  # no such proposal: the error page, not a queue item
        except DomainError as exc:
            await db_session.rollback()
            if is_htmx(request):
                return await self._item(
                    request,
                    db_session,
                    settings,
                    viewer,
                    proposal_id,
                    error=exc.message,
                    reason=values["reason"],
                    status_code=exc.status_code,
                )
            flash(request, exc.message, "error")
            return redirect_after_post(request, back)
        if is_htmx(request):
            return await self._item(request, db_session, settings, viewer, proposal.id, done=done)
        flash(request, f"“{proposal.title}”: {done}", "success")
        return redirect_after_post(request, back)

    async def _item(
        self,
        request: Request,
        db_session: AsyncSession,
        settings: Settings,
        viewer: Viewer,
        proposal_id: int,
        *,
        done: str = "",
        error: str = "",
        reason: str = "",
        status_code: int = 200,
    ) -> Template:
        proposal = await db_session.get(Proposal, proposal_id, populate_existing=True)
        if proposal is None:
            raise NotFound("No such proposal.")
        processes = await _process_names(db_session)
        return page(
            request,
            "pages/proposals/moderation.html",
            partial="partials/proposals/moderation_item.html",
            viewer=viewer,
            item=proposal,
            kind="hidden" if proposal.status == ProposalStatus.HIDDEN else "submitted",
            processes=processes,
            people=await names_of(db_session, {proposal.proposer_id}),
            status_label=status_label,
            merge_targets=await self._merge_targets(db_session, {proposal.process_id}),
            done=done,
            error=error,
            reason=reason,
            process_id=None,
            status_code=status_code,
        )

    @post("/comments/{comment_id:int}/{decision:str}", name="moderation_comment")
    async def comment(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        comment_id: FromPath[int],
        decision: FromPath[str],
    ) -> Response[Any]:
        values = await read_fields(request, "reason", "next")
        service = ProposalService(db_session, settings, current_user)
        try:
            if decision == "hide":
                comment = await service.hide_comment(comment_id, values["reason"])
                done = "Comment hidden."
            elif decision == "restore":
                comment = await service.restore_comment(comment_id)
                done = "Comment shown again." if not comment.is_hidden else "Flags dismissed."
            else:
                raise InvalidInput(f"Unknown decision {decision!r}.", field="action")
        except DomainError as exc:
            await db_session.rollback()
            if is_htmx(request):
                raise exc from None
            flash(request, exc.message, "error")
            return redirect_after_post(request, _local(values["next"]) or "/moderation")
        flash(request, done, "success")
        target = _local(values["next"]) or "/moderation"
        if isinstance(comment, Comment) and target.startswith("/proposals/"):
            target += "#comments"
        return redirect_after_post(request, target)


def _local(path: str) -> str:
    from web.render import safe_next

    return safe_next(path, "")
