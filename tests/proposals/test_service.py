"""The proposal service end to end: submission, supports, moderation, costing, ballot projects."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import func, select

from pb import audit
from pb.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from pb.processes import Phase, ProcessService
from proposals.lifecycle import ProposalStatus
from proposals.models import Notification, Proposal, ProposalEvent, Support
from proposals.schemas import ProposalPublic
from tests.proposals.conftest import PNG, City, proposal_data

S = ProposalStatus


async def submitted(as_user: Any, city: City, who: str = "alice", **overrides: Any) -> Proposal:
    return await as_user(who).create(city.process.id, proposal_data(city, **overrides), submit=True)


async def audit_actions(db_session: Any, proposal_id: int) -> list[str]:
    entries = await audit.list_entries(db_session, subject=f"proposal:{proposal_id}", limit=500)
    return [e.action for e in reversed(entries)]


async def test_draft_edit_submit(db_session: Any, city: City, as_user: Any) -> None:
    alice = as_user("alice")
    draft = await alice.create(city.process.id, proposal_data(city))
    assert draft.status == S.DRAFT and draft.version == 1
    # Nobody else sees a draft, not even a moderator.
    for other in (None, "bob", "moderator"):
        with pytest.raises(NotFound):
            await as_user(other).get(draft.id)
    edited = await alice.edit(
        draft.id, proposal_data(city, title="Shade trees on Mill Road"), version=1
    )
    assert edited.title == "Shade trees on Mill Road" and edited.version == 2
    sent = await alice.submit(draft.id)
    assert sent.status == S.SUBMITTED and sent.submitted_at is not None
    assert (await as_user(None).get(draft.id)).id == draft.id
    history = await alice.history(draft.id)
    assert [(e.action, e.from_status, e.to_status) for e in history] == [
        ("create", None, "draft"),
        ("edit", "draft", "draft"),
        ("submit", "draft", "submitted"),
    ]
    assert await audit_actions(db_session, draft.id) == [
        "proposal.created",
        "proposal.edit",
        "proposal.submit",
    ]
    # Once submitted, the text is fixed unless a moderator asks for changes.
    with pytest.raises(Exception) as info:
        await alice.edit(draft.id, proposal_data(city))
    assert info.value.status_code == 409


async def test_only_the_author_acts_on_their_proposal(city: City, as_user: Any) -> None:
    proposal = await as_user("alice").create(city.process.id, proposal_data(city))
    for who in ("bob", "moderator", "admin"):
        with pytest.raises((Forbidden, NotFound)):
            await as_user(who).submit(proposal.id)
        with pytest.raises((Forbidden, NotFound)):
            await as_user(who).withdraw(proposal.id)
    with pytest.raises(NotAuthenticated):
        await as_user(None).create(city.process.id, proposal_data(city))


async def test_request_changes_then_resubmit(
    db_session: Any, city: City, as_user: Any, settings: Any
) -> None:
    proposal = await submitted(as_user, city)
    moderator = as_user("moderator")
    with pytest.raises(InvalidInput) as info:
        await moderator.request_changes(proposal.id, "   ")
    assert info.value.field == "reason"
    changed = await moderator.request_changes(proposal.id, "Please name the street exactly.")
    assert changed.status == S.CHANGES_REQUESTED
    # The proposer can edit during review too, and resubmit.
    await ProcessService(db_session, settings).advance_phase(
        city.users["admin"], city.process.id, Phase.REVIEW
    )
    alice = as_user("alice")
    await alice.edit(proposal.id, proposal_data(city, location="Mill Street 1-40"))
    again = await alice.resubmit(proposal.id)
    assert again.status == S.SUBMITTED
    inbox = await alice.inbox()
    assert any("waiting for changes" in n.subject for n in inbox)
    assert any("Please name the street exactly." in n.body for n in inbox)
    history = await as_user(None).history(proposal.id)
    assert "Please name the street exactly." in [e.reason for e in history]


async def test_approve_reject_and_public_reasons(db_session: Any, city: City, as_user: Any) -> None:
    good = await submitted(as_user, city)
    bad = await submitted(as_user, city, "bob", title="A statue of the mayor")
    moderator = as_user("moderator")
    assert (await moderator.approve(good.id)).status == S.APPROVED
    with pytest.raises(InvalidInput):
        await moderator.reject(bad.id, "")
    rejected = await moderator.reject(bad.id, "Monuments to living people are not eligible.")
    assert rejected.status == S.REJECTED
    # Everyone sees the rejection and why.
    public = await as_user(None).history(bad.id)
    assert public[-1].reason == "Monuments to living people are not eligible."
    assert public[-1].actor_id == city.users["moderator"].id
    entries = await audit.list_entries(db_session, subject=f"proposal:{bad.id}", limit=1)
    assert entries[0].action == "proposal.reject"
    assert entries[0].actor_id == city.users["moderator"].id
    assert entries[0].data_dict() == {
        "from": "submitted",
        "to": "rejected",
        "version": rejected.version,
        "reason": "Monuments to living people are not eligible.",
    }
    notes = await as_user("bob").inbox()
    assert notes[0].subject.endswith("is now rejected")


async def test_support_threshold_gates_approval(
    db_session: Any, settings: Any, city: City, as_user: Any
) -> None:
    processes = ProcessService(db_session, settings)
    process = await processes.get(city.process.id)
    data = {
        "name": process.name,
        "support_threshold": 2,
        "ballot_config": process.ballot_config_dict,
    }
    await processes.update(city.users["admin"], process.id, data)
    proposal = await submitted(as_user, city)
    with pytest.raises(Forbidden):
        await as_user("alice").support(proposal.id)  # not your own
    await as_user("bob").support(proposal.id)
    with pytest.raises(Conflict):
        await as_user("bob").support(proposal.id)
    with pytest.raises(InvalidInput, match="needs 2"):
        await as_user("moderator").approve(proposal.id)
    after = await as_user("carol").support(proposal.id)
    assert after.support_count == 2 and after.version == proposal.version  # not a decision
    assert await as_user("carol").supports(proposal.id)
    await as_user("carol").unsupport(proposal.id)
    await as_user("dave").support(proposal.id)
    assert (await as_user("moderator").approve(proposal.id)).status == S.APPROVED
    count = (
        await db_session.exec(
            select(func.count()).select_from(Support).where(Support.proposal_id == proposal.id)
        )
    ).one()
    assert count == 2
    # Supports close with the submission phase.
    await processes.advance_phase(city.users["admin"], process.id, Phase.REVIEW)
    other = await submitted(as_user, city, "carol") if False else None  # noqa: F841
    with pytest.raises(Exception) as info:
        await as_user("carol").support(proposal.id)
    assert info.value.status_code == 409


async def test_merge_moves_supports(city: City, as_user: Any) -> None:
    original = await submitted(as_user, city)
    duplicate = await submitted(as_user, city, "bob", title="Trees for Mill Street please")
    await as_user("carol").support(duplicate.id)
    await as_user("dave").support(duplicate.id)
    await as_user("dave").support(original.id)
    moderator = as_user("moderator")
    with pytest.raises(InvalidInput):
        await moderator.merge(duplicate.id, duplicate.id)
    merged = await moderator.merge(duplicate.id, original.id)
    assert merged.status == S.MERGED and merged.merged_into_id == original.id
    target = await moderator.get(original.id)
    assert target.support_count == 2  # carol moved over; dave is not counted twice
    history = await as_user(None).history(duplicate.id)
    assert f"#{original.id}" in history[-1].reason
    with pytest.raises(InvalidInput):
        await moderator.merge(original.id, duplicate.id)  # merged ones cannot take others


async def test_flags_hide_pending_review_and_restore(
    db_session: Any, city: City, as_user: Any
) -> None:
    proposal = await submitted(as_user, city)
    with pytest.raises(Forbidden):
        await as_user("alice").flag(proposal.id)
    await as_user("bob").flag(proposal.id, "insulting")
    with pytest.raises(Conflict):
        await as_user("bob").flag(proposal.id)
    await as_user("carol").flag(proposal.id)
    assert (await as_user(None).get(proposal.id)).status == S.SUBMITTED
    hidden = await as_user("dave").flag(proposal.id)
    assert hidden.status == S.HIDDEN  # three flags: hidden pending review
    with pytest.raises(NotFound):
        await as_user(None).get(proposal.id)
    assert (await as_user("alice").get(proposal.id)).status == S.HIDDEN  # the author still sees it
    queue = await as_user("moderator").moderation_queue(city.process.id)
    assert [p.id for p in queue.hidden] == [proposal.id]
    events = await as_user("moderator").history(proposal.id)
    assert events[-1].action == "hide" and events[-1].actor_id is None
    assert "3 flags" in events[-1].reason
    restored = await as_user("moderator").restore(proposal.id)
    assert restored.status == S.SUBMITTED and restored.flag_count == 0
    assert "proposal.hide" in await audit_actions(db_session, proposal.id)
    with pytest.raises(Forbidden):
        await as_user("alice").moderation_queue()


async def test_comments_and_their_moderation(city: City, as_user: Any) -> None:
    proposal = await submitted(as_user, city)
    comment = await as_user("bob").comment(proposal.id, {"body": "Great idea, the street is hot."})
    with pytest.raises(InvalidInput):
        await as_user("bob").comment(proposal.id, {"body": " "})
    with pytest.raises(InvalidInput):
        await as_user("bob").comment(proposal.id, {"body": "x" * 2001})
    assert (await as_user(None).get(proposal.id)).comment_count == 1
    for who in ("alice", "carol", "dave"):
        await as_user(who).flag_comment(comment.id)
    hidden = (await as_user(None).comments(proposal.id))[0]
    assert hidden.is_hidden
    assert not await as_user(None).can_read_comment(hidden)
    assert await as_user("moderator").can_read_comment(hidden)
    assert (await as_user(None).get(proposal.id)).comment_count == 0
    with pytest.raises(Forbidden):
        await as_user("alice").restore_comment(comment.id)
    restored = await as_user("moderator").restore_comment(comment.id)
    assert not restored.is_hidden and restored.flag_count == 0
    await as_user("moderator").hide_comment(comment.id, "Off topic")
    history = await as_user(None).history(proposal.id)
    assert [e.action for e in history][-3:] == [
        "comment_hidden",
        "comment_restored",
        "comment_hidden",
    ]


async def test_costing_and_ballot(
    db_session: Any, settings: Any, city: City, as_user: Any, advance: Any
) -> None:
    cheap = await submitted(as_user, city, estimated_cost=500_000)
    pricey = await submitted(
        as_user, city, "bob", title="A covered market hall", district_id=city.south.id
    )
    hopeless = await submitted(as_user, city, "carol", title="A tunnel under the river")
    moderator = as_user("moderator")
    for p in (cheap, pricey, hopeless):
        await moderator.approve(p.id)
    await advance(Phase.COSTING)
    admin, valuator = as_user("admin"), as_user("valuator")
    await admin.assign(cheap.id, city.users["valuator"].id)
    with pytest.raises(InvalidInput):
        await admin.assign(cheap.id, city.users["alice"].id)  # not a valuator
    with pytest.raises(Forbidden):
        await valuator.cost(pricey.id, _feasible(3_000_000))  # not assigned to them
    with pytest.raises(Forbidden):
        await as_user("moderator").cost(cheap.id, _feasible(480_000))
    with pytest.raises(Conflict):
        await valuator.cost(cheap.id, _feasible(480_000), version=cheap.version - 1)  # stale
    costed = await valuator.cost(cheap.id, _feasible(480_000), version=cheap.version)
    assert costed.status == S.FEASIBLE and costed.official_cost == 480_000
    assert costed.breakdown == [
        {"item": "Trees", "amount": 300_000},
        {"item": "Works", "amount": 180_000},
    ]
    assert [p.id for p in await valuator.assigned_to_me()] == [cheap.id]
    # Prices are not public yet.
    assert ProposalPublic.of(await as_user(None).get(cheap.id)).official_cost is None
    await admin.cost(pricey.id, _feasible(3_000_000))  # more than South's 1,500,000
    await admin.cost(
        hopeless.id, {"feasible": False, "unfeasible_reason": "The river bed is protected."}
    )
    report = await admin.publish_prices(city.process.id)
    assert report.on_ballot == [cheap.id]
    assert report.over_budget == [pricey.id]
    assert report.unfeasible == [hopeless.id]
    over = await as_user(None).get(pricey.id)
    assert over.status == S.UNFEASIBLE and "more than the budget of South" in over.unfeasible_reason
    public = ProposalPublic.of(await as_user(None).get(cheap.id))
    assert public.status == S.ON_BALLOT and public.official_cost == 480_000
    assert [p.id for p in await admin.ballot_projects(city.process.id, city.north.id)] == [cheap.id]
    assert await admin.ballot_projects(city.process.id, city.south.id) == []
    with pytest.raises(NotFound):
        await admin.ballot_projects(city.process.id, city.other_district.id)
    # After publication costing is final.
    with pytest.raises(Exception) as info:
        await admin.cost(hopeless.id, _feasible(10))
    assert info.value.status_code == 409
    actions = await audit_actions(db_session, pricey.id)
    assert actions[-2:] == ["proposal.mark_unfeasible", "proposal.publish"]


async def test_publish_refuses_uncosted(city: City, as_user: Any, advance: Any) -> None:
    proposal = await submitted(as_user, city)
    await as_user("moderator").approve(proposal.id)
    await advance(Phase.COSTING)
    with pytest.raises(Conflict, match="1 approved proposal is not costed"):
        await as_user("admin").publish_prices(city.process.id)
    with pytest.raises(Forbidden):
        await as_user("valuator").publish_prices(city.process.id)


def _feasible(cost: int) -> dict[str, Any]:
    works = cost - 300_000 if cost >= 300_000 else 0
    lines = [{"item": "Trees", "amount": cost - works}]
    if works:
        lines.append({"item": "Works", "amount": works})
    return {"feasible": True, "official_cost": cost, "breakdown": lines, "duration_months": 6}


async def test_withdraw(city: City, as_user: Any) -> None:
    proposal = await submitted(as_user, city)
    gone = await as_user("alice").withdraw(proposal.id, reason="Merged with my neighbour's idea")
    assert gone.status == S.WITHDRAWN
    with pytest.raises(Exception) as info:
        await as_user("moderator").approve(proposal.id)
    assert info.value.status_code == 409


async def test_listing_filters_search_sort_pages(city: City, as_user: Any) -> None:
    titles = [
        ("Bike lanes on Elm Avenue", city.north.id, city.mobility.id, 900_000),
        ("Benches in Riverside Park", city.south.id, city.parks.id, 100_000),
        ("Playground for Oak Square", city.north.id, city.parks.id, 400_000),
        ("Night bus to the hospital", city.citywide.id, city.mobility.id, 5_000_000),
    ]
    ids = {}
    for i, (title, district, category, cost) in enumerate(titles):
        who = ("alice", "bob", "carol", "dave")[i]
        p = await submitted(
            as_user,
            city,
            who,
            title=title,
            district_id=district,
            category_id=category,
            estimated_cost=cost,
        )
        ids[title] = p.id
    draft = await as_user("alice").create(
        city.process.id, proposal_data(city, title="Secret draft")
    )
    visitor = as_user(None)
    page = await visitor.list(city.process.id)
    assert page.total == 4 and draft.id not in {p.id for p in page.items}
    north = await visitor.list(city.process.id, district_id=city.north.id, sort="title")
    assert [p.title for p in north.items] == [
        "Bike lanes on Elm Avenue",
        "Playground for Oak Square",
    ]
    parks = await visitor.list(city.process.id, category_id=city.parks.id, sort="cost")
    assert [p.title for p in parks.items] == [
        "Benches in Riverside Park",
        "Playground for Oak Square",
    ]
    assert [p.title for p in (await visitor.list(city.process.id, q="BUS")).items] == [
        "Night bus to the hospital"
    ]
    assert (await visitor.list(city.process.id, q="100%")).total == 0  # LIKE wildcards escaped
    first = await visitor.list(city.process.id, sort="oldest", per_page=3)
    second = await visitor.list(city.process.id, sort="oldest", per_page=3, page=2)
    assert first.pages == 2 and first.has_next and not second.has_next
    assert [p.title for p in first.items + second.items] == [t[0] for t in titles]
    await as_user("moderator").reject(ids["Night bus to the hospital"], "Not a capital project.")
    rejected = await visitor.list(city.process.id, status="rejected")
    assert [p.title for p in rejected.items] == ["Night bus to the hospital"]
    with pytest.raises(InvalidInput):
        await visitor.list(city.process.id, status="draft")
    with pytest.raises(InvalidInput):
        await visitor.list(city.process.id, sort="random")
    mine = await as_user("alice").list(city.process.id, mine=True)
    assert {p.title for p in mine.items} == {"Bike lanes on Elm Avenue", "Secret draft"}


async def test_inbox(db_session: Any, city: City, as_user: Any) -> None:
    proposal = await submitted(as_user, city)
    await as_user("moderator").approve(proposal.id, reason="Looks good.")
    alice = as_user("alice")
    assert await alice.unread_count() == 1
    [note] = await alice.inbox()
    assert note.proposal_id == proposal.id and "approved" in note.subject
    assert await alice.mark_read(note.id) == 1
    assert await alice.unread_count() == 0
    count = (await db_session.exec(select(func.count()).select_from(Notification))).one()
    assert count == 1  # the proposer's own actions do not notify them


async def test_image_is_stored_outside_under_a_random_name(
    settings: Any, city: City, as_user: Any
) -> None:
    from pathlib import Path

    from proposals.media import image_path

    proposal = await as_user("alice").create(city.process.id, proposal_data(city), image=PNG)
    assert proposal.image_type == "image/png"
    path = image_path(settings, proposal.image_path)
    assert path is not None and path.read_bytes() == PNG
    assert Path(settings.media_dir) in path.parents
    assert image_path(settings, "../../etc/passwd") is None


async def test_every_decision_is_in_history_and_audit(
    db_session: Any, city: City, as_user: Any
) -> None:
    proposal = await submitted(as_user, city)
    moderator = as_user("moderator")
    await moderator.hide(proposal.id, "Contains a phone number")
    await moderator.restore(proposal.id)
    await moderator.request_changes(proposal.id, "Remove the phone number")
    await as_user("alice").edit(proposal.id, proposal_data(city))
    await as_user("alice").resubmit(proposal.id)
    await moderator.approve(proposal.id)
    events = (
        await db_session.exec(
            select(ProposalEvent.action)
            .where(ProposalEvent.proposal_id == proposal.id)
            .order_by(ProposalEvent.id)
        )
    ).all()
    expected = [
        "create",
        "submit",
        "hide",
        "restore",
        "request_changes",
        "edit",
        "resubmit",
        "approve",
    ]
    assert list(events) == expected
    assert await audit_actions(db_session, proposal.id) == ["proposal.created"] + [
        f"proposal.{a}" for a in expected[1:]
    ]
    assert not await audit.verify_chain(db_session)


async def test_image_of_a_rolled_back_write_is_removed(
    db_session: Any, settings: Any, city: City, as_user: Any
) -> None:
    from proposals.media import image_path

    proposal = await as_user("alice").create(city.process.id, proposal_data(city), image=PNG)
    path = image_path(settings, proposal.image_path)
    assert path is not None and path.exists()
    await db_session.rollback()
    assert not path.exists()


async def test_mail_goes_out_only_after_commit(
    db_session: Any, settings: Any, city: City, as_user: Any
) -> None:
    from pb.notify import LogEmailSender
    from proposals.service import ProposalService

    proposal = await submitted(as_user, city)
    mailer = LogEmailSender()
    moderator = ProposalService(db_session, settings, city.users["moderator"], mailer=mailer)
    await moderator.approve(proposal.id)
    assert list(mailer.sent) == []
    await db_session.commit()
    import asyncio

    await asyncio.sleep(0)
    [mail] = list(mailer.sent)
    assert mail.to == "alice@test.pb" and "approved" in mail.subject
