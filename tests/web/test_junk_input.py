"""Junk that reached a 500 once: huge numbers, unknown kinds, missing fields, vanished records.

Each answer must be a 4xx (or the form again, with its error), never a stack trace or a 500.
"""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from pb.settings import Settings
from tests.web.conftest import PASSWORD, WebClient
from tests.web.test_proposals import WebCity, make_city, proposal_in_costing
from web.errors import NUMBER_OUT_OF_RANGE

JSON = {"Accept": "application/json"}
HUGE = "99999999999999999999"  # beyond every integer column, SQLite's and PostgreSQL's


@pytest.fixture
async def city(engine: AsyncEngine, web_settings: Settings) -> WebCity:
    return await make_city(engine, web_settings)


@pytest.mark.parametrize(
    "path",
    [
        f"/proposals/{HUGE}",
        f"/api/processes/{HUGE}",
        f"/api/processes/{HUGE}/proposals",
        f"/admin/results/{HUGE}",
        f"/costing/proposals/{HUGE}",
    ],
)
async def test_ids_too_large_for_the_database_are_invalid_input(
    client: WebClient, city: WebCity, path: str
) -> None:
    await client.login("admin@city.test", PASSWORD)
    as_json = await client.get(path, headers=JSON)
    assert as_json.status_code in (404, 422), as_json.text
    if as_json.status_code == 422:
        assert as_json.json()["detail"] == NUMBER_OUT_OF_RANGE
    page = await client.get(path)
    assert page.status_code in (303, 404, 422)
    assert "Reference:" not in page.text  # not the 500 page


async def test_an_id_out_of_32_bit_range_is_not_a_server_error(
    client: WebClient, city: WebCity
) -> None:
    """Fits SQLite's 64-bit integers (no such row: 404) but not a PostgreSQL ``integer`` (422)."""
    response = await client.get("/proposals/3000000000", headers=JSON)
    assert response.status_code in (404, 422)


async def test_a_huge_district_in_a_paper_ballot_form(client: WebClient, city: WebCity) -> None:
    await client.login("admin@city.test", PASSWORD)
    response = await client.post_form(
        f"/paper-ballots/{city.process.id}/cast", {"reference": "x", "district_id": HUGE}
    )
    assert response.status_code in (404, 409, 422), response.text
    assert "Reference:" not in response.text


async def test_deciding_on_a_proposal_that_does_not_exist(client: WebClient, city: WebCity) -> None:
    await client.login("mod@city.test", PASSWORD)
    for htmx in (True, False):
        response = await client.post_form(
            "/moderation/proposals/999999/reject", {"reason": "Spam."}, htmx=htmx
        )
        assert response.status_code == 404, response.text
        assert "No such proposal" in response.text
    unknown = await client.post_form("/moderation/proposals/999999/nope", {}, htmx=True)
    assert unknown.status_code == 404, unknown.text


async def test_assigning_nobody_to_cost_a_proposal(
    client: WebClient, city: WebCity, engine: AsyncEngine, web_settings: Settings
) -> None:
    proposal = await proposal_in_costing(engine, web_settings, city)
    await client.login("admin@city.test", PASSWORD)
    plain = await client.post_form(f"/costing/proposals/{proposal.id}/assign", {"valuator_id": ""})
    assert plain.status_code == 303
    assert plain.headers["location"] == f"/costing?process={city.process.id}"
    follow = await client.get(plain.headers["location"])
    assert "Choose a valuator." in follow.text
    htmx = await client.post_form(
        f"/costing/proposals/{proposal.id}/assign", {"valuator_id": "x"}, htmx=True
    )
    assert htmx.status_code == 422 and "Choose a valuator." in htmx.text


@pytest.mark.parametrize("kind", ["NaN", "", "budgeting²"])
async def test_a_new_process_with_an_unknown_kind_and_a_bad_number(
    client: WebClient, city: WebCity, kind: str
) -> None:
    await client.login("admin@city.test", PASSWORD)
    response = await client.post_form(
        "/admin/processes",
        {"name": "Junk city", "slug": "junk-city", "kind": kind, "min_age": "1²"},
    )
    assert response.status_code == 422, response.text
    assert "Min age must be a whole number." in response.text


async def test_casting_through_the_api_into_a_huge_district(
    client: WebClient, city: WebCity
) -> None:
    """The cast API reads with the driver directly on PostgreSQL: its range errors too."""
    await client.login("alice@city.test", PASSWORD)
    token = client.token or await client.fresh_token()
    for path in (
        f"/api/processes/{city.process.id}/districts/{HUGE}/ballots",
        f"/api/processes/{HUGE}/districts/{city.north.id}/ballots",
        "/api/processes/3000000000/districts/3000000000/ballots",
    ):
        response = await client.http.post(
            path, json={"projects": []}, headers={**JSON, "x-csrftoken": token}
        )
        assert 400 <= response.status_code < 500, (path, response.text)
