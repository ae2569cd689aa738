"""All reads and writes of proposals, for one user, on one session.

Every write checks, in this order, who is acting (``Forbidden``), the process phase
(``WrongPhase``), the lifecycle (``InvalidTransition``) and the input (``InvalidInput``), before
touching the database. A decision then updates the proposal with ``WHERE version = :seen`` (so
of two people deciding on the same version exactly one succeeds and the other gets
``Conflict``), appends a ``ProposalEvent`` and an audit entry, and notifies the proposer. The
caller owns the transaction: commit after success, roll back on any error, and nothing partial
remains. E-mails and new image files are tied to that transaction (sent / kept only on commit).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from pb import audit
from pb.accounts import AccountService, Role, User
from pb.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from pb.models import utcnow
from pb.notify import Email, EmailSender, make_email_sender
from pb.processes import (
    District,
    Phase,
    Process,
    ProcessKind,
    ProcessService,
    WrongPhase,
    format_money,
    validate_input,
)
from pb.settings import Settings
from proposals import media
from proposals.lifecycle import (
    ACTION_LABELS,
    PUBLIC_STATUSES,
    REASON_REQUIRED,
    STATUS_LABELS,
    ProposalAction,
    ProposalActivity,
    ProposalStatus,
    actions_from,
    allowed_in_phase,
    may,
    transition,
)
from proposals.models import (
    Assignment,
    Comment,
    Flag,
    Notification,
    Proposal,
    ProposalEvent,
    Support,
)
from proposals.schemas import (
    CommentCreate,
    CostingInput,
    DecisionInput,
    FlagCreate,
    ProposalCreate,
    ProposalUpdate,
)

__all__ = [
    "CONFLICT_MESSAGE",
    "SORTS",
    "Page",
    "ProposalService",
    "PublishReport",
    "Queue",
    "to_tally_projects",
]

CONFLICT_MESSAGE = "This proposal was changed by someone else; reload and try again."
SORTS = {
    "newest": (col(Proposal.created_at).desc(), col(Proposal.id).desc()),
    "oldest": (col(Proposal.created_at).asc(), col(Proposal.id).asc()),
    "supports": (col(Proposal.support_count).desc(), col(Proposal.id).asc()),
    "cost": (col(Proposal.estimated_cost).asc(), col(Proposal.id).asc()),
    "title": (sa.func.lower(Proposal.title).asc(), col(Proposal.id).asc()),
}
MAX_PER_PAGE = 100
_MODERATION = {
    ProposalAction.APPROVE,
    ProposalAction.REJECT,
    ProposalAction.REQUEST_CHANGES,
    ProposalAction.MERGE,
    ProposalAction.HIDE,
    ProposalAction.RESTORE,
}
_AUTHOR_ACTIONS = {
    ProposalAction.EDIT,
    ProposalAction.SUBMIT,
    ProposalAction.RESUBMIT,
    ProposalAction.WITHDRAW,
}
_COSTABLE = {ProposalStatus.APPROVED, ProposalStatus.FEASIBLE, ProposalStatus.UNFEASIBLE}

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


@dataclass
class Queue:
    """What moderators have to look at, oldest first."""

    submitted: list[Proposal] = field(default_factory=list)
    hidden: list[Proposal] = field(default_factory=list)
    flagged: list[Proposal] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.submitted) + len(self.hidden) + len(self.flagged) + len(self.comments)


@dataclass
class PublishReport:
    on_ballot: list[int] = field(default_factory=list)
    over_budget: list[int] = field(default_factory=list)
    unfeasible: list[int] = field(default_factory=list)


def _forbidden_message(action: ProposalAction | ProposalActivity) -> str:
    if action in _AUTHOR_ACTIONS:
        return "Only the proposer can do this."
    if action in _MODERATION or action is ProposalActivity.MODERATE:
        return "Only moderators can take this decision."
    if action in (ProposalAction.MARK_FEASIBLE, ProposalAction.MARK_UNFEASIBLE):
        return "Only valuators can cost proposals."
    if action in (ProposalAction.PUBLISH, ProposalActivity.ASSIGN):
        return "Only an administrator can do this."
    return "Only verified residents can do this."


_PHASE_VERBS = {
    ProposalAction.EDIT: "edit proposals",
    ProposalAction.SUBMIT: "submit proposals",
    ProposalAction.RESUBMIT: "resubmit proposals",
    ProposalAction.WITHDRAW: "withdraw proposals",
    ProposalAction.APPROVE: "approve proposals",
    ProposalAction.REJECT: "reject proposals",
    ProposalAction.REQUEST_CHANGES: "request changes",
    ProposalAction.MERGE: "merge proposals",
    ProposalAction.HIDE: "hide proposals",
    ProposalAction.RESTORE: "restore proposals",
    ProposalAction.MARK_FEASIBLE: "cost proposals",
    ProposalAction.MARK_UNFEASIBLE: "cost proposals",
    ProposalAction.PUBLISH: "publish prices",
    ProposalActivity.SUPPORT: "support proposals",
    ProposalActivity.FLAG: "flag content",
    ProposalActivity.COMMENT: "comment",
    ProposalActivity.MODERATE: "moderate content",
    ProposalActivity.ASSIGN: "assign valuators",
}


class ProposalService:
    """Proposals as seen and changed by ``user`` (``None`` for an anonymous visitor)."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        user: User | None,
        *,
        mailer: EmailSender | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.user = user
        self.mailer = mailer
        self.processes = ProcessService(session, settings)
        self._roles: set[Role] | None = None

    # ==== who ===================================================================================

    async def roles(self) -> set[Role]:
        if self.user is None:
            return set()
        if self._roles is None:
            accounts = AccountService(self.session, self.settings)
            self._roles = set(await accounts.roles_of(self.user.id))
        return self._roles

    async def has_role(self, *roles: Role) -> bool:
        return bool(await self.roles() & set(roles))

    async def is_moderator(self) -> bool:
        return await self.has_role(Role.MODERATOR, Role.ADMIN)

    def _require_user(self) -> User:
        if self.user is None:
            raise NotAuthenticated("Sign in to do this.")
        return self.user

    async def _require(
        self,
        action: ProposalAction | ProposalActivity,
        process: Process,
        proposal: Proposal | None = None,
        *,
        as_author: bool = False,
    ) -> User:
        """Role, assignment and phase checks for ``action`` (status is checked by the table).

        ``as_author`` is for creating a proposal, whose author the user is about to become.
        """
        user = self._require_user()
        roles = await self.roles()
        is_author = as_author or (proposal is not None and proposal.proposer_id == user.id)
        if not may(action, roles, is_author=is_author):
            raise Forbidden(_forbidden_message(action))
        if (
            action in (ProposalAction.MARK_FEASIBLE, ProposalAction.MARK_UNFEASIBLE)
            and Role.ADMIN not in roles
            and proposal is not None
            and not await self._is_assigned(proposal.id, user.id)
        ):
            raise Forbidden("This proposal is not assigned to you.")
        if process.kind != ProcessKind.BUDGETING:
            raise WrongPhase("Consultations do not take proposals.")
        if not allowed_in_phase(action, process.phase):
            raise WrongPhase(
                f"You cannot {_PHASE_VERBS[action]} while the process is in the "
                f"{process.phase} phase."
            )
        return user

    @staticmethod
    def _fresh(proposal: Proposal, version: int | None) -> None:
        """The person acted on the version their page showed; if it moved on since, say so."""
        if version is not None and version != proposal.version:
            raise Conflict(CONFLICT_MESSAGE)

    async def _is_assigned(self, proposal_id: int, user_id: int) -> bool:
        result = await self.session.exec(
            select(Assignment.id).where(
                Assignment.proposal_id == proposal_id, Assignment.valuator_id == user_id
            )
        )
        return result.first() is not None

    # ==== reads =================================================================================

    async def _visible(self, proposal: Proposal, process: Process) -> bool:
        roles = await self.roles()
        if Role.ADMIN in roles:
            return True
        if not process.is_public:
            return False
        if self.user is not None and proposal.proposer_id == self.user.id:
            return True
        status = ProposalStatus(proposal.status)
        if status in PUBLIC_STATUSES:
            return True
        return status is ProposalStatus.HIDDEN and Role.MODERATOR in roles

    async def get(self, proposal_id: int) -> Proposal:
        """The proposal if this user may see it; ``NotFound`` otherwise (no existence leak)."""
        proposal = await self.session.get(Proposal, proposal_id)
        if proposal is None:
            raise NotFound("No such proposal.")
        process = await self.processes.get(proposal.process_id)
        if not await self._visible(proposal, process):
            raise NotFound("No such proposal.")
        return proposal

    async def _load(self, proposal_id: int) -> tuple[Proposal, Process]:
        proposal = await self.get(proposal_id)
        return proposal, await self.processes.get(proposal.process_id)

    async def list(
        self,
        process_id: int,
        *,
        district_id: int | None = None,
        category_id: int | None = None,
        status: str | None = None,
        q: str | None = None,
        sort: str = "newest",
        page: int = 1,
        per_page: int = 20,
        mine: bool = False,
    ) -> Page[Proposal]:
        """Filter, search, sort and paginate. Visitors see published proposals only; ``mine``
        lists the user's own proposals in every status; moderators may ask for ``hidden``."""
        process = await self.processes.get(process_id)
        roles = await self.roles()
        if not process.is_public and Role.ADMIN not in roles:
            raise NotFound("No such process.")
        stmt = select(Proposal).where(Proposal.process_id == process_id)
        if mine:
            user = self._require_user()
            stmt = stmt.where(Proposal.proposer_id == user.id)
        if status:
            try:
                wanted = ProposalStatus(status)
            except ValueError:
                raise InvalidInput(f"Unknown status {status!r}.", field="status") from None
            allowed = set(PUBLIC_STATUSES)
            if roles & {Role.MODERATOR, Role.ADMIN}:
                allowed.add(ProposalStatus.HIDDEN)
            if not mine and Role.ADMIN not in roles and wanted not in allowed:
                raise InvalidInput(f"Unknown status {status!r}.", field="status")
            stmt = stmt.where(Proposal.status == wanted)
        elif not mine:
            stmt = stmt.where(col(Proposal.status).in_([str(s) for s in PUBLIC_STATUSES]))
        if district_id:
            stmt = stmt.where(Proposal.district_id == district_id)
        if category_id:
            stmt = stmt.where(Proposal.category_id == category_id)
        if q and q.strip():
            pattern = "%" + _escape_like(q.strip()[:100].lower()) + "%"
            stmt = stmt.where(
                sa.or_(
                    sa.func.lower(Proposal.title).like(pattern, escape="\\"),
                    sa.func.lower(Proposal.summary).like(pattern, escape="\\"),
                    sa.func.lower(Proposal.description).like(pattern, escape="\\"),
                    sa.func.lower(Proposal.location).like(pattern, escape="\\"),
                )
            )
        if sort not in SORTS:
            raise InvalidInput(f"Unknown sort order {sort!r}.", field="sort")
        per_page = max(1, min(int(per_page), MAX_PER_PAGE))
        total = (
            await self.session.exec(select(sa.func.count()).select_from(stmt.subquery()))
        ).one()
        page = max(1, int(page))
        items = (
            await self.session.exec(
                stmt.order_by(*SORTS[sort]).offset((page - 1) * per_page).limit(per_page)
            )
        ).all()
        return Page(list(items), int(total), page, per_page)

    async def history(self, proposal_id: int) -> list[ProposalEvent]:
        await self.get(proposal_id)
        result = await self.session.exec(
            select(ProposalEvent)
            .where(ProposalEvent.proposal_id == proposal_id)
            .order_by(col(ProposalEvent.at), col(ProposalEvent.id))
        )
        return list(result.all())

    async def comments(self, proposal_id: int) -> list[Comment]:
        """All comments, oldest first. Hidden ones are included so pages can show a placeholder;
        their body must only be shown to moderators (see ``can_read_comment``)."""
        await self.get(proposal_id)
        result = await self.session.exec(
            select(Comment)
            .where(Comment.proposal_id == proposal_id)
            .order_by(col(Comment.created_at), col(Comment.id))
        )
        return list(result.all())

    async def can_read_comment(self, comment: Comment) -> bool:
        if not comment.is_hidden:
            return True
        if self.user is not None and comment.author_id == self.user.id:
            return True
        return await self.is_moderator()

    async def supports(self, proposal_id: int) -> bool:
        """Whether the current user supports the proposal."""
        if self.user is None:
            return False
        result = await self.session.exec(
            select(Support.id).where(
                Support.proposal_id == proposal_id, Support.user_id == self.user.id
            )
        )
        return result.first() is not None

    async def flagged(self, proposal_id: int) -> bool:
        if self.user is None:
            return False
        result = await self.session.exec(
            select(Flag.id).where(Flag.proposal_id == proposal_id, Flag.user_id == self.user.id)
        )
        return result.first() is not None

    async def assignments(self, proposal_id: int) -> list[Assignment]:
        result = await self.session.exec(
            select(Assignment).where(Assignment.proposal_id == proposal_id).order_by(Assignment.id)
        )
        return list(result.all())

    async def moderation_queue(self, process_id: int | None = None) -> Queue:
        if not await self.is_moderator():
            raise Forbidden("Only moderators can see the moderation queue.")
        base = select(Proposal)
        if process_id is not None:
            base = base.where(Proposal.process_id == process_id)
        oldest = (col(Proposal.updated_at).asc(), col(Proposal.id).asc())
        queue = Queue()
        queue.submitted = list(
            (
                await self.session.exec(
                    base.where(Proposal.status == ProposalStatus.SUBMITTED).order_by(*oldest)
                )
            ).all()
        )
        queue.hidden = list(
            (
                await self.session.exec(
                    base.where(Proposal.status == ProposalStatus.HIDDEN).order_by(*oldest)
                )
            ).all()
        )
        queue.flagged = list(
            (
                await self.session.exec(
                    base.where(
                        Proposal.flag_count > 0,
                        col(Proposal.status).not_in(
                            [ProposalStatus.HIDDEN, ProposalStatus.SUBMITTED]
                        ),
                    ).order_by(*oldest)
                )
            ).all()
        )
        cstmt = select(Comment).where(
            sa.or_(Comment.flag_count > 0, col(Comment.hidden_at).is_not(None))
        )
        if process_id is not None:
            cstmt = cstmt.join(Proposal, col(Proposal.id) == Comment.proposal_id).where(
                Proposal.process_id == process_id
            )
        queue.comments = list((await self.session.exec(cstmt.order_by(col(Comment.id)))).all())
        return queue

    async def assigned_to_me(self) -> list[Proposal]:
        user = self._require_user()
        result = await self.session.exec(
            select(Proposal)
            .join(Assignment, col(Assignment.proposal_id) == Proposal.id)
            .where(Assignment.valuator_id == user.id)
            .order_by(col(Proposal.status), col(Proposal.id))
        )
        return list(result.all())

    async def costing_list(self, process_id: int) -> list[Proposal]:
        """Everything that is or was up for costing in the process (valuators and admins)."""
        if not await self.has_role(Role.VALUATOR, Role.ADMIN):
            raise Forbidden("Only valuators can see the costing list.")
        statuses = [str(s) for s in (*_COSTABLE, ProposalStatus.ON_BALLOT)]
        result = await self.session.exec(
            select(Proposal)
            .where(Proposal.process_id == process_id, col(Proposal.status).in_(statuses))
            .order_by(col(Proposal.district_id), col(Proposal.id))
        )
        return list(result.all())

    async def ballot_projects(self, process_id: int, district_id: int) -> list[Proposal]:
        """The projects on one district's ballot: published, feasible, and within its budget."""
        district = await self.session.get(District, district_id)
        if district is None or district.process_id != process_id:
            raise NotFound("No such district in this process.")
        result = await self.session.exec(
            select(Proposal)
            .where(
                Proposal.process_id == process_id,
                Proposal.district_id == district_id,
                Proposal.status == ProposalStatus.ON_BALLOT,
                col(Proposal.official_cost).is_not(None),
                col(Proposal.official_cost) <= district.budget,
            )
            .order_by(col(Proposal.id))
        )
        return list(result.all())

    async def inbox(self, *, unread_only: bool = False, limit: int = 100) -> list[Notification]:
        user = self._require_user()
        stmt = select(Notification).where(Notification.user_id == user.id)
        if unread_only:
            stmt = stmt.where(col(Notification.read_at).is_(None))
        stmt = stmt.order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
        return list((await self.session.exec(stmt.limit(limit))).all())

    async def unread_count(self) -> int:
        if self.user is None:
            return 0
        result = await self.session.exec(
            select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == self.user.id, col(Notification.read_at).is_(None))
        )
        return int(result.one())

    async def mark_read(self, notification_id: int | None = None) -> int:
        """Mark one notification (or all) as read; returns how many changed."""
        user = self._require_user()
        stmt = (
            sa.update(Notification)
            .where(col(Notification.user_id) == user.id, col(Notification.read_at).is_(None))
            .values(read_at=utcnow())
        )
        if notification_id is not None:
            stmt = stmt.where(col(Notification.id) == notification_id)
        result = await self.session.exec(stmt.execution_options(synchronize_session=False))
        return result.rowcount or 0

    # ==== resident: create, edit, submit, withdraw =============================================

    async def create(
        self,
        process_id: int,
        data: ProposalCreate | dict[str, Any],
        *,
        image: bytes | None = None,
        submit: bool = False,
    ) -> Proposal:
        """Save a new proposal as a draft (or submit it at once)."""
        process = await self.processes.get(process_id)
        user = await self._require(
            ProposalAction.SUBMIT if submit else ProposalAction.EDIT, process, as_author=True
        )
        if process.phase != Phase.SUBMISSION:
            raise WrongPhase("Proposals can only be made during the submission phase.")
        if isinstance(data, dict):
            data = validate_input(ProposalCreate, data)
        await self.processes.district(process_id, data.district_id)
        if data.category_id is not None:
            await self.processes.category(process_id, data.category_id)
        checked = media.sniff_image(image) if image else None

        proposal = Proposal(
            process_id=process_id,
            district_id=data.district_id,
            category_id=data.category_id,
            proposer_id=user.id,
            title=data.title,
            summary=data.summary,
            description=data.description,
            estimated_cost=data.estimated_cost,
            location=data.location,
            status=ProposalStatus.DRAFT,
        )
        if checked is not None:
            proposal.image_path = await self._store_image(checked)
            proposal.image_type = checked.content_type
        self.session.add(proposal)
        await self.session.flush()
        self.session.add(
            ProposalEvent(
                proposal_id=proposal.id,
                action="create",
                from_status=None,
                to_status=ProposalStatus.DRAFT,
                actor_id=user.id,
            )
        )
        await audit.append(
            self.session,
            "proposal.created",
            actor_id=user.id,
            subject=f"proposal:{proposal.id}",
            data={"process_id": process_id, "title": proposal.title},
        )
        if submit:
            return await self._decide(proposal, process, ProposalAction.SUBMIT, user)
        return proposal

    async def edit(
        self,
        proposal_id: int,
        data: ProposalUpdate | dict[str, Any],
        *,
        version: int | None = None,
        image: bytes | None = None,
        remove_image: bool = False,
    ) -> Proposal:
        proposal, process = await self._load(proposal_id)
        user = await self._require(ProposalAction.EDIT, process, proposal)
        self._fresh(proposal, version)
        transition(proposal.status, ProposalAction.EDIT)
        if isinstance(data, dict):
            data = validate_input(ProposalUpdate, data)
        await self.processes.district(process.id, data.district_id)
        if data.category_id is not None:
            await self.processes.category(process.id, data.category_id)
        checked = media.sniff_image(image) if image else None
        values: dict[str, Any] = {
            "title": data.title,
            "summary": data.summary,
            "description": data.description,
            "district_id": data.district_id,
            "category_id": data.category_id,
            "estimated_cost": data.estimated_cost,
            "location": data.location,
        }
        changed = sorted(k for k, v in values.items() if getattr(proposal, k) != v)
        old_image = proposal.image_path
        if checked is not None:
            values["image_path"] = await self._store_image(checked)
            values["image_type"] = checked.content_type
            changed.append("image")
        elif remove_image and old_image:
            values["image_path"] = None
            values["image_type"] = None
            changed.append("image")
        result = await self._decide(
            proposal,
            process,
            ProposalAction.EDIT,
            user,
            version=version,
            values=values,
            audit_data={"changed": changed},
        )
        if old_image and "image_path" in values:
            self._on_commit(lambda: media.delete_image(self.settings, old_image))
        return result

    async def submit(self, proposal_id: int, *, version: int | None = None) -> Proposal:
        proposal, process = await self._load(proposal_id)
        user = await self._require(ProposalAction.SUBMIT, process, proposal)
        self._fresh(proposal, version)
        return await self._decide(proposal, process, ProposalAction.SUBMIT, user, version=version)

    async def resubmit(self, proposal_id: int, *, version: int | None = None) -> Proposal:
        proposal, process = await self._load(proposal_id)
        user = await self._require(ProposalAction.RESUBMIT, process, proposal)
        self._fresh(proposal, version)
        return await self._decide(proposal, process, ProposalAction.RESUBMIT, user, version=version)

    async def withdraw(
        self, proposal_id: int, *, reason: str = "", version: int | None = None
    ) -> Proposal:
        proposal, process = await self._load(proposal_id)
        user = await self._require(ProposalAction.WITHDRAW, process, proposal)
        decision = validate_input(DecisionInput, {"reason": reason, "version": version})
        self._fresh(proposal, decision.version)
        return await self._decide(
            proposal,
            process,
            ProposalAction.WITHDRAW,
            user,
            version=decision.version,
            reason=decision.reason,
        )

    # ==== resident: support, flag, comment ======================================================

    async def support(self, proposal_id: int) -> Proposal:
        proposal, process = await self._load(proposal_id)
        user = await self._require(ProposalActivity.SUPPORT, process, proposal)
        if proposal.status != ProposalStatus.SUBMITTED:
            raise InvalidInput("Only submitted proposals can be supported.")
        if proposal.proposer_id == user.id:
            raise Forbidden("You cannot support your own proposal.")
        if await self.supports(proposal_id):
            raise Conflict("You already support this proposal.")
        self.session.add(Support(proposal_id=proposal_id, user_id=user.id))
        try:
            await self.session.flush()
        except IntegrityError:
            raise Conflict("You already support this proposal.") from None
        await self._bump(proposal_id, support_count=1)
        await audit.append(
            self.session,
            "proposal.supported",
            actor_id=user.id,
            subject=f"proposal:{proposal_id}",
        )
        await self.session.refresh(proposal)
        return proposal

    async def unsupport(self, proposal_id: int) -> Proposal:
        proposal, process = await self._load(proposal_id)
        user = await self._require(ProposalActivity.SUPPORT, process, proposal)
        result = await self.session.exec(
            sa.delete(Support)
            .where(col(Support.proposal_id) == proposal_id, col(Support.user_id) == user.id)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:
            raise Conflict("You do not support this proposal.")
        await self._bump(proposal_id, support_count=-1)
        await audit.append(
            self.session,
            "proposal.support_withdrawn",
            actor_id=user.id,
            subject=f"proposal:{proposal_id}",
        )
        await self.session.refresh(proposal)
        return proposal

    async def flag(self, proposal_id: int, reason: str = "") -> Proposal:
        """Report a proposal; at the process's flag threshold it is hidden pending review."""
        proposal, process = await self._load(proposal_id)
        user = await self._require(ProposalActivity.FLAG, process, proposal)
        data = validate_input(FlagCreate, {"reason": reason})
        if proposal.proposer_id == user.id:
            raise Forbidden("You cannot flag your own proposal.")
        if ProposalStatus(proposal.status) not in PUBLIC_STATUSES:
            raise InvalidInput("This proposal is not public.")
        if await self.flagged(proposal_id):
            raise Conflict("You already flagged this proposal.")
        self.session.add(Flag(user_id=user.id, proposal_id=proposal_id, reason=data.reason))
        try:
            await self.session.flush()
        except IntegrityError:
            raise Conflict("You already flagged this proposal.") from None
        await self._bump(proposal_id, flag_count=1)
        await audit.append(
            self.session,
            "proposal.flagged",
            actor_id=user.id,
            subject=f"proposal:{proposal_id}",
            data={"reason": data.reason},
        )
        await self.session.refresh(proposal)
        threshold = process.flag_threshold
        if (
            threshold
            and proposal.flag_count >= threshold
            and ProposalAction.HIDE in actions_from(proposal.status)
            and allowed_in_phase(ProposalAction.HIDE, process.phase)
        ):
            proposal = await self._decide(
                proposal,
                process,
                ProposalAction.HIDE,
                None,
                reason=f"Hidden automatically after {proposal.flag_count} flags, "
                "pending review by a moderator.",
            )
        return proposal

    async def comment(self, proposal_id: int, data: CommentCreate | dict[str, Any]) -> Comment:
        proposal, process = await self._load(proposal_id)
        user = await self._require(ProposalActivity.COMMENT, process, proposal)
        if isinstance(data, dict):
            data = validate_input(CommentCreate, data)
        if ProposalStatus(proposal.status) not in PUBLIC_STATUSES:
            raise InvalidInput("Comments are only possible on public proposals.")
        comment = Comment(proposal_id=proposal_id, author_id=user.id, body=data.body)
        self.session.add(comment)
        await self.session.flush()
        await self._bump(proposal_id, comment_count=1)
        await audit.append(
            self.session,
            "comment.created",
            actor_id=user.id,
            subject=f"comment:{comment.id}",
            data={"proposal_id": proposal_id},
        )
        if proposal.proposer_id != user.id:
            await self._notify(
                proposal.proposer_id,
                proposal,
                f"New comment on “{proposal.title}”",
                f"{user.display_name} commented on your proposal:\n\n{data.body}",
                email=False,
            )
        return comment

    async def _get_comment(self, comment_id: int) -> tuple[Comment, Proposal, Process]:
        comment = await self.session.get(Comment, comment_id)
        if comment is None:
            raise NotFound("No such comment.")
        proposal, process = await self._load(comment.proposal_id)
        return comment, proposal, process

    async def flag_comment(self, comment_id: int, reason: str = "") -> Comment:
        comment, proposal, process = await self._get_comment(comment_id)
        user = await self._require(ProposalActivity.FLAG, process, proposal)
        data = validate_input(FlagCreate, {"reason": reason})
        if comment.author_id == user.id:
            raise Forbidden("You cannot flag your own comment.")
        if comment.is_hidden:
            raise Conflict("This comment is already hidden.")
        existing = await self.session.exec(
            select(Flag.id).where(Flag.comment_id == comment_id, Flag.user_id == user.id)
        )
        if existing.first() is not None:
            raise Conflict("You already flagged this comment.")
        self.session.add(Flag(user_id=user.id, comment_id=comment_id, reason=data.reason))
        try:
            await self.session.flush()
        except IntegrityError:
            raise Conflict("You already flagged this comment.") from None
        await self.session.exec(
            sa.update(Comment)
            .where(col(Comment.id) == comment_id)
            .values(flag_count=Comment.flag_count + 1)
            .execution_options(synchronize_session=False)
        )
        await self.session.refresh(comment)
        if process.flag_threshold and comment.flag_count >= process.flag_threshold:
            await self._set_comment_hidden(
                comment,
                proposal,
                None,
                f"Hidden automatically after {comment.flag_count} flags, pending review.",
                before_audit=lambda: audit.append(
                    self.session,
                    "comment.flagged",
                    actor_id=user.id,
                    subject=f"comment:{comment_id}",
                    data={"reason": data.reason},
                ),
            )
        else:
            await audit.append(
                self.session,
                "comment.flagged",
                actor_id=user.id,
                subject=f"comment:{comment_id}",
                data={"reason": data.reason},
            )
        return comment

    async def hide_comment(self, comment_id: int, reason: str) -> Comment:
        comment, proposal, process = await self._get_comment(comment_id)
        user = await self._require(ProposalActivity.MODERATE, process, proposal)
        decision = validate_input(DecisionInput, {"reason": reason})
        if not decision.reason:
            raise InvalidInput("Give a reason for hiding the comment.", field="reason")
        if comment.is_hidden:
            raise Conflict("This comment is already hidden.")
        await self._set_comment_hidden(comment, proposal, user, decision.reason)
        return comment

    async def restore_comment(self, comment_id: int) -> Comment:
        """Show a hidden comment again, or dismiss the flags on a visible one."""
        comment, proposal, process = await self._get_comment(comment_id)
        user = await self._require(ProposalActivity.MODERATE, process, proposal)
        now = utcnow()
        was_hidden = comment.is_hidden
        if not was_hidden and not comment.flag_count:
            raise Conflict("This comment is neither hidden nor flagged.")
        condition = (
            col(Comment.hidden_at).is_not(None) if was_hidden else col(Comment.hidden_at).is_(None)
        )
        result = await self.session.exec(
            sa.update(Comment)
            .where(col(Comment.id) == comment_id, condition)
            .values(hidden_at=None, hidden_reason="", hidden_by_id=None, flag_count=0)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise Conflict("This comment was changed by someone else; reload and try again.")
        await self._resolve_flags(comment_id=comment_id, at=now)
        if was_hidden:
            await self._bump(proposal.id, comment_count=1)
        self.session.add(
            ProposalEvent(
                proposal_id=proposal.id,
                action="comment_restored" if was_hidden else "comment_flags_dismissed",
                from_status=proposal.status,
                to_status=proposal.status,
                actor_id=user.id,
                at=now,
            )
        )
        await audit.append(
            self.session,
            "comment.restored" if was_hidden else "comment.flags_dismissed",
            actor_id=user.id,
            subject=f"comment:{comment_id}",
            data={"proposal_id": proposal.id},
        )
        await self.session.refresh(comment)
        return comment

    async def _set_comment_hidden(
        self,
        comment: Comment,
        proposal: Proposal,
        actor: User | None,
        reason: str,
        *,
        before_audit: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        now = utcnow()
        result = await self.session.exec(
            sa.update(Comment)
            .where(col(Comment.id) == comment.id, col(Comment.hidden_at).is_(None))
            .values(hidden_at=now, hidden_reason=reason, hidden_by_id=actor.id if actor else None)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise Conflict("This comment was changed by someone else; reload and try again.")
        if actor is not None:
            await self._resolve_flags(comment_id=comment.id, at=now)
        await self._bump(proposal.id, comment_count=-1)
        self.session.add(
            ProposalEvent(
                proposal_id=proposal.id,
                action="comment_hidden",
                from_status=proposal.status,
                to_status=proposal.status,
                actor_id=actor.id if actor else None,
                reason=reason,
                at=now,
            )
        )
        if before_audit is not None:
            await before_audit()
        await audit.append(
            self.session,
            "comment.hidden",
            actor_id=actor.id if actor else None,
            subject=f"comment:{comment.id}",
            data={"proposal_id": proposal.id, "reason": reason, "automatic": actor is None},
        )
        await self._notify(
            comment.author_id,
            proposal,
            f"Your comment on “{proposal.title}” was hidden",
            f"Reason: {reason}",
        )
        await self.session.refresh(comment)

    # ==== moderators ============================================================================

    async def decide(
        self, proposal_id: int, action: ProposalAction | str, data: DecisionInput | dict[str, Any]
    ) -> Proposal:
        """One moderation decision (approve, reject, request changes, merge, hide, restore)."""
        try:
            action = ProposalAction(action)
        except ValueError:
            raise InvalidInput(f"Unknown action {action!r}.", field="action") from None
        if action not in _MODERATION:
            raise InvalidInput(f"{action} is not a moderation decision.", field="action")
        if isinstance(data, dict):
            data = validate_input(DecisionInput, data)
        proposal, process = await self._load(proposal_id)
        user = await self._require(action, process, proposal)
        self._fresh(proposal, data.version)
        transition(proposal.status, action)
        if action in REASON_REQUIRED and not data.reason:
            what = (
                "message for the proposer" if action is ProposalAction.REQUEST_CHANGES else "reason"
            )
            raise InvalidInput(f"Give a {what}; it is shown publicly.", field="reason")
        values: dict[str, Any] = {}
        reason = data.reason
        audit_data: dict[str, Any] = {}
        if action is ProposalAction.APPROVE and process.support_threshold:
            if proposal.support_count < process.support_threshold:
                raise InvalidInput(
                    f"This proposal has {proposal.support_count} supports; it needs "
                    f"{process.support_threshold} to be approved."
                )
        target: Proposal | None = None
        if action is ProposalAction.MERGE:
            target = await self._merge_target(proposal, data.merge_into_id)
            values["merged_into_id"] = target.id
            reason = reason or f"Merged into proposal #{target.id} “{target.title}”."
            audit_data["merged_into"] = target.id

        async def after_update() -> None:
            await self._resolve_flags(proposal_id=proposal_id, at=utcnow())
            if target is not None:
                await self._move_supports(proposal_id, target.id)

        return await self._decide(
            proposal,
            process,
            action,
            user,
            version=data.version,
            reason=reason,
            values=values,
            audit_data=audit_data,
            after_update=after_update,
        )

    async def dismiss_flags(self, proposal_id: int) -> Proposal:
        """A moderator looked at the flags on a public proposal and found nothing wrong."""
        proposal, process = await self._load(proposal_id)
        user = await self._require(ProposalActivity.MODERATE, process, proposal)
        if not proposal.flag_count:
            raise Conflict("This proposal has no open flags.")
        now = utcnow()
        await self._resolve_flags(proposal_id=proposal_id, at=now)
        self.session.add(
            ProposalEvent(
                proposal_id=proposal_id,
                action="flags_dismissed",
                from_status=proposal.status,
                to_status=proposal.status,
                actor_id=user.id,
                at=now,
            )
        )
        await audit.append(
            self.session,
            "proposal.flags_dismissed",
            actor_id=user.id,
            subject=f"proposal:{proposal_id}",
        )
        return proposal

    async def approve(
        self, proposal_id: int, *, version: int | None = None, reason: str = ""
    ) -> Proposal:
        return await self.decide(
            proposal_id, ProposalAction.APPROVE, {"version": version, "reason": reason}
        )

    async def reject(
        self, proposal_id: int, reason: str, *, version: int | None = None
    ) -> Proposal:
        return await self.decide(
            proposal_id, ProposalAction.REJECT, {"version": version, "reason": reason}
        )

    async def request_changes(
        self, proposal_id: int, message: str, *, version: int | None = None
    ) -> Proposal:
        return await self.decide(
            proposal_id, ProposalAction.REQUEST_CHANGES, {"version": version, "reason": message}
        )

    async def merge(
        self, proposal_id: int, into_id: int, *, version: int | None = None, reason: str = ""
    ) -> Proposal:
        return await self.decide(
            proposal_id,
            ProposalAction.MERGE,
            {"version": version, "reason": reason, "merge_into_id": into_id},
        )

    async def hide(self, proposal_id: int, reason: str, *, version: int | None = None) -> Proposal:
        return await self.decide(
            proposal_id, ProposalAction.HIDE, {"version": version, "reason": reason}
        )

    async def restore(
        self, proposal_id: int, *, version: int | None = None, reason: str = ""
    ) -> Proposal:
        return await self.decide(
            proposal_id, ProposalAction.RESTORE, {"version": version, "reason": reason}
        )

    async def _merge_target(self, proposal: Proposal, into_id: int | None) -> Proposal:
        if not into_id:
            raise InvalidInput("Choose the proposal to merge into.", field="merge_into_id")
        if into_id == proposal.id:
            raise InvalidInput("A proposal cannot be merged into itself.", field="merge_into_id")
        target = await self.session.get(Proposal, into_id)
        if target is None or target.process_id != proposal.process_id:
            raise InvalidInput(
                "Choose a proposal of the same process to merge into.", field="merge_into_id"
            )
        if ProposalStatus(target.status) not in {
            ProposalStatus.SUBMITTED,
            ProposalStatus.CHANGES_REQUESTED,
            ProposalStatus.APPROVED,
        }:
            raise InvalidInput(
                f"Proposal #{target.id} is {STATUS_LABELS[ProposalStatus(target.status)]}; "
                "merge into a submitted or approved proposal.",
                field="merge_into_id",
            )
        return target

    async def _move_supports(self, from_id: int, to_id: int) -> None:
        """Supporters of a merged duplicate now support the proposal it was merged into."""
        already = select(Support.user_id).where(Support.proposal_id == to_id)
        target = await self.session.get(Proposal, to_id)
        moved = await self.session.exec(
            sa.update(Support)
            .where(
                col(Support.proposal_id) == from_id,
                col(Support.user_id).not_in(already),
            )
            .values(proposal_id=to_id)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount:
            await self._bump(to_id, support_count=moved.rowcount)
            if target is not None:
                await self.session.refresh(target)

    # ==== admins and valuators: costing =========================================================

    async def assign(self, proposal_id: int, valuator_id: int) -> Assignment:
        proposal, process = await self._load(proposal_id)
        user = await self._require(ProposalActivity.ASSIGN, process, proposal)
        if ProposalStatus(proposal.status) not in _COSTABLE or proposal.costing_published_at:
            raise InvalidInput(
                "Only approved proposals that are not yet published can be assigned."
            )
        roles = await AccountService(self.session, self.settings).roles_of(valuator_id)
        if Role.VALUATOR not in roles:
            raise InvalidInput("Choose a user with the valuator role.", field="valuator_id")
        if await self._is_assigned(proposal_id, valuator_id):
            raise Conflict("This valuator is already assigned to the proposal.")
        assignment = Assignment(
            proposal_id=proposal_id, valuator_id=valuator_id, assigned_by_id=user.id
        )
        self.session.add(assignment)
        try:
            await self.session.flush()
        except IntegrityError:
            raise Conflict("This valuator is already assigned to the proposal.") from None
        self.session.add(
            ProposalEvent(
                proposal_id=proposal_id,
                action="assign",
                from_status=proposal.status,
                to_status=proposal.status,
                actor_id=user.id,
            )
        )
        await audit.append(
            self.session,
            "proposal.assigned",
            actor_id=user.id,
            subject=f"proposal:{proposal_id}",
            data={"valuator_id": valuator_id},
        )
        await self._notify(
            valuator_id,
            proposal,
            f"Proposal to cost: “{proposal.title}”",
            "You have been asked to cost this proposal.",
        )
        return assignment

    async def unassign(self, proposal_id: int, valuator_id: int) -> None:
        proposal, process = await self._load(proposal_id)
        user = await self._require(ProposalActivity.ASSIGN, process, proposal)
        result = await self.session.exec(
            sa.delete(Assignment)
            .where(
                col(Assignment.proposal_id) == proposal_id,
                col(Assignment.valuator_id) == valuator_id,
            )
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:
            raise NotFound("This valuator is not assigned to the proposal.")
        await audit.append(
            self.session,
            "proposal.unassigned",
            actor_id=user.id,
            subject=f"proposal:{proposal_id}",
            data={"valuator_id": valuator_id},
        )

    async def cost(
        self,
        proposal_id: int,
        data: CostingInput | dict[str, Any],
        *,
        version: int | None = None,
    ) -> Proposal:
        """Record the official cost, breakdown, feasibility and duration of a proposal."""
        if isinstance(data, dict):
            data = validate_input(CostingInput, data)
        action = ProposalAction.MARK_FEASIBLE if data.feasible else ProposalAction.MARK_UNFEASIBLE
        proposal, process = await self._load(proposal_id)
        user = await self._require(action, process, proposal)
        self._fresh(proposal, version)
        transition(proposal.status, action)
        if proposal.costing_published_at is not None:
            raise WrongPhase("Prices are published; the costing is final.")
        now = utcnow()
        values = {
            "official_cost": data.official_cost,
            "cost_breakdown": json.dumps(
                [{"item": line.item, "amount": line.amount} for line in data.breakdown],
                ensure_ascii=False,
                separators=(",", ":"),
            ),
            "feasible": data.feasible,
            "unfeasible_reason": "" if data.feasible else data.unfeasible_reason,
            "duration_months": data.duration_months,
            "costed_at": now,
        }
        return await self._decide(
            proposal,
            process,
            action,
            user,
            version=version,
            reason="" if data.feasible else data.unfeasible_reason,
            values=values,
            audit_data={
                "official_cost": data.official_cost,
                "feasible": data.feasible,
                "duration_months": data.duration_months,
            },
            notify=False,
        )

    async def publish_prices(self, process_id: int) -> PublishReport:
        """Make every costing public. Feasible proposals within their district's budget go on the
        ballot; those costing more become unfeasible with an explanation. Refused while any
        approved proposal is still uncosted."""
        process = await self.processes.get(process_id)
        user = await self._require(ProposalAction.PUBLISH, process)
        uncosted = (
            await self.session.exec(
                select(sa.func.count())
                .select_from(Proposal)
                .where(
                    Proposal.process_id == process_id, Proposal.status == ProposalStatus.APPROVED
                )
            )
        ).one()
        if uncosted:
            raise Conflict(
                f"{uncosted} approved proposal{'s are' if uncosted != 1 else ' is'} not costed yet; "
                "cost them (or reject them) before publishing prices."
            )
        budgets = {d.id: d for d in await self.processes.districts(process_id)}
        result = await self.session.exec(
            select(Proposal)
            .where(
                Proposal.process_id == process_id,
                col(Proposal.status).in_([ProposalStatus.FEASIBLE, ProposalStatus.UNFEASIBLE]),
                col(Proposal.costing_published_at).is_(None),
            )
            .order_by(col(Proposal.id))
            .with_for_update()  # every row before the first audit entry (see ``_decide``)
        )
        report = PublishReport()
        now = utcnow()
        for proposal in list(result.all()):
            district = budgets[proposal.district_id]
            if (
                proposal.status == ProposalStatus.FEASIBLE
                and (proposal.official_cost or 0) > district.budget
            ):
                reason = (
                    f"The official cost ({format_money(proposal.official_cost, process.currency)}) "
                    f"is more than the budget of {district.name} "
                    f"({format_money(district.budget, process.currency)}), so it cannot go on "
                    "the ballot."
                )
                proposal = await self._decide(
                    proposal,
                    process,
                    ProposalAction.MARK_UNFEASIBLE,
                    user,
                    reason=reason,
                    values={"feasible": False, "unfeasible_reason": reason},
                    audit_data={"over_budget": True, "budget": district.budget},
                    notify=False,
                )
                report.over_budget.append(proposal.id)
            proposal = await self._decide(
                proposal,
                process,
                ProposalAction.PUBLISH,
                user,
                reason=proposal.unfeasible_reason,
                values={"costing_published_at": now},
                audit_data={"official_cost": proposal.official_cost},
            )
            if proposal.status == ProposalStatus.ON_BALLOT:
                report.on_ballot.append(proposal.id)
            elif proposal.id not in report.over_budget:
                report.unfeasible.append(proposal.id)
        await audit.append(
            self.session,
            "process.prices_published",
            actor_id=user.id,
            subject=f"process:{process_id}",
            data={
                "on_ballot": report.on_ballot,
                "over_budget": report.over_budget,
                "unfeasible": report.unfeasible,
            },
        )
        return report

    # ==== the one place a status changes ========================================================

    async def _decide(
        self,
        proposal: Proposal,
        process: Process,
        action: ProposalAction,
        actor: User | None,
        *,
        version: int | None = None,
        reason: str = "",
        values: dict[str, Any] | None = None,
        audit_data: dict[str, Any] | None = None,
        notify: bool = True,
        after_update: Callable[[], Awaitable[None]] | None = None,
    ) -> Proposal:
        """Apply ``action`` to ``proposal`` (already authorised) as one conditional UPDATE.

        ``after_update`` runs once the row is ours and before the audit entry: on PostgreSQL the
        audit chain is a lock held to the end of the transaction, so every row lock a unit of
        work needs must be taken before it, or two writers could wait for each other.
        """
        old = ProposalStatus(proposal.status)
        new = transition(old, action)
        seen = version if version is not None else proposal.version
        now = utcnow()
        update = dict(values or {})
        update |= {"status": str(new), "version": seen + 1, "updated_at": now}
        if action in (ProposalAction.SUBMIT, ProposalAction.RESUBMIT):
            update["submitted_at"] = now
        try:
            result = await self.session.exec(
                sa.update(Proposal)
                .where(col(Proposal.id) == proposal.id, col(Proposal.version) == seen)
                .values(**update)
                .execution_options(synchronize_session=False)
            )
        except OperationalError as exc:  # SQLite: another writer holds the database
            if "locked" in str(exc).lower():
                raise Conflict(CONFLICT_MESSAGE) from None
            raise
        if result.rowcount != 1:
            raise Conflict(CONFLICT_MESSAGE)
        if after_update is not None:
            await after_update()
        self.session.add(
            ProposalEvent(
                proposal_id=proposal.id,
                action=str(action),
                from_status=str(old),
                to_status=str(new),
                actor_id=actor.id if actor else None,
                reason=reason,
                at=now,
            )
        )
        data = {"from": str(old), "to": str(new), "version": seen + 1}
        if reason:
            data["reason"] = reason
        data |= audit_data or {}
        await audit.append(
            self.session,
            f"proposal.{action}",
            actor_id=actor.id if actor else None,
            subject=f"proposal:{proposal.id}",
            data=data,
        )
        await self.session.refresh(proposal)
        if notify and (actor is None or actor.id != proposal.proposer_id) and new is not old:
            subject = f"Your proposal “{proposal.title}” is now {STATUS_LABELS[new]}"
            body = f"Your proposal was {ACTION_LABELS[action]}."
            if reason:
                body += f"\n\n{reason}"
            await self._notify(proposal.proposer_id, proposal, subject, body)
        return proposal

    # ==== helpers ===============================================================================

    async def _bump(self, proposal_id: int, **deltas: int) -> None:
        """Add to counters without touching ``version`` (counts are not decisions)."""
        await self.session.exec(
            sa.update(Proposal)
            .where(col(Proposal.id) == proposal_id)
            .values({getattr(Proposal, k): getattr(Proposal, k) + d for k, d in deltas.items()})
            .execution_options(synchronize_session=False)
        )
        await self._reload(proposal_id, *deltas)

    async def _reload(self, proposal_id: int, *attributes: str) -> None:
        """Bring a proposal already loaded in this session up to date after a bulk UPDATE."""
        loaded = self.session.sync_session.identity_map.get(
            self.session.sync_session.identity_key(Proposal, proposal_id)
        )
        if loaded is not None:
            await self.session.refresh(loaded, attribute_names=list(attributes) or None)

    async def _resolve_flags(
        self, *, proposal_id: int | None = None, comment_id: int | None = None, at: datetime
    ) -> None:
        stmt = sa.update(Flag).where(col(Flag.resolved_at).is_(None)).values(resolved_at=at)
        if proposal_id is not None:
            stmt = stmt.where(col(Flag.proposal_id) == proposal_id)
            await self.session.exec(
                sa.update(Proposal)
                .where(col(Proposal.id) == proposal_id)
                .values(flag_count=0)
                .execution_options(synchronize_session=False)
            )
            await self._reload(proposal_id, "flag_count")
        else:
            stmt = stmt.where(col(Flag.comment_id) == comment_id)
        await self.session.exec(stmt.execution_options(synchronize_session=False))

    async def _notify(
        self, user_id: int, proposal: Proposal, subject: str, body: str, *, email: bool = True
    ) -> None:
        self.session.add(
            Notification(user_id=user_id, proposal_id=proposal.id, subject=subject[:200], body=body)
        )
        if email:
            recipient = await self.session.get(User, user_id)
            if recipient is not None and recipient.email and recipient.is_active:
                self._queue_mail(Email(recipient.email, subject, body))

    async def _store_image(self, image: media.Image) -> str:
        name = await asyncio.to_thread(media.write_image, self.settings, image)
        self._on_rollback(lambda: media.delete_image(self.settings, name))
        return name

    def _queue_mail(self, email: Email) -> None:
        """Send once the transaction commits; a rolled-back decision sends nothing."""
        sender = self.mailer or make_email_sender(self.settings)
        self._on_commit(lambda: _send_later(sender, email))

    def _on_commit(self, fn: Callable[[], None]) -> None:
        _hooks(self.session)["commit"].append(fn)

    def _on_rollback(self, fn: Callable[[], None]) -> None:
        _hooks(self.session)["rollback"].append(fn)


_background: set[asyncio.Task[None]] = set()


def _send_later(sender: EmailSender, email: Email) -> None:
    async def send() -> None:
        try:
            await sender.send(email)
        except Exception:  # a mail server being down must never undo a decision already taken
            logging.getLogger("pb.notify").exception("could not send e-mail to %s", email.to)

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(send())
        return
    task = loop.create_task(send())
    _background.add(task)
    task.add_done_callback(_background.discard)


def _hooks(session: AsyncSession) -> dict[str, list[Callable[[], None]]]:
    """Callbacks run once after the session's transaction commits or rolls back."""
    info = session.sync_session.info
    hooks = info.get("pb_proposal_hooks")
    if hooks is None:
        hooks = {"commit": [], "rollback": []}
        info["pb_proposal_hooks"] = hooks

        def after_commit(_session: Any) -> None:
            pending, hooks["commit"][:] = list(hooks["commit"]), []
            hooks["rollback"].clear()
            for fn in pending:
                fn()

        def after_rollback(_session: Any, previous_transaction: Any) -> None:
            if previous_transaction.parent is not None:  # a savepoint: the work may still commit
                return
            pending, hooks["rollback"][:] = list(hooks["rollback"]), []
            hooks["commit"].clear()
            for fn in pending:
                fn()

        event.listen(session.sync_session, "after_commit", after_commit)
        event.listen(session.sync_session, "after_soft_rollback", after_rollback)
    return hooks


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def to_tally_projects(
    proposals: Sequence[Proposal], categories: dict[int, str] | None = None
) -> tuple[Any, ...]:
    """Ballot projects as ``tally.Project`` values (id = proposal id as text, cost = official)."""
    from tally import Project

    names = categories or {}
    return tuple(
        Project(
            id=str(p.id),
            cost=int(p.official_cost or 0),
            name=p.title,
            categories=(names[p.category_id],) if p.category_id in names else (),
        )
        for p in proposals
    )
