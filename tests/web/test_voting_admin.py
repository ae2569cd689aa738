"""Administrators' roll and codes pages; officials' paper ballots and turnout."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from sqlmodel import func, select

from ballots.models import Ballot, RollEntry, VotingCode
from pb.db import make_session_factory, session_scope
from pb.processes import Phase, ProcessService
from tests.ballots.voting_city import build_city, roll_csv
from tests.web.conftest import WebClient

PASSWORD = "Tulip-garden-42-quiet"


@pytest.fixture
async def city(engine: Any, web_settings: Any) -> Any:
    async with session_scope(make_session_factory(engine)) as session:
        return await build_city(session, web_settings)


async def count(engine: Any, model: Any) -> int:
    async with session_scope(make_session_factory(engine)) as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def upload(client: WebClient, url: str, data: bytes) -> Any:
    token = client.token or await client.fresh_token()
    return await client.http.post(
        url, data={"_csrf_token": token}, files={"roll": ("roll.csv", data, "text/csv")}
    )


async def test_roll_import_report_and_all_or_nothing(
    client: WebClient, city: Any, engine: Any
) -> None:
    await client.login(city.admin.email, PASSWORD)
    base = f"/admin/processes/{city.process.id}"
    page = await client.get(f"{base}/voters")
    assert page.status_code == 200 and "Import the residents roll" in page.text
    bad = (
        roll_csv().replace(b"R-003,1975-02-28", b"R-003,28/02/1975") + b"R-001,1980-05-17,X,north\n"
    )
    response = await upload(client, f"{base}/roll", bad)
    assert response.status_code == 422 and "Nothing was imported" in response.text
    assert "YYYY-MM-DD" in response.text and "reference already on line 2" in response.text
    assert await count(engine, RollEntry) == 0
    latin = await upload(
        client,
        f"{base}/roll",
        "reference,birth_date,postcode,districts\nR,1980-01-01,Zürich,north\n".encode("latin-1"),
    )
    assert latin.status_code == 422 and "not UTF-8" in latin.text
    good = await upload(client, f"{base}/roll", roll_csv())
    assert good.status_code == 200 and "4 residents were added" in good.text
    assert await count(engine, RollEntry) == 4


async def test_codes_are_shown_once_as_csv_or_letters(
    client: WebClient, city: Any, engine: Any
) -> None:
    await client.login(city.admin.email, PASSWORD)
    await client.get(f"/admin/processes/{city.process.id}/voters")
    url = f"/admin/processes/{city.process.id}/codes"
    response = await client.post_form(
        url, {"district_id": str(city.south.id), "count": "3", "output": "csv"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["process", "district", "code"] and len(rows) == 4
    assert all(re.fullmatch(r"([2-9A-HJ-NP-Z]{4}-){3}[2-9A-HJ-NP-Z]{4}", r[2]) for r in rows[1:])
    letters = await client.post_form(
        url, {"district_id": str(city.south.id), "count": "2", "output": "letters"}
    )
    assert letters.status_code == 200 and letters.text.count('class="voting-letter"') == 2
    page = await client.get(f"/admin/processes/{city.process.id}/voters")
    assert rows[1][2] not in page.text and "South 5" in page.text
    bad = await client.post_form(
        url, {"district_id": str(city.south.id), "count": "many", "output": "csv"}
    )
    assert bad.status_code == 422 and "whole number" in bad.text
    assert await count(engine, VotingCode) == 5


async def test_roll_pages_are_for_admins_only(client: WebClient, city: Any) -> None:
    await client.login(city.official.email, PASSWORD)
    assert (await client.get(f"/admin/processes/{city.process.id}/voters")).status_code == 403


async def test_paper_ballot_entry_and_turnout_after_close(
    client: WebClient, city: Any, engine: Any, web_settings: Any
) -> None:
    await client.login(city.admin.email, PASSWORD)
    await upload(client, f"/admin/processes/{city.process.id}/roll", roll_csv())
    await client.post_form("/logout", {})
    await client.login(city.official.email, PASSWORD)
    index = await client.get("/paper-ballots")
    assert index.status_code == 200 and city.process.name in index.text
    assert 'href="/paper-ballots"' in index.text  # the nav entry appears for officials
    base = f"/paper-ballots/{city.process.id}"
    await client.get(base)
    unknown = await client.post_form(
        f"{base}/sheet", {"reference": "R-999", "district_id": str(city.north.id)}
    )
    assert unknown.status_code == 403 and "No entry on the residents roll" in unknown.text
    sheet = await client.post_form(
        f"{base}/sheet", {"reference": "R-001", "district_id": str(city.north.id)}
    )
    assert sheet.status_code == 200 and 'name="project"' in sheet.text
    north = city.projects["north"]
    over = await client.post_form(
        f"{base}/cast", {"reference": "R-001", "district_id": str(city.north.id), "project": north}
    )
    assert over.status_code == 422 and "more than the" in over.text
    ok = await client.post_form(
        f"{base}/cast",
        {"reference": "R-001", "district_id": str(city.north.id), "project": [north[0]]},
    )
    assert ok.status_code == 303
    shown = await client.get(base)
    assert "Paper ballot recorded" in shown.text and "Receipt" in shown.text
    twice = await client.post_form(
        f"{base}/cast",
        {"reference": "R-001", "district_id": str(city.north.id), "project": [north[1]]},
    )
    assert twice.status_code == 409
    assert await count(engine, Ballot) == 1
    early = await client.get(f"{base}/turnout")
    assert early.status_code == 409 and "after voting has closed" in early.text
    async with session_scope(make_session_factory(engine)) as session:
        await ProcessService(session, web_settings).advance_phase(
            city.admin, city.process.id, Phase.CLOSED
        )
    report = await client.get(f"{base}/turnout")
    assert report.status_code == 200
    assert re.search(r"North</th><td>0</td><td>1</td><td>1</td>", report.text)


async def test_paper_ballots_are_for_officials(client: WebClient, city: Any) -> None:
    await client.login(city.voters[0].email, PASSWORD)
    assert (await client.get("/paper-ballots")).status_code == 403
    page = await client.get("/")
    assert 'href="/paper-ballots"' not in page.text
