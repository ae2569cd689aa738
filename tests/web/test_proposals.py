"""Process and proposal pages, the moderation queue, costing, the inbox and the JSON API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from pb.accounts import Role, User
from pb.db import make_session_factory, session_scope
from pb.processes import District, Phase, Process, ProcessService
from pb.settings import Settings
from proposals.models import Proposal
from proposals.service import ProposalService
from tests.web.conftest import PASSWORD, WebClient, make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def app(app_factory: Any) -> Litestar:
    return app_factory()


@dataclass
class WebCity:
    users: dict[str, User]
    process: Process
    north: District
    south: District
    parks: int


async def run(engine: AsyncEngine, fn: Any) -> Any:
    async with session_scope(make_session_factory(engine)) as session:
        return await fn(session)


@pytest.fixture
async def city(engine: AsyncEngine, web_settings: Settings) -> WebCity:
    return await make_city(engine, web_settings)


async def make_city(engine: AsyncEngine, web_settings: Settings) -> WebCity:
    """Riverton 2026 in submission, two districts, a category, and one user per role."""
    users = {
        "admin": await make_user(engine, web_settings, "admin@city.test", [Role.ADMIN], name="Ada"),
        "moderator": await make_user(
            engine, web_settings, "mod@city.test", [Role.MODERATOR], name="Mo"
        ),
        "moderator2": await make_user(
            engine, web_settings, "mod2@city.test", [Role.MODERATOR], name="Max"
        ),
        "valuator": await make_user(
            engine, web_settings, "val@city.test", [Role.VALUATOR], name="Val"
        ),
        "alice": await make_user(engine, web_settings, "alice@city.test", name="Alice"),
        "bob": await make_user(engine, web_settings, "bob@city.test", name="Bob"),
    }

    async def setup(session: Any) -> WebCity:
        service = ProcessService(session, web_settings)
        admin = await session.get(User, users["admin"].id)
        process = await service.create(
            admin, {"name": "Riverton 2026", "description": "Our city's budget."}
        )
        north = await service.add_district(
            admin, process.id, {"name": "North", "budget": 2_000_000}
        )
        south = await service.add_district(
            admin, process.id, {"name": "South", "budget": 1_500_000}
        )
        parks = await service.add_category(admin, process.id, {"name": "Parks"})
        await service.advance_phase(admin, process.id, Phase.SUBMISSION)
        return WebCity(users, process, north, south, parks.id)

    return await run(engine, setup)


def form_data(city: WebCity, **overrides: Any) -> dict[str, str]:
    data = {
        "title": "Shade trees on Mill Street",
        "summary": "Plant twenty shade trees along Mill Street to cool the pavement.",
        "description": "Mill Street has no shade between the school and the market at all.",
        "district_id": str(city.north.id),
        "category_id": str(city.parks),
        "estimated_cost": "12000",
        "location": "Mill Street",
        "intent": "submit",
    }
    data.update(overrides)
    return data


async def post_multipart(
    client: WebClient,
    url: str,
    data: dict[str, str],
    image: bytes | None = None,
    htmx: bool = False,
) -> Any:
    token = client.token or await client.fresh_token()
    headers = {"x-csrftoken": token, "HX-Request": "true"} if htmx else {}
    fields = dict(data) if htmx else {**data, "_csrf_token": token}
    files = {"image": ("photo.png", image or b"", "image/png")}
    return await client.http.post(url, data=fields, files=files, headers=headers)


async def propose(
    engine: AsyncEngine, settings: Settings, city: WebCity, who: str = "alice", **overrides: Any
) -> Proposal:
    async def make(session: Any) -> Proposal:
        user = await session.get(User, city.users[who].id)
        data = {
            "title": overrides.pop("title", "Benches by the river"),
            "summary": "Ten benches along the river path for people who walk slowly.",
            "description": "There is nowhere to sit between the bridge and the clinic today.",
            "district_id": overrides.pop("district_id", city.north.id),
            "estimated_cost": overrides.pop("estimated_cost", 500_000),
        }
        return await ProposalService(session, settings, user).create(
            city.process.id, data, submit=True
        )

    return await run(engine, make)


async def advance(engine: AsyncEngine, settings: Settings, city: WebCity, phase: Phase) -> None:
    async def go(session: Any) -> None:
        service = ProcessService(session, settings)
        admin = await session.get(User, city.users["admin"].id)
        while (p := await service.get(city.process.id)).phase != phase:
            await service.advance_phase(admin, p.id, p.next_phase)

    await run(engine, go)


async def approve(
    engine: AsyncEngine, settings: Settings, city: WebCity, proposal_id: int, **extra: Any
) -> None:
    """The city's moderator approves the proposal (``extra``: e.g. a reason)."""

    async def go(session: Any) -> None:
        moderator = await session.get(User, city.users["moderator"].id)
        await ProposalService(session, settings, moderator).approve(proposal_id, **extra)

    await run(engine, go)


