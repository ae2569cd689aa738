"""``/healthz``: 200 when the database answers, a 503 problem when it does not."""

from __future__ import annotations

from dataclasses import replace

from litestar.testing import AsyncTestClient

from pb.settings import Settings
from tests.web.conftest import WebClient
from web.app import create_app


async def test_healthz_ok(client: WebClient) -> None:
    response = await client.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "set-cookie" not in response.headers  # no session, no CSRF cookie


async def test_healthz_reports_database_failure(web_settings: Settings, tmp_path) -> None:
    broken = replace(
        web_settings,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'dir' / 'db.sqlite3'}",
    )
    async with AsyncTestClient(create_app(broken)) as http:
        response = await http.get("/healthz")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 503
    assert body["detail"] == "The database is not reachable."


async def test_openapi_schema_title(client: WebClient) -> None:
    response = await client.http.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "pb"
    assert "/healthz" in schema["paths"]
    assert "/login" not in schema["paths"]  # HTML pages are not part of the API description


async def test_static_files(client: WebClient) -> None:
    css = await client.http.get("/static/pb.css")
    assert css.status_code == 200
    assert ":focus-visible" in css.text
    assert "set-cookie" not in css.headers or "pb_session" not in css.headers["set-cookie"]
