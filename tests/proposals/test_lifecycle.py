"""The pure lifecycle: every (status, action) pair, who may act, and in which phase."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pb.accounts import Role
from pb.errors import InvalidTransition
from pb.processes import PHASES, Phase, ProcessKind
from proposals.lifecycle import (
    ACTION_PHASES,
    ACTION_ROLES,
    ACTIVITY_PHASES,
    AUTHOR,
    PUBLIC_STATUSES,
    REASON_REQUIRED,
    TERMINAL_STATUSES,
    TRANSITIONS,
    ProposalAction,
    ProposalActivity,
    ProposalStatus,
    actions_from,
    allowed_in_phase,
    may,
    transition,
)

S, A = ProposalStatus, ProposalAction

# The table written out once more, by hand, as the specification the code must match.
EXPECTED = {
    S.DRAFT: {A.EDIT: S.DRAFT, A.SUBMIT: S.SUBMITTED, A.WITHDRAW: S.WITHDRAWN},
    S.SUBMITTED: {
        A.APPROVE: S.APPROVED,
        A.REJECT: S.REJECTED,
        A.REQUEST_CHANGES: S.CHANGES_REQUESTED,
        A.MERGE: S.MERGED,
        A.HIDE: S.HIDDEN,
        A.WITHDRAW: S.WITHDRAWN,
    },
    S.CHANGES_REQUESTED: {
        A.EDIT: S.CHANGES_REQUESTED,
        A.RESUBMIT: S.SUBMITTED,
        A.REJECT: S.REJECTED,
        A.MERGE: S.MERGED,
        A.HIDE: S.HIDDEN,
        A.WITHDRAW: S.WITHDRAWN,
    },
    S.APPROVED: {
        A.MARK_FEASIBLE: S.FEASIBLE,
        A.MARK_UNFEASIBLE: S.UNFEASIBLE,
        A.MERGE: S.MERGED,
        A.HIDE: S.HIDDEN,
        A.WITHDRAW: S.WITHDRAWN,
    },
    S.HIDDEN: {A.RESTORE: S.SUBMITTED, A.REJECT: S.REJECTED},
    S.FEASIBLE: {
        A.MARK_FEASIBLE: S.FEASIBLE,
        A.MARK_UNFEASIBLE: S.UNFEASIBLE,
        A.PUBLISH: S.ON_BALLOT,
        A.WITHDRAW: S.WITHDRAWN,
    },
    S.UNFEASIBLE: {
        A.MARK_FEASIBLE: S.FEASIBLE,
        A.MARK_UNFEASIBLE: S.UNFEASIBLE,
        A.PUBLISH: S.UNFEASIBLE,
    },
    S.REJECTED: {},
    S.MERGED: {},
    S.WITHDRAWN: {},
    S.ON_BALLOT: {},
}

ALL_PAIRS = list(itertools.product(ProposalStatus, ProposalAction))


def test_specification_covers_every_status() -> None:
    assert set(EXPECTED) == set(ProposalStatus)


@pytest.mark.parametrize(("status", "action"), ALL_PAIRS, ids=lambda v: str(v))
def test_every_pair(status: ProposalStatus, action: ProposalAction) -> None:
    """Each of the 11 × 13 pairs: allowed ones land where the specification says, others raise."""
    expected = EXPECTED[status].get(action)
    if expected is None:
        assert (status, action) not in TRANSITIONS
        with pytest.raises(InvalidTransition):
            transition(status, action)
    else:
        assert transition(status, action) is expected
        assert transition(str(status), str(action)) is expected  # stored values are plain text


@given(st.sampled_from(ProposalStatus), st.sampled_from(ProposalAction))
def test_transition_is_total_over_the_table(status: ProposalStatus, action: ProposalAction) -> None:
    try:
        result = transition(status, action)
    except InvalidTransition as exc:
        assert (status, action) not in TRANSITIONS
        assert exc.status_code == 409 and str(exc)
    else:
        assert TRANSITIONS[(status, action)] is result
        assert action in actions_from(status)


@given(st.lists(st.sampled_from(ProposalAction), max_size=30))
def test_random_walks_stay_in_the_lifecycle(actions: list[ProposalAction]) -> None:
    """Whatever anyone tries, a proposal only moves along the table, and terminal means final."""
    status = S.DRAFT
    path = [status]
    for action in actions:
        try:
            status = transition(status, action)
        except InvalidTransition:
            continue
        path.append(status)
    for before, after in itertools.pairwise(path):
        assert before not in TERMINAL_STATUSES
        assert any(TRANSITIONS[(before, a)] is after for a in actions_from(before))
    if S.ON_BALLOT in path:
        # On the ballot only through costing: approved, then feasible, then published.
        i = path.index(S.ON_BALLOT)
        assert path[i - 1] is S.FEASIBLE
        assert S.APPROVED in path[:i]


def test_unknown_values_raise_invalid_transition() -> None:
    with pytest.raises(InvalidTransition):
        transition("flying", A.APPROVE)
    with pytest.raises(InvalidTransition):
        transition(S.SUBMITTED, "teleport")


def test_terminal_and_public_statuses() -> None:
    assert TERMINAL_STATUSES == {S.REJECTED, S.MERGED, S.WITHDRAWN, S.ON_BALLOT}
    assert S.DRAFT not in PUBLIC_STATUSES and S.HIDDEN not in PUBLIC_STATUSES
    assert S.REJECTED in PUBLIC_STATUSES  # rejections stay visible, with their reasons


def test_every_status_is_reachable_from_draft() -> None:
    seen, frontier = {S.DRAFT}, [S.DRAFT]
    while frontier:
        status = frontier.pop()
        for action in actions_from(status):
            nxt = TRANSITIONS[(status, action)]
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(ProposalStatus)


def test_decisions_needing_a_reason() -> None:
    assert REASON_REQUIRED == {A.REJECT, A.REQUEST_CHANGES, A.HIDE, A.MARK_UNFEASIBLE}


# ---------------------------------------------------------------------------------- roles

ROLE_SETS = [frozenset(c) for n in range(0, 3) for c in itertools.combinations(list(Role), n)]

EXPECTED_ROLES = {
    A.EDIT: {AUTHOR},
    A.SUBMIT: {AUTHOR},
    A.RESUBMIT: {AUTHOR},
    A.WITHDRAW: {AUTHOR},
    A.APPROVE: {Role.MODERATOR, Role.ADMIN},
    A.REJECT: {Role.MODERATOR, Role.ADMIN},
    A.REQUEST_CHANGES: {Role.MODERATOR, Role.ADMIN},
    A.MERGE: {Role.MODERATOR, Role.ADMIN},
    A.HIDE: {Role.MODERATOR, Role.ADMIN},
    A.RESTORE: {Role.MODERATOR, Role.ADMIN},
    A.MARK_FEASIBLE: {Role.VALUATOR, Role.ADMIN},
    A.MARK_UNFEASIBLE: {Role.VALUATOR, Role.ADMIN},
    A.PUBLISH: {Role.ADMIN},
}


def test_role_table_matches_specification() -> None:
    assert {a: set(r) for a, r in ACTION_ROLES.items()} == EXPECTED_ROLES


@pytest.mark.parametrize("action", list(ProposalAction), ids=str)
@pytest.mark.parametrize("is_author", [False, True])
def test_role_by_action(action: ProposalAction, is_author: bool) -> None:
    """Every action × every set of up to two roles × author or not."""
    for roles in ROLE_SETS:
        allowed = EXPECTED_ROLES[action]
        expected = bool(roles & allowed) or (
            AUTHOR in allowed and is_author and Role.RESIDENT in roles
        )
        assert may(action, roles, is_author=is_author) is expected, (action, roles, is_author)


def test_a_resident_cannot_take_moderator_actions() -> None:
    for action in (A.APPROVE, A.REJECT, A.REQUEST_CHANGES, A.MERGE, A.HIDE, A.RESTORE):
        assert not may(action, {Role.RESIDENT}, is_author=True)
        assert may(action, {Role.RESIDENT, Role.MODERATOR})


def test_moderators_cannot_act_for_proposers() -> None:
    for action in (A.EDIT, A.SUBMIT, A.RESUBMIT, A.WITHDRAW):
        assert not may(action, {Role.MODERATOR, Role.ADMIN, Role.RESIDENT}, is_author=False)


def test_activities() -> None:
    assert may(ProposalActivity.SUPPORT, {Role.RESIDENT})
    assert not may(ProposalActivity.SUPPORT, set())
    assert may(ProposalActivity.MODERATE, {Role.MODERATOR})
    assert not may(ProposalActivity.MODERATE, {Role.RESIDENT, Role.VALUATOR})
    assert may(ProposalActivity.ASSIGN, {Role.ADMIN})
    assert not may(ProposalActivity.ASSIGN, {Role.MODERATOR})


# ---------------------------------------------------------------------------------- phases

EXPECTED_PHASES = {
    A.EDIT: {Phase.SUBMISSION, Phase.REVIEW},
    A.SUBMIT: {Phase.SUBMISSION},
    A.RESUBMIT: {Phase.SUBMISSION, Phase.REVIEW},
    A.WITHDRAW: {Phase.SUBMISSION, Phase.REVIEW, Phase.COSTING},
    A.APPROVE: {Phase.SUBMISSION, Phase.REVIEW, Phase.COSTING},
    A.REJECT: {Phase.SUBMISSION, Phase.REVIEW, Phase.COSTING},
    A.REQUEST_CHANGES: {Phase.SUBMISSION, Phase.REVIEW},
    A.MERGE: {Phase.SUBMISSION, Phase.REVIEW},
    A.HIDE: {Phase.SUBMISSION, Phase.REVIEW, Phase.COSTING},
    A.RESTORE: {Phase.SUBMISSION, Phase.REVIEW, Phase.COSTING},
    A.MARK_FEASIBLE: {Phase.COSTING},
    A.MARK_UNFEASIBLE: {Phase.COSTING},
    A.PUBLISH: {Phase.COSTING},
}


@pytest.mark.parametrize(
    ("action", "phase"),
    list(itertools.product(ProposalAction, PHASES[ProcessKind.BUDGETING])),
    ids=str,
)
def test_phase_gating(action: ProposalAction, phase: Phase) -> None:
    assert allowed_in_phase(action, phase) is (phase in EXPECTED_PHASES[action])


def test_nothing_happens_to_proposals_in_draft_voting_or_after() -> None:
    for phase in (Phase.DRAFT, Phase.VOTING, Phase.CLOSED, Phase.CERTIFIED):
        assert not any(phase in phases for phases in ACTION_PHASES.values())
    assert ACTIVITY_PHASES[ProposalActivity.SUPPORT] == {Phase.SUBMISSION}
