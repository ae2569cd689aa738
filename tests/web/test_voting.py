"""The voting pages: verification, ballot page with live counters, review, cast, receipt."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlmodel import select

from ballots import verification
from ballots.models import Ballot
from pb.accounts import WebSession
from pb.db import make_session_factory, session_scope
from tests.ballots.voting_city import build_city, import_default_roll
from tests.web.conftest import WebClient

PASSWORD = "Tulip-garden-42-quiet"


@pytest.fixture
async def city(engine: Any, web_settings: Any) -> Any:
    async with session_scope(make_session_factory(engine)) as session:
        city = await build_city(session, web_settings)
        await import_default_roll(session, web_settings, city)
        city.codes = await verification.generate_codes(
            session, web_settings, city.admin, city.process.id, city.south.id, 2
        )
        return city


async def voter(client: WebClient, city: Any, i: int = 0) -> str:
    await client.login(city.voters[i].email, PASSWORD)
    return f"/processes/{city.process.slug}"


async def stored(engine: Any) -> list[Ballot]:
    async with session_scope(make_session_factory(engine)) as session:
        return list((await session.exec(select(Ballot))).all())


async def test_vote_page_needs_sign_in(client: WebClient, city: Any) -> None:
    response = await client.get(f"/processes/{city.process.slug}/vote")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_verify_vote_review_cast_and_receipt_once(
    client: WebClient, city: Any, engine: Any
) -> None:
    base = await voter(client, city)
    page = await client.get(f"{base}/vote")
    assert "With your poll card" in page.text and "With a voting code" in page.text
    # Unverified: the ballot page says why.
    refused = await client.get(f"{base}/vote/{city.north.id}")
    assert refused.status_code == 403 and "not verified" in refused.text
    bad = await client.post_form(
        f"{base}/verify/roll",
        {"reference": "R-001", "birth_date": "1980-05-18", "postcode": "RV1 2AB"},
    )
    assert bad.status_code == 403 and "No entry on the residents roll" in bad.text
    ok = await client.post_form(
        f"{base}/verify/roll",
        {"reference": "r-001", "birth_date": "1980-05-17", "postcode": "rv1 2ab"},
    )
    assert ok.status_code == 303 and ok.headers["location"] == f"{base}/vote"
    home = await client.get(f"{base}/vote")
    assert "Your account is verified" in home.text and f"/vote/{city.north.id}" in home.text
    assert f"/vote/{city.south.id}" not in home.text

    ballot_url = f"{base}/vote/{city.north.id}"
    page = await client.get(ballot_url)
    north = city.projects["north"]
    assert (
        page.status_code == 200 and 'name="project"' in page.text and "North project 1" in page.text
    )
    assert 'id="budget-meter"' in page.text
    # The htmx counter: only the meter comes back.
    meter = await client.post_form(
        f"{ballot_url}/summary", {"project": [north[0], north[1]]}, htmx=True
    )
    assert meter.status_code == 200 and "<html" not in meter.text
    assert 'id="ballot-meter"' in meter.text
    assert "<strong>0.90 EUR</strong> of 1 EUR used" in meter.text and "0.10 EUR left" in meter.text
    over = await client.post_form(f"{ballot_url}/summary", {"project": north}, htmx=True)
    assert "over budget" in over.text
    # Without JavaScript, "Update totals" renders the whole page with the boxes still ticked.
    full = await client.post_form(f"{ballot_url}/summary", {"project": [north[1]]})
    assert "<html" in full.text and re.search(rf'value="{north[1]}" checked', full.text)
    # Review refuses an over-budget ballot, then accepts a good one.
    review = await client.post_form(f"{ballot_url}/review", {"project": north})
    assert review.status_code == 422 and "more than the" in review.text
    review = await client.post_form(f"{ballot_url}/review", {"project": [north[1], north[2]]})
    assert review.status_code == 200 and "Cast my ballot" in review.text
    assert await stored(engine) == []
    cast = await client.post_form(f"{ballot_url}/cast", {"project": [north[1], north[2]]})
    assert cast.status_code == 303 and cast.headers["location"] == f"{base}/receipt"
    receipt_page = await client.get(f"{base}/receipt")
    code = re.search(r'<code id="receipt-code">([A-Z0-9-]+)</code>', receipt_page.text)
    assert code, receipt_page.text
    assert receipt_page.headers["cache-control"] == "no-store"
    again = await client.get(f"{base}/receipt")
    assert code.group(1) not in again.text and "already shown" in again.text
    [row] = await stored(engine)
    assert row.receipt_hash == verification.receipt_hash(code.group(1))
    # The receipt never sat in the server-side session (which names the account).
    async with session_scope(make_session_factory(engine)) as session:
        data = (await session.exec(select(WebSession.data))).all()
    assert data and not any(code.group(1) in d for d in data)
    check = await client.post_form(f"{base}/receipt-check", {"receipt": code.group(1)})
    assert "is recorded" in check.text
    home = await client.get(f"{base}/vote")
    assert "you have voted" in home.text and "Change your vote" in home.text


async def test_code_verification_and_htmx_cast(client: WebClient, city: Any, engine: Any) -> None:
    base = await voter(client, city, 1)
    bad = await client.post_form(f"{base}/verify/code", {"code": "AAAA-BBBB-CCCC-DDDD"})
    assert bad.status_code == 403 and "not valid" in bad.text
    ok = await client.post_form(f"{base}/verify/code", {"code": city.codes[0].lower()})
    assert ok.status_code == 303
    south = city.projects["south"]
    cast = await client.post_form(
        f"{base}/vote/{city.south.id}/cast", {"project": [south[0]]}, htmx=True
    )
    assert cast.status_code == 200 and 'id="receipt-code"' in cast.text and "<html" not in cast.text
    # Another account cannot reuse the code.
    other = WebClient(client.http)
    await client.post_form("/logout", {})
    await voter(other, city, 2)
    reused = await other.post_form(f"{base}/verify/code", {"code": city.codes[0]})
    assert reused.status_code == 409 and "already been used" in reused.text
    assert len(await stored(engine)) == 1


async def test_bad_ballots_and_wrong_district_get_clear_errors(
    client: WebClient, city: Any, engine: Any
) -> None:
    base = await voter(client, city)
    await client.post_form(
        f"{base}/verify/roll",
        {"reference": "R-001", "birth_date": "1980-05-17", "postcode": "RV1 2AB"},
    )
    cast = await client.post_form(f"{base}/vote/{city.north.id}/cast", {"project": ["999999"]})
    assert cast.status_code == 422 and "not on this ballot" in cast.text
    wrong = await client.post_form(
        f"{base}/vote/{city.south.id}/cast", {"project": [city.projects["south"][0]]}
    )
    assert wrong.status_code == 403 and "not registered to vote in South" in wrong.text
    csrf = await client.post_form(
        f"{base}/vote/{city.north.id}/cast", {"project": [city.projects["north"][0]]}, csrf=False
    )
    assert csrf.status_code == 403
    missing = await client.get(f"{base}/vote/999999")
    assert missing.status_code == 404
    assert await stored(engine) == []


async def test_cast_from_the_page_checks_the_session_like_every_page(
    client: WebClient, city: Any, engine: Any
) -> None:
    """The lean cast route: a refused ballot shows the page as the signed-in voter; a
    suspended account, or no session at all, is sent to sign in and nothing is stored."""
    from sqlmodel import update

    from pb.accounts import User

    base = await voter(client, city)
    await client.post_form(
        f"{base}/verify/roll",
        {"reference": "R-001", "birth_date": "1980-05-17", "postcode": "RV1 2AB"},
    )
    cast_url = f"{base}/vote/{city.north.id}/cast"
    refused = await client.post_form(cast_url, {"project": ["999999"]})
    assert refused.status_code == 422 and city.voters[0].display_name in refused.text
    async with session_scope(make_session_factory(engine)) as session:
        await session.exec(update(User).where(User.id == city.voters[0].id).values(is_active=False))
    ballot = {"project": [city.projects["north"][0]]}
    plain = await client.post_form(cast_url, ballot)
    assert plain.status_code == 303 and plain.headers["location"].startswith("/login")
    htmx = await client.post_form(cast_url, ballot, htmx=True)
    assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith("/login")
    async with session_scope(make_session_factory(engine)) as session:
        await session.exec(update(User).where(User.id == city.voters[0].id).values(is_active=True))
    [session_cookie] = [c for c in client.http.cookies.jar if c.name == "pb_session"]
    session_cookie.value = "forged-token"
    forged = await client.post_form(cast_url, ballot)
    assert forged.status_code == 303 and forged.headers["location"].startswith("/login")
    assert await stored(engine) == []


@pytest.mark.parametrize(
    ("config", "fields", "meter_text", "stored_points"),
    [
        (
            {"format": "cumulative", "total_points": 10, "max_per_project": 6},
            lambda p: {f"points-{p[0]}": "6", f"points-{p[2]}": "3"},
            "1 left",
            [6, 3],
        ),
        (
            {"format": "score", "min_score": 0, "max_score": 5},
            lambda p: {f"points-{p[0]}": "5", f"points-{p[2]}": "0"},
            "2</strong> scored",
            [5, 0],
        ),
        (
            {"format": "ranked", "max_ranks": 2},
            lambda p: {f"rank-{p[2]}": "1", f"rank-{p[0]}": "2"},
            "2</strong> ranked of at most 2",
            None,
        ),
        (
            {"format": "approval", "max_selections": 2},
            lambda p: {"project": [p[2], p[0]]},
            "2</strong> selected of at most 2",
            None,
        ),
    ],
)
async def test_every_format_renders_counts_and_casts(
    client: WebClient,
    engine: Any,
    web_settings: Any,
    config: dict[str, Any],
    fields: Any,
    meter_text: str,
    stored_points: list[int] | None,
) -> None:
    async with session_scope(make_session_factory(engine)) as session:
        city = await build_city(session, web_settings, ballot_config=config)
        await import_default_roll(session, web_settings, city)
    base = await voter(client, city)
    await client.post_form(
        f"{base}/verify/roll",
        {"reference": "R-001", "birth_date": "1980-05-17", "postcode": "RV1 2AB"},
    )
    url = f"{base}/vote/{city.north.id}"
    north = city.projects["north"]
    page = await client.get(url)
    assert page.status_code == 200
    marker = {"ranked": f'name="rank-{north[0]}"', "approval": 'name="project"'}.get(
        config["format"], f'name="points-{north[0]}"'
    )
    assert marker in page.text
    meter = await client.post_form(f"{url}/summary", fields(north), htmx=True)
    assert meter_text in meter.text, meter.text
    review = await client.post_form(f"{url}/review", fields(north))
    assert review.status_code == 200 and "Cast my ballot" in review.text
    cast = await client.post_form(f"{url}/cast", fields(north))
    assert cast.status_code == 303
    [row] = await stored(engine)
    content = json.loads(row.content)
    if config["format"] == "ranked":
        assert content["projects"] == [north[2], north[0]]
    else:
        assert content["projects"] == [north[0], north[2]]
    assert content.get("points") == stored_points


async def test_vote_index_lists_open_processes(client: WebClient, city: Any) -> None:
    await voter(client, city)
    page = await client.get("/vote")
    assert page.status_code == 200
    assert f'href="/processes/{city.process.slug}/vote"' in page.text
    assert "/voters" not in page.text
    await client.post_form("/logout", {})
    await client.login(city.admin.email, PASSWORD)
    admin_page = await client.get("/vote")
    assert f'href="/admin/processes/{city.process.id}/voters"' in admin_page.text


async def test_ranked_meter_reports_a_repeated_rank(
    client: WebClient, engine: Any, web_settings: Any
) -> None:
    async with session_scope(make_session_factory(engine)) as session:
        city = await build_city(session, web_settings, ballot_config={"format": "ranked"})
        await import_default_roll(session, web_settings, city)
    base = await voter(client, city)
    await client.post_form(
        f"{base}/verify/roll",
        {"reference": "R-001", "birth_date": "1980-05-17", "postcode": "RV1 2AB"},
    )
    north = city.projects["north"]
    url = f"{base}/vote/{city.north.id}"
    meter = await client.post_form(
        f"{url}/summary", {f"rank-{north[0]}": "1", f"rank-{north[1]}": "1"}, htmx=True
    )
    assert "Give rank 1 to one project only." in meter.text
    cast = await client.post_form(f"{url}/cast", {f"rank-{north[0]}": "1", f"rank-{north[1]}": "1"})
    assert cast.status_code == 422 and "Give rank 1 to one project only." in cast.text
    assert await stored(engine) == []


async def test_verification_is_throttled_with_retry_after(client: WebClient, city: Any) -> None:
    base = await voter(client, city)
    wrong = {"reference": "R-001", "birth_date": "1999-01-01", "postcode": "RV1 2AB"}
    for _ in range(verification.MAX_FAILURES_PER_ACCOUNT):
        assert (await client.post_form(f"{base}/verify/roll", wrong)).status_code == 403
    right = {"reference": "R-001", "birth_date": "1980-05-17", "postcode": "RV1 2AB"}
    blocked = await client.post_form(f"{base}/verify/roll", right)
    assert blocked.status_code == 429 and "Too many failed verification attempts" in blocked.text
    assert int(blocked.headers["retry-after"]) > 0
    code = await client.post_form(f"{base}/verify/code", {"code": city.codes[0]})
    assert code.status_code == 429