async def proposal_in_costing(engine: AsyncEngine, settings: Settings, city: WebCity) -> Proposal:
    """A proposal submitted, approved, and the process moved on to costing."""
    proposal = await propose(engine, settings, city)
    await approve(engine, settings, city, proposal.id)
    await advance(engine, settings, city, Phase.COSTING)
    return proposal


async def load(engine: AsyncEngine, proposal_id: int) -> Proposal:
    return await run(engine, lambda s: s.get(Proposal, proposal_id))


# ---------------------------------------------------------------------------------- processes


async def test_process_pages(client: WebClient, city: WebCity) -> None:
    listing = await client.get("/processes")
    assert listing.status_code == 200
    assert "Riverton 2026" in listing.text
    detail = await client.get(f"/processes/{city.process.slug}")
    assert detail.status_code == 200
    assert "North" in detail.text and "20,000 EUR" in detail.text
    assert "Submission of proposals (now)" in detail.text
    assert (await client.get("/processes/no-such-thing")).status_code == 404


async def test_admin_sets_up_a_process(
    client: WebClient, city: WebCity, engine: AsyncEngine
) -> None:
    await client.login("admin@city.test", PASSWORD)
    assert (await client.get("/admin/processes/new")).status_code == 200
    bad = await client.post_form(
        "/admin/processes",
        {
            "name": "",
            "kind": "budgeting",
            "currency": "EUR",
            "min_age": "16",
            "support_threshold": "0",
            "flag_threshold": "3",
        },
    )
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    created = await client.post_form(
        "/admin/processes",
        {
            "name": "Lakeside 2027",
            "kind": "budgeting",
            "currency": "EUR",
            "min_age": "16",
            "support_threshold": "0",
            "flag_threshold": "3",
            "ballot_config": '{"format": "approval"}',
            "rule_params": "{}",
        },
    )
    assert created.status_code == 303
    setup_url = created.headers["location"]
    process_id = int(setup_url.rsplit("/", 1)[1])
    await client.get(setup_url)
    refused = await client.post_form(
        f"/admin/processes/{process_id}/districts", {"name": "Lakeside", "budget": "-5"}
    )
    assert refused.status_code == 422 and "cannot be negative" in refused.text
    added = await client.post_form(
        f"/admin/processes/{process_id}/districts", {"name": "Lakeside", "budget": "1500.50"}
    )
    assert added.status_code == 303
    districts = await run(engine, lambda s: ProcessService(s, None).districts(process_id))
    assert [d.budget for d in districts] == [150_050]
    moved = await client.post_form(f"/admin/processes/{process_id}/phase", {"to_phase": "review"})
    assert moved.status_code == 409 and "can only move to submission" in moved.text
    moved = await client.post_form(
        f"/admin/processes/{process_id}/phase", {"to_phase": "submission"}
    )
    assert moved.status_code == 303
    page = await client.get(setup_url)
    assert "Submission of proposals (now)" in page.text


async def test_setup_is_for_admins_only(client: WebClient, city: WebCity) -> None:
    await client.login("alice@city.test", PASSWORD)
    assert (await client.get(f"/admin/processes/{city.process.id}")).status_code == 403
    response = await client.post_form(
        f"/admin/processes/{city.process.id}/phase", {"to_phase": "review"}
    )
    assert response.status_code == 403


