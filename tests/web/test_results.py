"""Result pages, the council's count and certification, receipt check and the open-data API."""

from __future__ import annotations

import pytest

from pb.db import make_session_factory, session_scope
from results.verify import verify_package
from tests.results.city import PASSWORD, voted_city

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
async def voted(engine, web_settings):  # type: ignore[no-untyped-def]
    async with session_scope(make_session_factory(engine)) as session:
        return await voted_city(session, web_settings, tag="w")


async def test_results_are_hidden_until_counted_then_certified_through_the_web(
    client, voted
) -> None:  # type: ignore[no-untyped-def]
    city = voted.city
    slug, pid = city.process.slug, voted.process_id
    assert (await client.get(f"/results/{slug}")).status_code == 404
    assert (await client.get(f"/api/processes/{pid}/results")).status_code == 404
    assert (await client.get(f"/api/processes/{pid}/package")).status_code == 404
    assert "Voting city w" not in (await client.get("/results")).text

    # A resident may not see the council page; an official may look but not act.
    await client.login(city.voters[0].email, PASSWORD)
    assert (await client.get(f"/admin/results/{pid}")).status_code == 403
    await client.post_form("/logout")
    await client.login(city.official.email, PASSWORD)
    assert (await client.get(f"/admin/results/{pid}")).status_code == 200
    refused = await client.post_form(f"/admin/results/{pid}/close")
    assert refused.status_code == 403
    await client.post_form("/logout")

    await client.login(city.admin.email, PASSWORD)
    assert f'href="/admin/results/{pid}"' in (await client.get("/results")).text
    page = await client.get(f"/admin/results/{pid}")
    assert "Close voting and count" in page.text
    early = await client.post_form(f"/admin/results/{pid}/tally")
    assert early.status_code == 409 and "after voting has closed" in early.text

    closed = await client.post_form(f"/admin/results/{pid}/close")
    assert closed.status_code == 303
    status = await client.get(f"/admin/results/{pid}/status", headers={"HX-Request": "true"})
    assert status.status_code == 200
    assert "Counted" in status.text and "hx-trigger" not in status.text

    public = await client.get(f"/results/{slug}")
    assert public.status_code == 200
    assert "North project 1" in public.text and "North project 3" in public.text
    assert "Counted; not certified yet" in public.text
    district = await client.get(f"/results/{slug}/north")
    assert district.status_code == 200
    assert '<svg class="chart"' in district.text and "<title id=" in district.text
    assert "Why did it lose?" in district.text and "cost 30 exceeds the 20 left" in district.text
    n = city.projects["north"]
    why = await client.get(f"/results/{slug}/north/why/{n[1]}", headers={"HX-Request": "true"})
    assert why.status_code == 200 and "<html" not in why.text
    assert "was not funded" in why.text
    # projects are named by title, not by their number, which would read like an amount
    assert "“North project 1”" in why.text and "“North project 3”" in why.text
    assert "in hundredths of EUR" in why.text
    assert (await client.get(f"/results/{slug}/north/why/nope")).status_code == 404
    assert (await client.get(f"/results/{slug}/nowhere")).status_code == 404

    # The comparison with other rules is on the council page.
    council = await client.get(f"/admin/results/{pid}")
    assert "Other rules on the same ballots" in council.text and "equalshares/add1" in council.text

    # Two different admins must sign off; the same one twice is refused.
    first = await client.post_form(f"/admin/results/{pid}/signoff")
    assert first.status_code == 303
    assert "You have signed off this result" in (await client.get(f"/admin/results/{pid}")).text
    again = await client.post_form(f"/admin/results/{pid}/signoff")
    assert again.status_code == 409 and "already signed off" in again.text
    await client.post_form("/logout")
    await client.login(voted.admin2.email, PASSWORD)
    second = await client.post_form(f"/admin/results/{pid}/signoff")
    assert second.status_code == 303
    twice = await client.post_form(f"/admin/results/{pid}/signoff")
    assert twice.status_code == 409 and "already certified" in twice.text

    package = await client.get(f"/api/processes/{pid}/package")
    assert package.status_code == 200 and package.headers["content-type"] == "application/zip"
    key = (await client.get("/api/signing-key")).json()["public_key"]
    assert verify_package(package.content, key).problems == []
    data = (await client.get(f"/api/processes/{pid}/results")).json()
    assert data["certified"] is True and data["rule_id"] == "greedy"
    north = next(d for d in data["districts"] if d["slug"] == "north")
    assert north["selected"] == [n[0], n[2]] and north["channels"] == {"online": 2, "paper": 0}
    listed = (await client.get("/api/results")).json()
    assert any(r["process_id"] == pid and r["certified"] for r in listed)
    assert "Certified" in (await client.get(f"/results/{slug}")).text

    # Receipt check against the published files.
    await client.get("/results/receipt")
    found = await client.post_form("/results/receipt", {"receipt": voted.receipts["north"][0]})
    assert found.status_code == 200 and "Your ballot is in the published file" in found.text
    assert "ballots/north.pb" in found.text and "North project 1" in found.text
    missing = await client.post_form("/results/receipt", {"receipt": "ZZZZ-ZZZZ-ZZZZ"})
    assert missing.status_code == 404 and "No published ballot has this receipt" in missing.text
    bad = await client.post_form("/results/receipt", {"receipt": "<script>"}, htmx=True)
    assert bad.status_code == 422 and "<html" not in bad.text


async def test_openapi_lists_results_and_packages(client) -> None:  # type: ignore[no-untyped-def]
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    for path in (
        "/api/results",
        "/api/processes/{process_id}/results",
        "/api/processes/{process_id}/package",
        "/api/signing-key",
    ):
        assert path in paths, path


async def test_public_key_page(client) -> None:  # type: ignore[no-untyped-def]
    page = await client.get("/results/public-key")
    key = (await client.get("/api/signing-key")).json()["public_key"]
    assert page.status_code == 200 and key in page.text and "BEGIN PUBLIC KEY" in page.text
