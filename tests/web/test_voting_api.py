"""The JSON cast endpoint: the same checks as the ballot page, answers as JSON or problem+json."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from ballots import verification
from ballots.models import Ballot
from pb import audit
from pb.audit import AuditEntry
from pb.db import make_session_factory, session_scope
from pb.processes import Phase, ProcessService
from tests.ballots.voting_city import build_city, import_default_roll, verify
from tests.web.conftest import WebClient

PASSWORD = "Tulip-garden-42-quiet"
PROBLEM = "application/problem+json"


async def _city(engine: Any, settings: Any, config: dict[str, Any] | None = None) -> Any:
    async with session_scope(make_session_factory(engine)) as session:
        city = await build_city(session, settings, ballot_config=config)
        await import_default_roll(session, settings, city)
        await verify(session, settings, city, city.voters[0], "R-001")  # North only
        return city


@pytest.fixture
async def city(engine: Any, web_settings: Any) -> Any:
    return await _city(engine, web_settings)


def url(city: Any, district: Any) -> str:
    return f"/api/processes/{city.process.id}/districts/{district.id}/ballots"


async def signed_in(client: WebClient, city: Any, i: int = 0) -> dict[str, str]:
    await client.login(city.voters[i].email, PASSWORD)
    return {"x-csrftoken": await client.fresh_token()}


async def rows(engine: Any) -> tuple[list[Ballot], list[AuditEntry], list[str]]:
    async with session_scope(make_session_factory(engine)) as session:
        ballots = list((await session.exec(select(Ballot))).all())
        entries = list(
            (await session.exec(select(AuditEntry).where(AuditEntry.action == "ballot.cast"))).all()
        )
        return ballots, entries, await audit.verify_chain(session)


async def test_cast_answers_a_receipt_and_stores_ballot_with_audit_entry(
    client: WebClient, city: Any, engine: Any
) -> None:
    headers = await signed_in(client, city)
    north = city.projects["north"]
    response = await client.http.post(
        url(city, city.north), json={"ballot": [north[1], north[2]]}, headers=headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["district_id"] == city.north.id and body["district"] == "North"
    assert body["process_id"] == city.process.id and body["channel"] == "online"
    assert response.headers["cache-control"] == "no-store"
    [ballot], [entry], problems = await rows(engine)
    assert ballot.receipt_hash == verification.receipt_hash(body["receipt"])
    assert entry.data_dict() == {"district_id": city.north.id, "channel": "online"}
    assert entry.actor_id is None and problems == []
    # Casting again replaces the ballot (re-voting is on by default) and logs a second entry.
    again = await client.http.post(
        url(city, city.north), json={"ballot": [north[0]]}, headers=headers
    )
    assert again.status_code == 201
    [ballot], entries, problems = await rows(engine)
    assert ballot.receipt_hash == verification.receipt_hash(again.json()["receipt"])
    assert len(entries) == 2 and problems == []


async def test_invalid_ballot_is_a_422_problem(client: WebClient, city: Any, engine: Any) -> None:
    headers = await signed_in(client, city)
    north = city.projects["north"]
    over = await client.http.post(url(city, city.north), json={"ballot": north}, headers=headers)
    assert over.status_code == 422 and over.headers["content-type"].startswith(PROBLEM)
    assert "more than the" in over.json()["detail"]
    unknown = await client.http.post(
        url(city, city.north), json={"ballot": ["999999"]}, headers=headers
    )
    assert unknown.status_code == 422 and "not on this ballot" in unknown.json()["detail"]
    shapeless = await client.http.post(url(city, city.north), json={"ballot": 3}, headers=headers)
    assert shapeless.status_code == 400 and shapeless.headers["content-type"].startswith(PROBLEM)
    assert await rows(engine) == ([], [], [])


async def test_csrf_and_sign_in_are_required(client: WebClient, city: Any, engine: Any) -> None:
    ballot = {"ballot": [city.projects["north"][0]]}
    anonymous = await client.http.post(url(city, city.north), json=ballot)
    assert anonymous.status_code in (401, 403)
    assert anonymous.headers["content-type"].startswith(PROBLEM)
    await signed_in(client, city)
    no_token = await client.http.post(url(city, city.north), json=ballot)
    assert no_token.status_code == 403 and no_token.headers["content-type"].startswith(PROBLEM)
    wrong = await client.http.post(url(city, city.north), json=ballot, headers={"x-csrftoken": "x"})
    assert wrong.status_code == 403
    assert (await rows(engine))[0] == []


async def test_not_eligible_and_unverified_are_refused(
    client: WebClient, city: Any, engine: Any
) -> None:
    headers = await signed_in(client, city)
    south = await client.http.post(
        url(city, city.south), json={"ballot": [city.projects["south"][0]]}, headers=headers
    )
    assert south.status_code == 403 and "not registered to vote in South" in south.json()["detail"]
    await client.post_form("/logout", {})
    client.token = ""
    headers = await signed_in(client, city, 1)  # never verified
    unverified = await client.http.post(
        url(city, city.north), json={"ballot": [city.projects["north"][0]]}, headers=headers
    )
    assert unverified.status_code == 403 and unverified.headers["content-type"].startswith(PROBLEM)
    missing = await client.http.post(
        f"/api/processes/{city.process.id}/districts/999999/ballots",
        json={"ballot": []},
        headers=headers,
    )
    assert missing.status_code == 404
    assert (await rows(engine))[0] == []


async def test_wrong_phase_is_a_409(
    client: WebClient, city: Any, engine: Any, web_settings: Any
) -> None:
    headers = await signed_in(client, city)
    async with session_scope(make_session_factory(engine)) as session:
        await ProcessService(session, web_settings).advance_phase(
            city.admin, city.process.id, Phase.CLOSED
        )
    closed = await client.http.post(
        url(city, city.north), json={"ballot": [city.projects["north"][0]]}, headers=headers
    )
    assert closed.status_code == 409 and "Voting is not open" in closed.json()["detail"]
    assert (await rows(engine))[0] == []


async def test_without_revote_the_second_cast_is_a_409(
    client: WebClient, engine: Any, web_settings: Any
) -> None:
    city = await _city(engine, web_settings, {"format": "knapsack", "revote": False})
    headers = await signed_in(client, city)
    north = city.projects["north"]
    first = await client.http.post(
        url(city, city.north), json={"ballot": [north[0]]}, headers=headers
    )
    assert first.status_code == 201
    second = await client.http.post(
        url(city, city.north), json={"ballot": [north[1]]}, headers=headers
    )
    assert second.status_code == 409 and "already voted" in second.json()["detail"]
    [ballot], entries, _ = await rows(engine)
    assert ballot.receipt_hash == verification.receipt_hash(first.json()["receipt"])
    assert len(entries) == 1


async def test_endpoint_is_in_the_openapi_schema(client: WebClient) -> None:
    schema = (await client.http.get("/schema/openapi.json")).json()
    path = schema["paths"]["/api/processes/{process_id}/districts/{district_id}/ballots"]
    assert "post" in path and "201" in path["post"]["responses"]


async def test_cast_reads_in_one_statement_without_a_transaction_on_postgres(
    client: WebClient, city: Any, backend: str
) -> None:
    from sqlalchemy import event

    headers = await signed_in(client, city)
    app_engine = client.http.app.state.engine
    seen: list[tuple[str, str | None]] = []

    def on_execute(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if "web_session" in statement:
            seen.append((statement, conn.in_transaction()))

    event.listen(app_engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        cast = await client.http.post(
            url(city, city.north), json={"ballot": [city.projects["north"][0]]}, headers=headers
        )
        page = await client.get(f"/processes/{city.process.slug}/receipt-check")
    finally:
        event.remove(app_engine.sync_engine, "before_cursor_execute", on_execute)
    assert cast.status_code == 201 and page.status_code == 200
    # On PostgreSQL the cast's one read runs on the asyncpg driver itself, outside any
    # transaction (SQLAlchemy does not see it); SQLite runs it in the request's transaction.
    # Either way the session, the ballot and the voter come from a single statement.
    if backend == "postgres":
        assert len(seen) == 1  # the page's own session read
    else:
        assert len(seen) == 2 and "JOIN district" in seen[0][0] and "FROM process" in seen[0][0]


async def test_unreadable_bodies_are_400_problems(
    client: WebClient, city: Any, engine: Any
) -> None:
    headers = await signed_in(client, city)
    target = url(city, city.north)
    for content in (
        b"{not json",
        b"[]",
        b'{"ballot": ["1"], "extra": 1}',
        b'{"ballot": {"1": "x"}}',
    ):
        answer = await client.http.post(
            target, content=content, headers={**headers, "content-type": "application/json"}
        )
        assert answer.status_code == 400, content
        assert answer.headers["content-type"].startswith(PROBLEM)
    assert await rows(engine) == ([], [], [])


async def test_a_session_that_no_longer_signs_in_is_refused(
    client: WebClient, city: Any, engine: Any, web_settings: Any
) -> None:
    """Suspension, a password change elsewhere, an expired or unknown session token: 401."""
    from datetime import timedelta

    from sqlmodel import update

    from pb.accounts import User, WebSession
    from pb.models import utcnow

    headers = await signed_in(client, city)
    ballot = {"ballot": [city.projects["north"][0]]}
    voter_id = city.voters[0].id

    async def set_user(**values: Any) -> None:
        async with session_scope(make_session_factory(engine)) as session:
            await session.exec(update(User).where(User.id == voter_id).values(**values))

    async def cast() -> Any:
        return await client.http.post(url(city, city.north), json=ballot, headers=headers)

    assert (await cast()).status_code == 201
    await set_user(is_active=False)
    suspended = await cast()
    assert suspended.status_code == 401 and suspended.headers["content-type"].startswith(PROBLEM)
    await set_user(is_active=True)
    assert (await cast()).status_code == 201
    original = city.voters[0].password_hash
    await set_user(password_hash=original + "changed")
    assert (await cast()).status_code == 401
    await set_user(password_hash=original)
    async with session_scope(make_session_factory(engine)) as session:
        await session.exec(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await cast()).status_code == 401
    async with session_scope(make_session_factory(engine)) as session:
        await session.exec(update(WebSession).values(expires_at=utcnow() + timedelta(hours=1)))
    assert (await cast()).status_code == 201
    [session_cookie] = [c for c in client.http.cookies.jar if c.name == "pb_session"]
    session_cookie.value = "forged-token"
    assert (await cast()).status_code == 401
    ballots, entries, problems = await rows(engine)
    assert len(ballots) == 1 and len(entries) == 3 and problems == []


async def test_a_connection_lost_under_the_cast_read_is_not_reused(
    city: Any, engine: Any, web_settings: Any, backend: str
) -> None:
    """The cast read runs on the asyncpg driver directly: a connection broken under it (the
    server restarted) fails that one cast and is dropped, and the next cast gets a fresh one."""
    if backend != "postgres":
        pytest.skip("the driver-level read exists on PostgreSQL only")
    from litestar.testing import AsyncTestClient
    from sqlalchemy import text

    from web.app import create_app

    # An app owning a pooled engine, as `pb serve` runs it (the shared fixture's has no pool).
    async with AsyncTestClient(
        create_app(web_settings), base_url="http://testserver.local"
    ) as http:
        http.follow_redirects = False
        client = WebClient(http)
        headers = await signed_in(client, city)
        ballot = {"ballot": [city.projects["north"][0]]}

        async def cast() -> int:
            answer = await http.post(url(city, city.north), json=ballot, headers=headers)
            return answer.status_code

        assert [await cast() for _ in range(3)] == [201, 201, 201]
        async with engine.connect() as connection:
            killed = await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'pb' AND pid <> pg_backend_pid()"
                )
            )
            assert killed.all()  # the app's pooled connections are gone; its pool does not know
        statuses = [await cast() for _ in range(4)]
    # The pooled connection the cast read died under fails that cast (or the batch's store, on
    # the one the batcher holds); every later cast works.
    assert statuses[-2:] == [201, 201], statuses
    assert set(statuses) <= {201, 409, 500}, statuses