# ---------------------------------------------------------------------------------- proposals


async def test_submit_with_image_and_read_it(
    client: WebClient, city: WebCity, engine: AsyncEngine
) -> None:
    assert (await client.get(f"/processes/{city.process.slug}/proposals/new")).status_code == 303
    await client.login("alice@city.test", PASSWORD)
    assert (await client.get(f"/processes/{city.process.slug}/proposals/new")).status_code == 200
    response = await post_multipart(
        client, f"/processes/{city.process.slug}/proposals", form_data(city), image=PNG
    )
    assert response.status_code == 303, response.text
    url = response.headers["location"]
    page = await client.get(url)
    assert "Shade trees on Mill Street" in page.text
    assert "Your proposal was submitted" in page.text
    assert "120 EUR" not in page.text and "12,000 EUR" in page.text
    image = await client.get(url + "/image")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == PNG


async def test_bad_form_input_is_shown_and_nothing_saved(
    client: WebClient, city: WebCity, engine: AsyncEngine
) -> None:
    await client.login("alice@city.test", PASSWORD)
    url = f"/processes/{city.process.slug}/proposals"
    cases = [
        (form_data(city, title=""), "title"),
        (form_data(city, estimated_cost="-10"), "estimated_cost"),
        (form_data(city, estimated_cost="12.345"), "estimated_cost"),
        (form_data(city, district_id="999999"), "district_id"),
    ]
    for data, field in cases:
        response = await post_multipart(client, url, data)
        assert response.status_code == 422, (field, response.status_code)
        assert f'id="error-{field}"' in response.text
    gif = await post_multipart(client, url, form_data(city), image=b"GIF89a" + b"\x00" * 20)
    assert gif.status_code == 422 and "PNG, JPEG or WebP" in gif.text
    htmx = await post_multipart(client, url, form_data(city, title=""), htmx=True)
    assert htmx.status_code == 422
    assert "<html" not in htmx.text and 'id="proposal-form"' in htmx.text
    count = await run(engine, lambda s: s.exec(select(Proposal)))
    assert count.all() == []


