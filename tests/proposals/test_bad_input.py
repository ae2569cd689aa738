"""Every kind of bad input named in the issue: a clear error, and nothing stored."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

from pb.audit import AuditEntry
from pb.errors import DomainError, Forbidden, InvalidInput, InvalidTransition
from pb.processes import Phase, WrongPhase
from proposals.media import MAX_IMAGE_BYTES
from proposals.models import (
    Assignment,
    Comment,
    Flag,
    Notification,
    Proposal,
    ProposalEvent,
    Support,
)
from tests.proposals.conftest import JPEG, PNG, WEBP, City, proposal_data

TABLES = (Proposal, ProposalEvent, AuditEntry, Support, Flag, Comment, Notification, Assignment)


async def snapshot(db_session: Any, settings: Any) -> dict[str, Any]:
    """Row counts, every proposal's (status, version, title, cost) and the stored media files."""
    state: dict[str, Any] = {}
    for table in TABLES:
        state[table.__tablename__] = (
            await db_session.exec(select(func.count()).select_from(table))
        ).one()
    rows = await db_session.exec(
        select(
            Proposal.id, Proposal.status, Proposal.version, Proposal.title, Proposal.official_cost
        ).order_by(Proposal.id)
    )
    state["proposals"] = [tuple(r) for r in rows.all()]
    media = Path(settings.media_dir)
    state["media"] = (
        sorted(os.listdir(media / "proposals")) if (media / "proposals").exists() else []
    )
    return state


class Unchanged:
    """``async with Unchanged(...)``: the block must raise ``error`` and leave no trace."""

    def __init__(
        self, db_session: Any, settings: Any, error: type[DomainError], field: str | None = None
    ):
        self.db_session, self.settings, self.error, self.field = db_session, settings, error, field

    async def __aenter__(self) -> None:
        self.before = await snapshot(self.db_session, self.settings)

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        assert exc is not None, f"expected {self.error.__name__}, nothing was raised"
        assert isinstance(exc, self.error), f"expected {self.error.__name__}, got {exc!r}"
        assert str(exc), "the error must say what is wrong"
        if self.field is not None:
            assert exc.field == self.field, (exc.field, str(exc))
        # The web layer rolls the transaction back; the service must not have written anyway.
        assert await snapshot(self.db_session, self.settings) == self.before
        return True


@pytest.fixture
def unchanged(db_session: Any, settings: Any) -> Any:
    return lambda error, field=None: Unchanged(db_session, settings, error, field)


