"""Fixtures for the web app: an app on a migrated test database and a client that keeps cookies.

The database fixtures come from ``tests/conftest.py`` (SQLite always, PostgreSQL too when
``PB_TEST_DATABASE_URL`` is set). ``WebClient`` wraps Litestar's ``AsyncTestClient`` with the
steps every test repeats: reading the CSRF token from a page, posting forms, signing in.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from pb.accounts import AccountService, Role, User
from pb.db import create_engine, make_session_factory, session_scope
from pb.settings import Settings
from tests.audit_watch import watch_audit
from web.app import create_app

PASSWORD = "correct horse battery 9"
OTHER_PASSWORD = "another good passphrase 7"

_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


def csrf_from(html: str) -> str:
    match = _META_TOKEN.search(html)
    assert match, "page has no csrf-token meta tag"
    return match.group(1)


class WebClient:
    """A browser-like client: cookies, CSRF token from the last page, no automatic redirects."""

    def __init__(self, client: AsyncTestClient[Litestar]) -> None:
        self.http = client
        self.token = ""

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.get(url, **kwargs)
        if "text/html" in response.headers.get("content-type", ""):
            match = _META_TOKEN.search(response.text)
            if match and match.group(1):
                self.token = match.group(1)
        return response

    async def fresh_token(self) -> str:
        await self.get("/")
        return self.token

    async def post_form(
        self,
        url: str,
        data: dict[str, Any] | None = None,
        *,
        csrf: bool = True,
        htmx: bool = False,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        fields = dict(data or {})
        all_headers = dict(headers or {})
        if csrf:
            token = self.token or await self.fresh_token()
            if htmx:
                all_headers["x-csrftoken"] = token
            else:
                fields["_csrf_token"] = token
        if htmx:
            all_headers["HX-Request"] = "true"
        return await self.http.post(url, data=fields, headers=all_headers)

    async def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        response = await self.post_form("/login", {"email": email, "password": password})
        assert response.status_code == 303, response.text
        return response

    async def register(
        self, email: str, password: str = PASSWORD, name: str = "Ana"
    ) -> httpx.Response:
        return await self.post_form(
            "/register",
            {
                "email": email,
                "display_name": name,
                "password": password,
                "password_confirm": password,
            },
        )

    def cookie_headers(self, response: httpx.Response) -> list[str]:
        return response.headers.get_list("set-cookie")


@pytest.fixture
def web_settings(db_settings: Settings) -> Settings:
    """Test settings (cheap argon2) on a migrated database; override to change settings."""
    return db_settings


AppFactory = Callable[..., Litestar]


@pytest.fixture
async def app_factory(web_settings: Settings, engine: AsyncEngine) -> AsyncIterator[AppFactory]:
    """Makes apps on the test database, each with its own engine, like separate workers.

    Each engine is watched (``tests.audit_watch``): a test fails if the app committed a change
    to the domain without an audit entry.

    Litestar's test clients run the app in a separate thread with its own event loop, so the app
    must not share pooled asyncpg connections with the test's loop: its engine has no pool.
    (``engine`` is requested so the database is cleaned after the test.)
    """
    engines: list[AsyncEngine] = []
    unaudited: list[str] = []

    def make(settings: Settings | None = None) -> Litestar:
        app_engine = create_engine(settings or web_settings, poolclass=NullPool)
        watch_audit(app_engine, unaudited)
        engines.append(app_engine)
        return create_app(settings or web_settings, engine=app_engine)

    yield make
    for app_engine in engines:
        await app_engine.dispose()
    assert unaudited == [], "the app changed state without an audit entry"


@pytest.fixture
def app(app_factory: AppFactory) -> Litestar:
    return app_factory()


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[WebClient]:
    async with AsyncTestClient(app, base_url="http://testserver.local") as http:
        http.follow_redirects = False
        yield WebClient(http)


async def make_user(
    engine: AsyncEngine,
    settings: Settings,
    email: str,
    roles: Iterable[Role] = (),
    password: str = PASSWORD,
    name: str | None = None,
) -> User:
    async with session_scope(make_session_factory(engine)) as session:
        return await AccountService(session, settings).create_user(
            email, password, roles, display_name=name
        )


async def roles_of(engine: AsyncEngine, settings: Settings, user_id: int) -> set[Role]:
    async with session_scope(make_session_factory(engine)) as session:
        return await AccountService(session, settings).roles_of(user_id)


async def get_user(engine: AsyncEngine, settings: Settings, email: str) -> User | None:
    async with session_scope(make_session_factory(engine)) as session:
        return await AccountService(session, settings).get_by_email(email)


async def count_users(engine: AsyncEngine, settings: Settings) -> int:
    async with session_scope(make_session_factory(engine)) as session:
        return len(await AccountService(session, settings).list_users(limit=10_000))


@pytest.fixture
async def admin(engine: AsyncEngine, web_settings: Settings) -> User:
    return await make_user(
        engine, web_settings, "admin@example.org", [Role.ADMIN], name="Ada Admin"
    )


@pytest.fixture
async def resident(engine: AsyncEngine, web_settings: Settings) -> User:
    return await make_user(engine, web_settings, "rita@example.org", name="Rita Resident")