async def test_list_filters_with_htmx_and_without(
    client: WebClient, city: WebCity, engine: AsyncEngine, web_settings: Settings
) -> None:
    await propose(engine, web_settings, city, title="Benches by the river")
    await propose(
        engine,
        web_settings,
        city,
        "bob",
        title="Bike racks at the station",
        district_id=city.south.id,
    )
    base = f"/processes/{city.process.slug}/proposals"
    full = await client.get(base)
    assert full.status_code == 200 and "<html" in full.text
    assert "2 proposals" in full.text
    south = await client.get(f"{base}?district={city.south.id}")
    assert "Bike racks" in south.text and "Benches by the river" not in south.text
    partial = await client.get(f"{base}?q=STATION", headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "<html" not in partial.text and 'id="proposal-results"' in partial.text
    assert "Bike racks" in partial.text and "Benches by the river" not in partial.text
    bad = await client.get(f"{base}?status=draft")
    assert bad.status_code == 200 and "Unknown status" in bad.text


async def test_support_with_htmx(
    client: WebClient, city: WebCity, engine: AsyncEngine, web_settings: Settings
) -> None:
    proposal = await propose(engine, web_settings, city)
    await client.login("bob@city.test", PASSWORD)
    await client.get(f"/proposals/{proposal.id}")
    response = await client.post_form(f"/proposals/{proposal.id}/support", htmx=True)
    assert response.status_code == 200
    assert 'id="support"' in response.text and "<html" not in response.text
    assert "You support this proposal" in response.text
    assert (await load(engine, proposal.id)).support_count == 1
    again = await client.post_form(f"/proposals/{proposal.id}/support")
    assert again.status_code == 409


async def test_comment_flag_and_history(
    client: WebClient, city: WebCity, engine: AsyncEngine, web_settings: Settings
) -> None:
    proposal = await propose(engine, web_settings, city)
    await client.login("bob@city.test", PASSWORD)
    await client.get(f"/proposals/{proposal.id}")
    empty = await client.post_form(f"/proposals/{proposal.id}/comments", {"body": ""}, htmx=True)
    assert empty.status_code == 422 and 'id="error-body"' in empty.text
    posted = await client.post_form(f"/proposals/{proposal.id}/comments", {"body": "Yes please!"})
    assert posted.status_code == 303
    flagged = await client.post_form(f"/proposals/{proposal.id}/flag", {"reason": "spam"})
    assert flagged.status_code == 303
    page = await client.get(f"/proposals/{proposal.id}")
    assert "Yes please!" in page.text and "You reported this proposal" in page.text


# ---------------------------------------------------------------------------------- moderation


async def test_moderation_queue_and_inline_decisions(
    client: WebClient, city: WebCity, engine: AsyncEngine, web_settings: Settings
) -> None:
    first = await propose(engine, web_settings, city)
    second = await propose(engine, web_settings, city, "bob", title="A statue of the mayor")
    await client.login("mod@city.test", PASSWORD)
    queue = await client.get("/moderation")
    assert queue.status_code == 200
    assert "Benches by the river" in queue.text and "A statue of the mayor" in queue.text
    approved = await client.post_form(
        f"/moderation/proposals/{first.id}/approve", {"version": str(first.version)}, htmx=True
    )
    assert approved.status_code == 200
    assert "<html" not in approved.text and "Proposal approved." in approved.text
    no_reason = await client.post_form(
        f"/moderation/proposals/{second.id}/reject", {"version": str(second.version)}, htmx=True
    )
    assert no_reason.status_code == 422 and "Give a reason" in no_reason.text
    rejected = await client.post_form(
        f"/moderation/proposals/{second.id}/reject",
        {"version": str(second.version), "reason": "Monuments are out of scope."},
    )
    assert rejected.status_code == 303
    assert (await load(engine, second.id)).status == "rejected"
    detail = await client.get(f"/proposals/{second.id}")
    assert "Monuments are out of scope." in detail.text


async def test_two_moderators_at_once_via_the_pages(
    app: Litestar, client: WebClient, city: WebCity, engine: AsyncEngine, web_settings: Settings
) -> None:
    from litestar.testing import AsyncTestClient

    proposal = await propose(engine, web_settings, city)
    await client.login("mod@city.test", PASSWORD)
    async with AsyncTestClient(app, base_url="http://testserver.local") as other_http:
        other_http.follow_redirects = False
        other = WebClient(other_http)
        await other.login("mod2@city.test", PASSWORD)
        version = str(proposal.version)  # both pages show this version
        first = await client.post_form(
            f"/moderation/proposals/{proposal.id}/approve", {"version": version}, htmx=True
        )
        second = await other.post_form(
            f"/moderation/proposals/{proposal.id}/reject",
            {"version": version, "reason": "Duplicate."},
            htmx=True,
        )
    assert first.status_code == 200
    assert second.status_code == 409
    assert "This proposal was changed by someone else; reload and try again." in second.text
    assert (await load(engine, proposal.id)).status == "approved"


async def test_residents_cannot_moderate(
    client: WebClient, city: WebCity, engine: AsyncEngine, web_settings: Settings
) -> None:
    proposal = await propose(engine, web_settings, city)
    await client.login("bob@city.test", PASSWORD)
    assert (await client.get("/moderation")).status_code == 403
    response = await client.post_form(f"/moderation/proposals/{proposal.id}/approve", {})
    assert response.status_code == 403
    assert (await load(engine, proposal.id)).status == "submitted"


async def test_inbox_shows_decisions(
    client: WebClient, city: WebCity, engine: AsyncEngine, web_settings: Settings
) -> None:
    proposal = await propose(engine, web_settings, city)
    await approve(engine, web_settings, city, proposal.id, reason="Fine.")
    await client.login("alice@city.test", PASSWORD)
    inbox = await client.get("/inbox")
    assert "is now approved" in inbox.text and "1 unread message" in inbox.text
    await client.post_form("/inbox/read", {})
    assert "0 unread messages" in (await client.get("/inbox")).text


# ---------------------------------------------------------------------------------- costing


async def test_costing_flow(
    client: WebClient, city: WebCity, engine: AsyncEngine, web_settings: Settings
) -> None:
    proposal = await proposal_in_costing(engine, web_settings, city)
    await client.login("admin@city.test", PASSWORD)
    overview = await client.get("/costing")
    assert "Benches by the river" in overview.text
    assigned = await client.post_form(
        f"/costing/proposals/{proposal.id}/assign", {"valuator_id": str(city.users["valuator"].id)}
    )
    assert assigned.status_code == 303

    valuator = WebClient(client.http)
    await client.post_form("/logout", {})
    await valuator.login("val@city.test", PASSWORD)
    form = await valuator.get(f"/costing/proposals/{proposal.id}")
    assert form.status_code == 200
    version = re.search(r'name="version" value="(\d+)"', form.text).group(1)
    data = {
        "version": version,
        "rows": "3",
        "feasible": "yes",
        "official_cost": "4800",
        "item_0": "Benches",
        "amount_0": "4000",
        "item_1": "Installation",
        "amount_1": "700",
        "duration_months": "4",
    }
    check = await valuator.post_form(f"/costing/proposals/{proposal.id}/check", data, htmx=True)
    assert check.status_code == 200 and "adds up to 470000" in check.text
    assert "4,700 EUR" in check.text  # the running total
    bad = await valuator.post_form(f"/costing/proposals/{proposal.id}", data)
    assert bad.status_code == 422
    assert (await load(engine, proposal.id)).status == "approved"
    data["amount_1"] = "800"
    saved = await valuator.post_form(f"/costing/proposals/{proposal.id}", data)
    assert saved.status_code == 303, saved.text
    stored = await load(engine, proposal.id)
    assert stored.status == "feasible" and stored.official_cost == 480_000
    assert (
        await valuator.post_form(f"/costing/processes/{city.process.id}/publish", {})
    ).status_code == 403

    await valuator.post_form("/logout", {})
    await client.login("admin@city.test", PASSWORD)
    published = await client.post_form(f"/costing/processes/{city.process.id}/publish", {})
    assert published.status_code == 303
    assert (await load(engine, proposal.id)).status == "on_ballot"
    page = await client.get(f"/proposals/{proposal.id}")
    assert "4,800 EUR" in page.text and "Installation" in page.text


# ---------------------------------------------------------------------------------- API


async def test_json_api(
    client: WebClient, city: WebCity, engine: AsyncEngine, web_settings: Settings
) -> None:
    published = await propose(engine, web_settings, city)

    async def draft(session: Any) -> Proposal:
        user = await session.get(User, city.users["bob"].id)
        return await ProposalService(session, web_settings, user).create(
            city.process.id,
            {
                "title": "Secret draft idea",
                "summary": "Not ready to be seen by anybody.",
                "description": "Still thinking about this one, please do not look.",
                "district_id": city.north.id,
                "estimated_cost": 1,
            },
        )

    await run(engine, draft)
    processes = (await client.get("/api/processes")).json()
    assert [p["slug"] for p in processes] == [city.process.slug]
    detail = (await client.get(f"/api/processes/{city.process.id}")).json()
    assert [d["budget"] for d in detail["districts"]] == [2_000_000, 1_500_000]
    assert detail["categories"] == [{"id": city.parks, "name": "Parks"}]
    page = (await client.get(f"/api/processes/{city.process.id}/proposals")).json()
    assert page["total"] == 1 and page["items"][0]["id"] == published.id
    assert page["items"][0]["official_cost"] is None
    hidden = await client.get(f"/api/processes/{city.process.id}/proposals?status=draft")
    assert hidden.status_code == 422
    assert hidden.headers["content-type"].startswith("application/problem+json")
    missing = await client.get("/api/processes/999999")
    assert missing.status_code == 404 and missing.json()["status"] == 404
    schema = (await client.get("/schema/openapi.json")).json()
    for path in (
        "/api/processes",
        "/api/processes/{process_id}",
        "/api/processes/{process_id}/proposals",
    ):
        assert path in schema["paths"]
    assert "/moderation" not in schema["paths"]


async def test_edit_after_changes_requested_and_resubmit(
    client: WebClient, city: WebCity, engine: AsyncEngine, web_settings: Settings
) -> None:
    proposal = await propose(engine, web_settings, city)

    async def ask(session: Any) -> None:
        moderator = await session.get(User, city.users["moderator"].id)
        await ProposalService(session, web_settings, moderator).request_changes(
            proposal.id, "Say how many benches."
        )

    await run(engine, ask)
    await client.login("alice@city.test", PASSWORD)
    detail = await client.get(f"/proposals/{proposal.id}")
    assert "Say how many benches." in detail.text and "Resubmit for review" in detail.text
    form = await client.get(f"/proposals/{proposal.id}/edit")
    assert form.status_code == 200 and "Save and resubmit" in form.text
    version = re.search(r'name="version" value="(\d+)"', form.text).group(1)
    data = form_data(city, title="Ten benches by the river", intent="resubmit", version=version)
    stale = await post_multipart(client, f"/proposals/{proposal.id}/edit", {**data, "version": "1"})
    assert stale.status_code == 409 and "changed by someone else" in stale.text
    saved = await post_multipart(client, f"/proposals/{proposal.id}/edit", data)
    assert saved.status_code == 303, saved.text
    stored = await load(engine, proposal.id)
    assert stored.title == "Ten benches by the river" and stored.status == "submitted"
    await client.post_form("/logout", {})
    await client.login("bob@city.test", PASSWORD)
    assert (await client.get(f"/proposals/{proposal.id}/edit")).status_code == 404


async def test_flagged_content_in_the_queue(
    client: WebClient, city: WebCity, engine: AsyncEngine, web_settings: Settings
) -> None:
    proposal = await propose(engine, web_settings, city)
    extra = [
        await make_user(engine, web_settings, f"r{i}@city.test", name=f"R{i}") for i in range(3)
    ]

    async def approve_and_flag(session: Any) -> int:
        moderator = await session.get(User, city.users["moderator"].id)
        await ProposalService(session, web_settings, moderator).approve(proposal.id)
        bob = await session.get(User, city.users["bob"].id)
        comment = await ProposalService(session, web_settings, bob).comment(
            proposal.id, {"body": "Rude words here."}
        )
        for user in extra:
            flagger = await session.get(User, user.id)
            await ProposalService(session, web_settings, flagger).flag_comment(comment.id)
        flagger = await session.get(User, extra[0].id)
        await ProposalService(session, web_settings, flagger).flag(proposal.id, "Not sure")
        return comment.id

    comment_id = await run(engine, approve_and_flag)
    visitor = await client.get(f"/proposals/{proposal.id}")
    assert "hidden by moderation" in visitor.text and "Rude words here." not in visitor.text
    await client.login("mod@city.test", PASSWORD)
    queue = await client.get("/moderation")
    assert "Flagged proposals (1)" in queue.text and "Rude words here." in queue.text
    dismissed = await client.post_form(
        f"/moderation/proposals/{proposal.id}/dismiss_flags", {}, htmx=True
    )
    assert dismissed.status_code == 200 and "Flags dismissed." in dismissed.text
    shown = await client.post_form(
        f"/moderation/comments/{comment_id}/restore", {"next": f"/proposals/{proposal.id}"}
    )
    assert shown.status_code == 303
    assert "Rude words here." in (await client.get(f"/proposals/{proposal.id}")).text


async def test_costing_form_more_lines_without_javascript(
    client: WebClient, city: WebCity, engine: AsyncEngine, web_settings: Settings
) -> None:
    proposal = await proposal_in_costing(engine, web_settings, city)
    await client.login("admin@city.test", PASSWORD)
    form = await client.get(f"/costing/proposals/{proposal.id}")
    assert form.text.count('name="item_') == 3
    more = await client.post_form(
        f"/costing/proposals/{proposal.id}/check",
        {"rows": "3", "intent": "more_lines", "item_0": "Benches", "amount_0": "100"},
    )
    assert more.status_code == 200
    assert more.text.count('name="item_') == 6 and 'value="Benches"' in more.text