BAD_FIELDS = [
    ({"title": ""}, "title"),
    ({"title": "    "}, "title"),
    ({"title": "x" * 121}, "title"),
    ({"title": "Two\nlines here"}, "title"),
    ({"summary": ""}, "summary"),
    ({"summary": "s" * 301}, "summary"),
    ({"description": ""}, "description"),
    ({"description": "d" * 10_001}, "description"),
    ({"location": "l" * 201}, "location"),
    ({"estimated_cost": -1}, "estimated_cost"),
    ({"estimated_cost": 12.5}, "estimated_cost"),
    ({"estimated_cost": "12.5"}, "estimated_cost"),
    ({"estimated_cost": "1e6"}, "estimated_cost"),
    ({"estimated_cost": "lots"}, "estimated_cost"),
    ({"estimated_cost": True}, "estimated_cost"),
    ({"estimated_cost": None}, "estimated_cost"),
    ({"estimated_cost": 10**16}, "estimated_cost"),
    ({"district_id": None}, "district_id"),
    ({"district_id": "north"}, "district_id"),
    ({"category_id": "parks"}, "category_id"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_FIELDS, ids=lambda v: repr(v)[:40])
async def test_bad_fields_on_create(
    city: City, as_user: Any, unchanged: Any, overrides: dict[str, Any], field: str
) -> None:
    async with unchanged(InvalidInput, field):
        await as_user("alice").create(city.process.id, proposal_data(city, **overrides), image=PNG)


@pytest.mark.parametrize(("overrides", "field"), BAD_FIELDS[:9], ids=lambda v: repr(v)[:40])
async def test_bad_fields_on_edit(
    city: City, as_user: Any, unchanged: Any, overrides: dict[str, Any], field: str
) -> None:
    draft = await as_user("alice").create(city.process.id, proposal_data(city))
    async with unchanged(InvalidInput, field):
        await as_user("alice").edit(draft.id, proposal_data(city, **overrides), image=JPEG)


async def test_district_or_category_of_another_process(
    city: City, as_user: Any, unchanged: Any
) -> None:
    alice = as_user("alice")
    async with unchanged(InvalidInput, "district_id"):
        await alice.create(city.process.id, proposal_data(city, district_id=city.other_district.id))
    async with unchanged(InvalidInput, "district_id"):
        await alice.create(city.process.id, proposal_data(city, district_id=999_999))
    draft = await alice.create(city.process.id, proposal_data(city))
    async with unchanged(InvalidInput, "district_id"):
        await alice.edit(draft.id, proposal_data(city, district_id=city.other_district.id))
    other_category = await _other_category(city, as_user)
    async with unchanged(InvalidInput, "category_id"):
        await alice.create(city.process.id, proposal_data(city, category_id=other_category))


async def _other_category(city: City, as_user: Any) -> int:
    from pb.processes import ProcessService

    service = as_user("admin")
    processes = ProcessService(service.session, service.settings)
    category = await processes.add_category(
        city.users["admin"], city.other_process.id, {"name": "Lakes"}
    )
    return category.id


@pytest.mark.parametrize(
    "image",
    [
        b"GIF89a" + b"\x00" * 50,
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"%PDF-1.7 not an image",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_IMAGE_BYTES,  # one header too many bytes
        b"RIFF\x00\x00\x00\x00AVI LIST",
    ],
    ids=["gif", "svg", "pdf", "too-large", "riff-not-webp"],
)
async def test_bad_images(city: City, as_user: Any, unchanged: Any, image: bytes) -> None:
    async with unchanged(InvalidInput, "image"):
        await as_user("alice").create(city.process.id, proposal_data(city), image=image)


async def test_good_images(city: City, as_user: Any) -> None:
    for image, kind in ((PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")):
        proposal = await as_user("alice").create(city.process.id, proposal_data(city), image=image)
        assert proposal.image_type == kind


async def test_wrong_phase(city: City, as_user: Any, unchanged: Any, advance: Any) -> None:
    submitted = await as_user("alice").create(city.process.id, proposal_data(city), submit=True)
    approved = await as_user("bob").create(city.process.id, proposal_data(city), submit=True)
    await as_user("moderator").approve(approved.id)
    # Submission phase: no costing, no publishing.
    async with unchanged(WrongPhase):
        await as_user("admin").cost(
            approved.id, {"feasible": False, "unfeasible_reason": "Too far away."}
        )
    async with unchanged(WrongPhase):
        await as_user("admin").publish_prices(city.process.id)
    await advance(Phase.REVIEW)
    # Review phase: no new proposals, no supports.
    async with unchanged(WrongPhase):
        await as_user("carol").create(city.process.id, proposal_data(city), submit=True)
    async with unchanged(WrongPhase):
        await as_user("carol").support(submitted.id)
    await advance(Phase.COSTING)
    # Costing phase: no more change requests or merges.
    async with unchanged(WrongPhase):
        await as_user("moderator").request_changes(submitted.id, "Add a map")
    async with unchanged(WrongPhase):
        await as_user("moderator").merge(submitted.id, approved.id)


async def test_proposals_cannot_be_made_in_a_draft_process(
    db_session: Any, settings: Any, city: City, as_user: Any, unchanged: Any
) -> None:
    from pb.processes import ProcessService

    draft = await ProcessService(db_session, settings).create(
        city.users["admin"], {"name": "Later"}
    )
    async with unchanged(WrongPhase):
        await as_user("alice").create(draft.id, proposal_data(city))


@pytest.mark.parametrize("who", ["alice", "bob", "valuator"])
@pytest.mark.parametrize(
    "call",
    [
        lambda s, pid, other: s.approve(pid),
        lambda s, pid, other: s.reject(pid, "No."),
        lambda s, pid, other: s.request_changes(pid, "Change it."),
        lambda s, pid, other: s.merge(pid, other),
        lambda s, pid, other: s.hide(pid, "Abusive"),
        lambda s, pid, other: s.decide(pid, "restore", {}),
    ],
    ids=["approve", "reject", "request_changes", "merge", "hide", "restore"],
)
async def test_residents_cannot_moderate(
    city: City, as_user: Any, unchanged: Any, who: str, call: Any
) -> None:
    proposal = await as_user("alice").create(city.process.id, proposal_data(city), submit=True)
    other = await as_user("carol").create(city.process.id, proposal_data(city), submit=True)
    async with unchanged(Forbidden):
        await call(as_user(who), proposal.id, other.id)


async def test_others_cannot_cost_or_assign(
    city: City, as_user: Any, unchanged: Any, advance: Any
) -> None:
    proposal = await as_user("alice").create(city.process.id, proposal_data(city), submit=True)
    await as_user("moderator").approve(proposal.id)
    await advance(Phase.COSTING)
    feasible = {"feasible": True, "official_cost": 10, "breakdown": [{"item": "All", "amount": 10}]}
    for who in ("alice", "moderator", "valuator2"):
        async with unchanged(Forbidden):
            await as_user(who).cost(proposal.id, feasible)
    for who in ("alice", "moderator", "valuator"):
        async with unchanged(Forbidden):
            await as_user(who).assign(proposal.id, city.users["valuator"].id)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {"feasible": True, "official_cost": -5, "breakdown": [{"item": "a", "amount": -5}]},
            "official_cost",
        ),
        (
            {"feasible": True, "official_cost": 10.5, "breakdown": [{"item": "a", "amount": 10}]},
            "official_cost",
        ),
        ({"feasible": True, "official_cost": "10,5", "breakdown": []}, "official_cost"),
        ({"feasible": True, "official_cost": None, "breakdown": []}, "official_cost"),
        ({"feasible": True, "official_cost": 100, "breakdown": []}, "breakdown"),
        (
            {
                "feasible": True,
                "official_cost": 100,
                "breakdown": [{"item": "a", "amount": 60}, {"item": "b", "amount": 30}],
            },
            "breakdown",
        ),
        (
            {"feasible": True, "official_cost": 100, "breakdown": [{"item": "", "amount": 100}]},
            "breakdown",
        ),
        (
            {"feasible": True, "official_cost": 100, "breakdown": [{"item": "a", "amount": 99.5}]},
            "breakdown",
        ),
        (
            {
                "feasible": True,
                "official_cost": 100,
                "breakdown": [{"item": "a", "amount": 100}],
                "duration_months": 0,
            },
            "duration_months",
        ),
        ({"feasible": False, "unfeasible_reason": ""}, "unfeasible_reason"),
        ({"feasible": False, "unfeasible_reason": "No."}, "unfeasible_reason"),
        ({"official_cost": 100}, "feasible"),
    ],
)
async def test_bad_costing(
    city: City, as_user: Any, unchanged: Any, advance: Any, data: dict[str, Any], field: str
) -> None:
    proposal = await as_user("alice").create(city.process.id, proposal_data(city), submit=True)
    await as_user("moderator").approve(proposal.id)
    await advance(Phase.COSTING)
    async with unchanged(InvalidInput, field):
        await as_user("admin").cost(proposal.id, data)


async def test_forbidden_transition_stores_nothing(
    city: City, as_user: Any, unchanged: Any
) -> None:
    proposal = await as_user("alice").create(city.process.id, proposal_data(city), submit=True)
    await as_user("moderator").reject(proposal.id, "Out of scope")
    async with unchanged(InvalidTransition):
        await as_user("moderator").approve(proposal.id)
    async with unchanged(InvalidTransition):
        await as_user("alice").edit(proposal.id, proposal_data(city))
    async with unchanged(InvalidInput, "action"):
        await as_user("moderator").decide(proposal.id, "publish", {})
