"""Server-side sessions: cookie flags, rotation, no rows for anonymous visitors, shared workers."""

from __future__ import annotations

from dataclasses import replace

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from pb.accounts import WebSession
from pb.db import make_session_factory, session_scope
from pb.security import token_hash
from pb.settings import Settings
from tests.web.conftest import PASSWORD, AppFactory, WebClient, make_user


def session_cookie(response) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("pb_session="):
            return header
    return None


async def count_sessions(engine: AsyncEngine) -> int:
    async with session_scope(make_session_factory(engine)) as session:
        return (await session.exec(select(func.count()).select_from(WebSession))).one()[0]


async def test_anonymous_visits_store_nothing(client: WebClient, engine) -> None:
    for url in ("/", "/login", "/register", "/static/pb.css", "/no/such/page"):
        response = await client.get(url)
        assert session_cookie(response) is None, url
    assert await count_sessions(engine) == 0


async def test_session_cookie_flags(client: WebClient, resident) -> None:
    response = await client.login("rita@example.org")
    cookie = session_cookie(response)
    assert cookie is not None
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie
    assert "Max-Age" not in cookie  # ends with the browser; the server enforces the expiry


async def test_session_cookie_secure_with_https(
    web_settings: Settings, app_factory: AppFactory, resident
) -> None:
    app = app_factory(replace(web_settings, https=True))
    async with AsyncTestClient(app, base_url="https://testserver.local") as http:
        http.follow_redirects = False
        client = WebClient(http)
        response = await client.login("rita@example.org")
    cookie = session_cookie(response)
    assert cookie is not None and "Secure" in cookie and "HttpOnly" in cookie


async def test_sign_in_rotates_the_session_token(client: WebClient, engine, resident) -> None:
    # A flash message gives the anonymous visitor a session first.
    await client.get("/account")
    planted = client.http.cookies.get("pb_session")
    assert planted

    await client.login("rita@example.org")

    current = client.http.cookies.get("pb_session")
    assert current and current != planted
    assert await count_sessions(engine) == 1


async def test_sign_out_removes_the_session(client: WebClient, engine, resident) -> None:
    await client.login("rita@example.org")
    token = client.http.cookies.get("pb_session")

    await client.post_form("/logout")
    await client.get("/")  # shows the flash, which empties the session
    assert await count_sessions(engine) == 0

    # The old token is worthless afterwards.
    client.http.cookies.set("pb_session", token, domain="testserver.local")
    assert (await client.get("/account")).status_code == 303
    async with session_scope(make_session_factory(engine)) as session:
        assert await session.get(WebSession, token_hash(token)) is None


async def test_unchanged_session_is_not_rewritten(client: WebClient, resident) -> None:
    await client.login("rita@example.org")
    await client.get("/")  # shows and drops the flash
    response = await client.get("/account")
    assert response.status_code == 200
    assert session_cookie(response) is None


async def test_session_is_shared_between_workers(
    web_settings: Settings, app_factory: AppFactory, resident
) -> None:
    # Two app instances with their own engines on one database, as two uvicorn workers.
    first = app_factory()
    second = app_factory()
    async with (
        AsyncTestClient(first, base_url="http://testserver.local") as one,
        AsyncTestClient(second, base_url="http://testserver.local") as two,
    ):
        one.follow_redirects = two.follow_redirects = False
        await WebClient(one).login("rita@example.org")
        for name in ("pb_session", "pb_csrf"):
            two.cookies.set(name, one.cookies[name], domain="testserver.local")

        account = await two.get("/account")
        assert account.status_code == 200
        assert "rita@example.org" in account.text

        # And a form posted to the second worker with the first worker's page token.
        worker_two = WebClient(two)
        worker_two.token = WebClient(one).token or (await WebClient(one).fresh_token())
        changed = await worker_two.post_form(
            "/account/password",
            {
                "old_password": PASSWORD,
                "new_password": PASSWORD + "x",
                "new_password_confirm": PASSWORD + "x",
            },
        )
        assert changed.status_code == 303


async def test_suspended_user_is_signed_out(client: WebClient, engine, web_settings, admin) -> None:
    from pb.accounts import AccountService

    user = await make_user(engine, web_settings, "sam@example.org")
    await client.login("sam@example.org")
    async with session_scope(make_session_factory(engine)) as session:
        await AccountService(session, web_settings).set_active(admin, user.id, False)

    assert (await client.get("/account")).status_code == 303


async def test_signed_in_page_reads_session_user_and_roles_in_one_transaction(
    client: WebClient, engine, web_settings
) -> None:
    from sqlalchemy import event

    from pb.accounts import Role
    from web.auth import current_viewer, load_viewer

    await make_user(engine, web_settings, "olga@example.org", [Role.OFFICIAL, Role.MODERATOR])
    await client.login("olga@example.org")
    await client.get("/")  # shows and drops the flash
    app_engine = client.http.app.state.engine
    begins: list[str] = []
    statements: list[str] = []

    def on_begin(conn) -> None:  # noqa: ANN001
        begins.append("begin")

    def on_execute(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(app_engine.sync_engine, "begin", on_begin)
    event.listen(app_engine.sync_engine, "before_cursor_execute", on_execute)
    try:
        response = await client.get("/account")
    finally:
        event.remove(app_engine.sync_engine, "begin", on_begin)
        event.remove(app_engine.sync_engine, "before_cursor_execute", on_execute)
    assert response.status_code == 200 and "official" in response.text
    assert "moderator" in response.text
    # One transaction; the session row once, the user with their roles in one statement.
    assert len(begins) == 1, statements
    assert sum("FROM web_session" in s for s in statements) == 1
    roles = [s for s in statements if "user_role" in s]
    assert len(roles) == 1 and "JOIN user_role" in roles[0], statements
    assert not any(s.lstrip().upper().startswith(("INSERT", "UPDATE")) for s in statements)
    assert current_viewer and load_viewer  # the helpers the app uses stay importable
