"""Proposals: submission, moderation and costing of residents' project ideas.

``lifecycle`` is the pure transition table; ``models`` the tables; ``schemas`` the validated
inputs and published outputs; ``service.ProposalService`` every read and write.
"""

from proposals.lifecycle import (
    PUBLIC_STATUSES,
    TRANSITIONS,
    ProposalAction,
    ProposalActivity,
    ProposalStatus,
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
    ProposalCreate,
    ProposalPublic,
    ProposalUpdate,
)
from proposals.service import Page, ProposalService, PublishReport, Queue, to_tally_projects

__all__ = [
    "PUBLIC_STATUSES",
    "TRANSITIONS",
    "Assignment",
    "Comment",
    "CommentCreate",
    "CostingInput",
    "DecisionInput",
    "Flag",
    "Notification",
    "Page",
    "Proposal",
    "ProposalAction",
    "ProposalActivity",
    "ProposalCreate",
    "ProposalEvent",
    "ProposalPublic",
    "ProposalService",
    "ProposalStatus",
    "ProposalUpdate",
    "PublishReport",
    "Queue",
    "Support",
    "to_tally_projects",
    "transition",
]
