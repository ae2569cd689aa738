"""Tables of the proposal domain. Writes go through ``proposals.service`` only."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from pb.models import IdMixin, TimestampMixin, TZDateTime, utcnow
from proposals.lifecycle import ProposalStatus

__all__ = [
    "Assignment",
    "Comment",
    "Flag",
    "Notification",
    "Proposal",
    "ProposalEvent",
    "Support",
]

Money = sa.BigInteger


class Proposal(IdMixin, TimestampMixin, table=True):
    """A resident's idea for spending part of a district's budget.

    ``version`` changes on every decision and edit; writers update with ``WHERE version = :v``,
    so two people acting on the same version cannot both succeed. Supports, flags and comment
    counts are tallies, not decisions, and do not change it.
    """

    __tablename__ = "proposal"
    __table_args__ = (
        sa.Index("ix_proposal_process_status", "process_id", "status"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint("estimated_cost >= 0", name="estimated_cost_nonnegative"),
        sa.CheckConstraint("official_cost >= 0", name="official_cost_nonnegative"),
    )

    process_id: int = Field(foreign_key="process.id", ondelete="CASCADE", index=True)
    district_id: int = Field(foreign_key="district.id", ondelete="RESTRICT", index=True)
    category_id: int | None = Field(default=None, foreign_key="category.id", ondelete="SET NULL")
    proposer_id: int = Field(foreign_key="user.id", ondelete="RESTRICT", index=True)

    title: str = Field(max_length=120)
    summary: str = Field(max_length=300)
    description: str = Field(default="", sa_type=sa.Text)
    estimated_cost: int = Field(default=0, sa_type=Money)
    location: str = Field(default="", max_length=200)
    image_path: str | None = Field(default=None, max_length=100)
    image_type: str | None = Field(default=None, max_length=40)

    status: str = Field(default=ProposalStatus.DRAFT, max_length=24)
    version: int = Field(default=1)
    submitted_at: datetime | None = Field(default=None, sa_type=TZDateTime)

    # Costing (valuators); public once ``costing_published_at`` is set.
    official_cost: int | None = Field(default=None, sa_type=Money)
    cost_breakdown: str = Field(default="[]", sa_type=sa.Text)
    feasible: bool | None = Field(default=None)
    unfeasible_reason: str = Field(default="", sa_type=sa.Text)
    duration_months: int | None = Field(default=None)
    costed_at: datetime | None = Field(default=None, sa_type=TZDateTime)
    costing_published_at: datetime | None = Field(default=None, sa_type=TZDateTime)

    merged_into_id: int | None = Field(default=None, foreign_key="proposal.id", ondelete="SET NULL")
    support_count: int = Field(default=0)
    flag_count: int = Field(default=0)  # unresolved flags
    comment_count: int = Field(default=0)  # visible comments

    @property
    def breakdown(self) -> list[dict[str, Any]]:
        return json.loads(self.cost_breakdown or "[]")

    @property
    def status_enum(self) -> ProposalStatus:
        return ProposalStatus(self.status)

    @property
    def is_public(self) -> bool:
        from proposals.lifecycle import PUBLIC_STATUSES

        return ProposalStatus(self.status) in PUBLIC_STATUSES

    @property
    def costing_is_public(self) -> bool:
        return self.costing_published_at is not None


class ProposalEvent(IdMixin, table=True):
    """One line of a proposal's public history: what happened, who decided, and why."""

    __tablename__ = "proposal_event"

    proposal_id: int = Field(foreign_key="proposal.id", ondelete="CASCADE", index=True)
    action: str = Field(max_length=24)
    from_status: str | None = Field(default=None, max_length=24)
    to_status: str = Field(max_length=24)
    actor_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    reason: str = Field(default="", sa_type=sa.Text)
    at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime)


class Support(IdMixin, table=True):
    """A resident's endorsement during submission; one per resident and proposal."""

    __tablename__ = "support"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "user_id"),)

    proposal_id: int = Field(foreign_key="proposal.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime)


class Comment(IdMixin, table=True):
    __tablename__ = "comment"

    proposal_id: int = Field(foreign_key="proposal.id", ondelete="CASCADE", index=True)
    author_id: int = Field(foreign_key="user.id", ondelete="RESTRICT", index=True)
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime)
    flag_count: int = Field(default=0)
    hidden_at: datetime | None = Field(default=None, sa_type=TZDateTime)
    hidden_reason: str = Field(default="", sa_type=sa.Text)
    hidden_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class Flag(IdMixin, table=True):
    """A resident's report that a proposal or a comment is abusive; one per resident and target."""

    __tablename__ = "flag"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "proposal_id"),
        sa.UniqueConstraint("user_id", "comment_id"),
        sa.CheckConstraint(
            "(proposal_id IS NULL) <> (comment_id IS NULL)", name="exactly_one_target"
        ),
    )

    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    proposal_id: int | None = Field(default=None, foreign_key="proposal.id", ondelete="CASCADE")
    comment_id: int | None = Field(default=None, foreign_key="comment.id", ondelete="CASCADE")
    reason: str = Field(default="", max_length=500)
    at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=TZDateTime)


class Assignment(IdMixin, table=True):
    """A valuator put in charge of costing a proposal."""

    __tablename__ = "assignment"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "valuator_id"),)

    proposal_id: int = Field(foreign_key="proposal.id", ondelete="CASCADE", index=True)
    valuator_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    assigned_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime)


class Notification(IdMixin, table=True):
    """An in-app inbox message, e.g. "your proposal was approved"."""

    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_user_unread", "user_id", "read_at"),)

    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    proposal_id: int | None = Field(default=None, foreign_key="proposal.id", ondelete="CASCADE")
    subject: str = Field(max_length=200)
    body: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime)
    read_at: datetime | None = Field(default=None, sa_type=TZDateTime)
