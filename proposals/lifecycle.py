"""The proposal lifecycle as data: statuses, actions, and who may do what, when.

Pure: no database, no I/O. ``transition(status, action)`` is the only way a status changes; any
pair missing from ``TRANSITIONS`` raises ``InvalidTransition``. ``ACTION_ROLES`` says which roles
may take an action (``AUTHOR`` is the proposal's own proposer) and ``ACTION_PHASES`` in which
process phases. The service checks all three before writing anything.

::

    draft ──submit──▶ submitted ──approve──▶ approved ──mark_feasible──▶ feasible ──publish──▶ on_ballot
      │                 │  │  ▲                 │  └──mark_unfeasible──▶ unfeasible (public reason)
      │   request_changes  │  └──resubmit── changes_requested
      │                 │  └──reject (reason)──▶ rejected
      └──withdraw──▶ withdrawn     merge──▶ merged      hide──▶ hidden ──restore──▶ submitted
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

from pb.accounts import Role
from pb.errors import InvalidTransition
from pb.processes import Phase

__all__ = [
    "ACTIVITY_PHASES",
    "ACTIVITY_ROLES",
    "ACTION_LABELS",
    "ACTION_PHASES",
    "ACTION_ROLES",
    "AUTHOR",
    "PUBLIC_STATUSES",
    "REASON_REQUIRED",
    "STATUS_LABELS",
    "TERMINAL_STATUSES",
    "TRANSITIONS",
    "ProposalAction",
    "ProposalActivity",
    "ProposalStatus",
    "actions_from",
    "allowed_in_phase",
    "may",
    "transition",
]


class ProposalStatus(StrEnum):
    DRAFT = "draft"  # saved by its proposer, visible only to them
    SUBMITTED = "submitted"  # public, open to supports, waiting for a moderator
    CHANGES_REQUESTED = "changes_requested"  # a moderator asked the proposer to edit it
    APPROVED = "approved"  # passed moderation, waiting to be costed
    REJECTED = "rejected"  # refused by a moderator, with a public reason
    MERGED = "merged"  # a duplicate, folded into another proposal
    HIDDEN = "hidden"  # abusive or flagged too often: out of public view pending review
    WITHDRAWN = "withdrawn"  # taken back by its proposer
    FEASIBLE = "feasible"  # costed by a valuator: can be carried out
    UNFEASIBLE = "unfeasible"  # costed by a valuator: cannot, with a public explanation
    ON_BALLOT = "on_ballot"  # prices published: a project on its district's ballot


class ProposalAction(StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    RESUBMIT = "resubmit"
    WITHDRAW = "withdraw"
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CHANGES = "request_changes"
    MERGE = "merge"
    HIDE = "hide"
    RESTORE = "restore"
    MARK_FEASIBLE = "mark_feasible"
    MARK_UNFEASIBLE = "mark_unfeasible"
    PUBLISH = "publish"


class ProposalActivity(StrEnum):
    """Things done around a proposal that never change its status."""

    SUPPORT = "support"
    FLAG = "flag"
    COMMENT = "comment"
    MODERATE = "moderate"
    ASSIGN = "assign"


S, A = ProposalStatus, ProposalAction

TRANSITIONS: Mapping[tuple[ProposalStatus, ProposalAction], ProposalStatus] = MappingProxyType(
    {
        (S.DRAFT, A.EDIT): S.DRAFT,
        (S.DRAFT, A.SUBMIT): S.SUBMITTED,
        (S.DRAFT, A.WITHDRAW): S.WITHDRAWN,
        (S.SUBMITTED, A.APPROVE): S.APPROVED,
        (S.SUBMITTED, A.REJECT): S.REJECTED,
        (S.SUBMITTED, A.REQUEST_CHANGES): S.CHANGES_REQUESTED,
        (S.SUBMITTED, A.MERGE): S.MERGED,
        (S.SUBMITTED, A.HIDE): S.HIDDEN,
        (S.SUBMITTED, A.WITHDRAW): S.WITHDRAWN,
        (S.CHANGES_REQUESTED, A.EDIT): S.CHANGES_REQUESTED,
        (S.CHANGES_REQUESTED, A.RESUBMIT): S.SUBMITTED,
        (S.CHANGES_REQUESTED, A.REJECT): S.REJECTED,
        (S.CHANGES_REQUESTED, A.MERGE): S.MERGED,
        (S.CHANGES_REQUESTED, A.HIDE): S.HIDDEN,
        (S.CHANGES_REQUESTED, A.WITHDRAW): S.WITHDRAWN,
        (S.APPROVED, A.MARK_FEASIBLE): S.FEASIBLE,
        (S.APPROVED, A.MARK_UNFEASIBLE): S.UNFEASIBLE,
        (S.APPROVED, A.MERGE): S.MERGED,
        (S.APPROVED, A.HIDE): S.HIDDEN,
        (S.APPROVED, A.WITHDRAW): S.WITHDRAWN,
        # Restored content goes back to the moderation queue: a moderator looks at it again.
        (S.HIDDEN, A.RESTORE): S.SUBMITTED,
        (S.HIDDEN, A.REJECT): S.REJECTED,
        # Until prices are published a valuator may revise the costing.
        (S.FEASIBLE, A.MARK_FEASIBLE): S.FEASIBLE,
        (S.FEASIBLE, A.MARK_UNFEASIBLE): S.UNFEASIBLE,
        (S.FEASIBLE, A.PUBLISH): S.ON_BALLOT,
        (S.FEASIBLE, A.WITHDRAW): S.WITHDRAWN,
        (S.UNFEASIBLE, A.MARK_FEASIBLE): S.FEASIBLE,
        (S.UNFEASIBLE, A.MARK_UNFEASIBLE): S.UNFEASIBLE,
        (S.UNFEASIBLE, A.PUBLISH): S.UNFEASIBLE,
    }
)

TERMINAL_STATUSES: frozenset[ProposalStatus] = frozenset(
    s for s in ProposalStatus if not any(key[0] is s for key in TRANSITIONS)
)

# Everyone may see these (with their history); drafts and hidden proposals are not public.
PUBLIC_STATUSES: frozenset[ProposalStatus] = frozenset(ProposalStatus) - {S.DRAFT, S.HIDDEN}

# A decision that must carry a public explanation.
REASON_REQUIRED: frozenset[ProposalAction] = frozenset(
    {A.REJECT, A.REQUEST_CHANGES, A.HIDE, A.MARK_UNFEASIBLE}
)

# ``AUTHOR`` stands for "the proposer of this very proposal" (who also holds ``resident``).
AUTHOR = "author"
_MODERATORS = frozenset({Role.MODERATOR, Role.ADMIN})
# Valuators act only on proposals assigned to them; admins on any.
_VALUATORS = frozenset({Role.VALUATOR, Role.ADMIN})

ACTION_ROLES: Mapping[ProposalAction, frozenset[str]] = MappingProxyType(
    {
        A.EDIT: frozenset({AUTHOR}),
        A.SUBMIT: frozenset({AUTHOR}),
        A.RESUBMIT: frozenset({AUTHOR}),
        A.WITHDRAW: frozenset({AUTHOR}),
        A.APPROVE: _MODERATORS,
        A.REJECT: _MODERATORS,
        A.REQUEST_CHANGES: _MODERATORS,
        A.MERGE: _MODERATORS,
        A.HIDE: _MODERATORS,
        A.RESTORE: _MODERATORS,
        A.MARK_FEASIBLE: _VALUATORS,
        A.MARK_UNFEASIBLE: _VALUATORS,
        A.PUBLISH: frozenset({Role.ADMIN}),
    }
)

P = Phase
ACTION_PHASES: Mapping[ProposalAction, frozenset[Phase]] = MappingProxyType(
    {
        A.EDIT: frozenset({P.SUBMISSION, P.REVIEW}),
        A.SUBMIT: frozenset({P.SUBMISSION}),
        A.RESUBMIT: frozenset({P.SUBMISSION, P.REVIEW}),
        A.WITHDRAW: frozenset({P.SUBMISSION, P.REVIEW, P.COSTING}),
        A.APPROVE: frozenset({P.SUBMISSION, P.REVIEW, P.COSTING}),
        A.REJECT: frozenset({P.SUBMISSION, P.REVIEW, P.COSTING}),
        A.REQUEST_CHANGES: frozenset({P.SUBMISSION, P.REVIEW}),
        A.MERGE: frozenset({P.SUBMISSION, P.REVIEW}),
        A.HIDE: frozenset({P.SUBMISSION, P.REVIEW, P.COSTING}),
        A.RESTORE: frozenset({P.SUBMISSION, P.REVIEW, P.COSTING}),
        A.MARK_FEASIBLE: frozenset({P.COSTING}),
        A.MARK_UNFEASIBLE: frozenset({P.COSTING}),
        A.PUBLISH: frozenset({P.COSTING}),
    }
)

_PUBLIC_PHASES = frozenset({P.SUBMISSION, P.REVIEW, P.COSTING, P.VOTING})

ACTIVITY_ROLES: Mapping[ProposalActivity, frozenset[str]] = MappingProxyType(
    {
        ProposalActivity.SUPPORT: frozenset({Role.RESIDENT}),
        ProposalActivity.FLAG: frozenset({Role.RESIDENT}),
        ProposalActivity.COMMENT: frozenset({Role.RESIDENT}),
        ProposalActivity.MODERATE: _MODERATORS,
        ProposalActivity.ASSIGN: frozenset({Role.ADMIN}),
    }
)

ACTIVITY_PHASES: Mapping[ProposalActivity, frozenset[Phase]] = MappingProxyType(
    {
        ProposalActivity.SUPPORT: frozenset({P.SUBMISSION}),
        ProposalActivity.FLAG: _PUBLIC_PHASES,
        ProposalActivity.COMMENT: _PUBLIC_PHASES,
        ProposalActivity.MODERATE: _PUBLIC_PHASES | {P.CLOSED, P.CERTIFIED},
        ProposalActivity.ASSIGN: frozenset({P.REVIEW, P.COSTING}),
    }
)


def transition(status: ProposalStatus | str, action: ProposalAction | str) -> ProposalStatus:
    """The status after ``action``; ``InvalidTransition`` for any pair not in the table."""
    try:
        key = (ProposalStatus(status), ProposalAction(action))
    except ValueError:
        raise InvalidTransition(f"Unknown status or action: {status!r}, {action!r}.") from None
    try:
        return TRANSITIONS[key]
    except KeyError:
        raise InvalidTransition(
            f"A proposal that is {_label(key[0])} cannot be {_past(key[1])}."
        ) from None


def actions_from(status: ProposalStatus | str) -> frozenset[ProposalAction]:
    """Actions the table allows from ``status`` (before role and phase checks)."""
    s = ProposalStatus(status)
    return frozenset(a for (st, a) in TRANSITIONS if st is s)


def may(
    action: ProposalAction | ProposalActivity,
    roles: Iterable[str],
    *,
    is_author: bool = False,
) -> bool:
    """Whether someone holding ``roles`` (and authoring the proposal, or not) may take ``action``.

    Author-only actions also need the ``resident`` role; assignment of valuators is checked by
    the service, since it depends on data.
    """
    held = {str(r) for r in roles}
    allowed = ACTION_ROLES[action] if isinstance(action, ProposalAction) else ACTIVITY_ROLES[action]
    if AUTHOR in allowed and is_author and Role.RESIDENT in held:
        return True
    return bool(held & {str(r) for r in allowed if r != AUTHOR})


def allowed_in_phase(action: ProposalAction | ProposalActivity, phase: Phase | str) -> bool:
    table = ACTION_PHASES if isinstance(action, ProposalAction) else ACTIVITY_PHASES
    return Phase(phase) in table[action]  # type: ignore[index]


STATUS_LABELS: Mapping[ProposalStatus, str] = MappingProxyType(
    {
        S.DRAFT: "draft",
        S.SUBMITTED: "submitted",
        S.CHANGES_REQUESTED: "waiting for changes",
        S.APPROVED: "approved",
        S.REJECTED: "rejected",
        S.MERGED: "merged",
        S.HIDDEN: "hidden",
        S.WITHDRAWN: "withdrawn",
        S.FEASIBLE: "feasible",
        S.UNFEASIBLE: "unfeasible",
        S.ON_BALLOT: "on the ballot",
    }
)

ACTION_LABELS: Mapping[ProposalAction, str] = MappingProxyType(
    {
        A.EDIT: "edited",
        A.SUBMIT: "submitted",
        A.RESUBMIT: "resubmitted",
        A.WITHDRAW: "withdrawn",
        A.APPROVE: "approved",
        A.REJECT: "rejected",
        A.REQUEST_CHANGES: "sent back for changes",
        A.MERGE: "merged",
        A.HIDE: "hidden",
        A.RESTORE: "restored",
        A.MARK_FEASIBLE: "marked feasible",
        A.MARK_UNFEASIBLE: "marked unfeasible",
        A.PUBLISH: "published",
    }
)


def _label(status: ProposalStatus) -> str:
    return STATUS_LABELS[status]


def _past(action: ProposalAction) -> str:
    return ACTION_LABELS[action]
