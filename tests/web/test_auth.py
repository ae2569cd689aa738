"""Registering, signing in and out, changing the password: happy paths and every refusal."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from pb.accounts import LoginAttempt, WebSession
from pb.db import make_session_factory, session_scope
from pb.models import utcnow
from pb.settings import Settings
from tests.web.conftest import (
    OTHER_PASSWORD,
    PASSWORD,
    AppFactory,
    WebClient,
    count_users,
    get_user,
    make_user,
)


async def signed_in_as(client: WebClient) -> str | None:
    """The display name in the header, or None when the page shows an anonymous visitor."""
    page = await client.get("/")
    if "Signed in as" not in page.text:
        return None
    return page.text.split("Signed in as <strong>", 1)[1].split("</strong>", 1)[0]


# -- registering -------------------------------------------------------------------------------


async def test_register_signs_in_and_redirects(client: WebClient, engine, web_settings) -> None:
    page = await client.get("/register")
    assert page.status_code == 200
    assert 'autocomplete="new-password"' in page.text
    assert '<label for="field-email">' in page.text

    response = await client.register("new@example.org", name="Nora")

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    home = await client.get("/")
    assert "Welcome, Nora! Your account is ready." in home.text
    assert "Signed in as <strong>Nora</strong>" in home.text
    assert await get_user(engine, web_settings, "new@example.org") is not None


async def test_register_duplicate_email_changes_nothing(
    client: WebClient, engine, web_settings, resident
) -> None:
    response = await client.register("RITA@example.org")

    assert response.status_code == 409
    assert "An account with this e-mail already exists." in response.text
    assert 'aria-invalid="true"' in response.text
    assert await count_users(engine, web_settings) == 1
    assert await signed_in_as(client) is None


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "Use at least 10 characters."),
        ("aaaaaaaaaaaa", "Mix different kinds of characters"),
        ("password123", "This password is too common"),
    ],
)
async def test_register_weak_password_changes_nothing(
    client: WebClient, engine, web_settings, password: str, message: str
) -> None:
    response = await client.register("weak@example.org", password=password)

    assert response.status_code == 422
    assert message in response.text
    assert 'id="error-password"' in response.text
    assert 'aria-describedby="hint-password error-password"' in response.text
    assert await count_users(engine, web_settings) == 0


async def test_register_bad_email_and_mismatched_passwords(
    client: WebClient, engine, web_settings
) -> None:
    bad_email = await client.register("not-an-email")
    mismatch = await client.post_form(
        "/register",
        {
            "email": "x@example.org",
            "display_name": "X",
            "password": PASSWORD,
            "password_confirm": PASSWORD + "!",
        },
    )

    assert bad_email.status_code == 422
    assert "Enter a valid e-mail address." in bad_email.text
    assert 'value="not-an-email"' in bad_email.text  # what was typed is kept
    assert mismatch.status_code == 422
    assert "The two passwords do not match." in mismatch.text
    assert PASSWORD not in mismatch.text  # passwords are never echoed back
    assert await count_users(engine, web_settings) == 0


async def test_register_with_htmx_gets_fragment_or_client_redirect(client: WebClient) -> None:
    bad = await client.post_form(
        "/register",
        {"email": "h@example.org", "display_name": "H", "password": "x", "password_confirm": "x"},
        htmx=True,
    )
    good = await client.post_form(
        "/register",
        {
            "email": "h@example.org",
            "display_name": "H",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
        htmx=True,
    )

    assert bad.status_code == 422
    assert bad.text.lstrip().startswith("<form")
    assert "<html" not in bad.text
    assert "Use at least 10 characters." in bad.text
    assert good.status_code == 200
    assert good.headers["hx-redirect"] == "/"


# -- signing in and out ------------------------------------------------------------------------


async def test_login_and_logout(client: WebClient, resident) -> None:
    page = await client.get("/login")
    assert 'autocomplete="current-password"' in page.text

    response = await client.login("rita@example.org")
    assert response.headers["location"] == "/"
    assert await signed_in_as(client) == "Rita Resident"

    out = await client.post_form("/logout")
    assert out.status_code == 303
    home = await client.get("/")
    assert "You have signed out." in home.text
    assert await signed_in_as(client) is None
    account = await client.get("/account")
    assert account.status_code == 303


async def test_login_returns_to_next_but_never_off_site(client: WebClient, resident) -> None:
    page = await client.get("/login?next=/account/password")
    assert 'name="next" value="/account/password"' in page.text
    first = await client.post_form(
        "/login", {"email": "rita@example.org", "password": PASSWORD, "next": "/account/password"}
    )
    assert first.headers["location"] == "/account/password"

    await client.post_form("/logout")
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = await client.post_form(
            "/login", {"email": "rita@example.org", "password": PASSWORD, "next": evil}
        )
        assert response.headers["location"] == "/"
        await client.post_form("/logout")


async def test_wrong_password_changes_nothing(
    client: WebClient, engine, web_settings, resident
) -> None:
    before = await get_user(engine, web_settings, "rita@example.org")

    response = await client.post_form(
        "/login", {"email": "rita@example.org", "password": "wrong password 1"}
    )

    assert response.status_code == 401
    assert "Wrong e-mail or password." in response.text
    assert 'value="rita@example.org"' in response.text
    assert not any(
        c.startswith("pb_session=") and "null" not in c for c in client.cookie_headers(response)
    )
    assert await signed_in_as(client) is None
    after = await get_user(engine, web_settings, "rita@example.org")
    assert after is not None and before is not None
    assert after.password_hash == before.password_hash


async def test_login_with_htmx(client: WebClient, resident) -> None:
    bad = await client.post_form(
        "/login", {"email": "rita@example.org", "password": "nope nope 1"}, htmx=True
    )
    good = await client.post_form(
        "/login", {"email": "rita@example.org", "password": PASSWORD}, htmx=True
    )

    assert bad.status_code == 401
    assert bad.text.lstrip().startswith("<form")
    assert "Wrong e-mail or password." in bad.text
    assert good.status_code == 200
    assert good.headers["hx-redirect"] == "/"


async def _add_failures(engine: AsyncEngine, *, email: str, ips: list[str]) -> None:
    async with session_scope(make_session_factory(engine)) as session:
        for ip in ips:
            session.add(LoginAttempt(email=email, ip=ip, succeeded=False, at=utcnow()))


async def test_throttled_per_account(client: WebClient, engine, web_settings, resident) -> None:
    # Failures for this account from elsewhere: the next attempt is refused even with the
    # right password, from an address that never failed.
    limit = web_settings.login_max_failures
    await _add_failures(engine, email="rita@example.org", ips=[f"10.0.0.{i}" for i in range(limit)])

    response = await client.post_form("/login", {"email": "rita@example.org", "password": PASSWORD})

    assert response.status_code == 429
    assert "Too many failed sign-in attempts." in response.text
    assert int(response.headers["retry-after"]) > 0
    assert await signed_in_as(client) is None


async def test_throttled_per_ip_after_failures(client: WebClient, engine, web_settings) -> None:
    await make_user(engine, web_settings, "victim@example.org")
    limit = web_settings.login_max_failures
    for i in range(limit):
        failed = await client.post_form(
            "/login", {"email": f"guess{i}@example.org", "password": "wrong password 1"}
        )
        assert failed.status_code == 401

    response = await client.post_form(
        "/login", {"email": "victim@example.org", "password": PASSWORD}
    )

    assert response.status_code == 429
    assert "Too many failed sign-in attempts." in response.text
    assert await signed_in_as(client) is None


# -- sessions ----------------------------------------------------------------------------------


async def test_expired_session_redirects_to_login_with_message(
    client: WebClient, engine, resident
) -> None:
    await client.login("rita@example.org")
    assert (await client.get("/account")).status_code == 200
    async with session_scope(make_session_factory(engine)) as session:
        await session.exec(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))

    response = await client.get("/account")

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account"
    login = await client.get(response.headers["location"])
    assert "Your session expired. Please sign in again." in login.text
    assert 'name="next" value="/account"' in login.text


async def test_anonymous_protected_page_asks_to_sign_in(client: WebClient) -> None:
    response = await client.get("/account/password")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account/password"
    login = await client.get(response.headers["location"])
    assert "Please sign in to continue." in login.text


# -- changing the password ---------------------------------------------------------------------


async def test_change_password(client: WebClient, engine, web_settings, resident) -> None:
    await client.login("rita@example.org")
    page = await client.get("/account/password")
    assert page.status_code == 200

    response = await client.post_form(
        "/account/password",
        {
            "old_password": PASSWORD,
            "new_password": OTHER_PASSWORD,
            "new_password_confirm": OTHER_PASSWORD,
        },
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    account = await client.get("/account")
    assert account.status_code == 200  # this session survives the change
    assert "Your password has been changed." in account.text
    await client.post_form("/logout")
    wrong = await client.post_form("/login", {"email": "rita@example.org", "password": PASSWORD})
    assert wrong.status_code == 401
    await client.login("rita@example.org", OTHER_PASSWORD)


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"old_password": "not my password 1"}, 422, "Your current password is not correct."),
        (
            {"new_password": "short", "new_password_confirm": "short"},
            422,
            "Use at least 10 characters.",
        ),
        ({"new_password_confirm": "something else 1"}, 422, "The two new passwords do not match."),
        (
            {"new_password": PASSWORD, "new_password_confirm": PASSWORD},
            422,
            "different from the current",
        ),
    ],
)
async def test_change_password_refusals_change_nothing(
    client: WebClient, engine, web_settings, resident, fields, status, message
) -> None:
    await client.login("rita@example.org")
    before = await get_user(engine, web_settings, "rita@example.org")
    data = {
        "old_password": PASSWORD,
        "new_password": OTHER_PASSWORD,
        "new_password_confirm": OTHER_PASSWORD,
    }
    data.update(fields)

    response = await client.post_form("/account/password", data)

    assert response.status_code == status
    assert message in response.text
    after = await get_user(engine, web_settings, "rita@example.org")
    assert before is not None and after is not None
    assert after.password_hash == before.password_hash


async def test_change_password_ends_other_sessions(
    app: Litestar, client: WebClient, resident
) -> None:
    async with AsyncTestClient(app, base_url="http://testserver.local") as other_http:
        other_http.follow_redirects = False
        other = WebClient(other_http)
        await other.login("rita@example.org")
        await client.login("rita@example.org")
        assert (await other.get("/account")).status_code == 200

        await client.post_form(
            "/account/password",
            {
                "old_password": PASSWORD,
                "new_password": OTHER_PASSWORD,
                "new_password_confirm": OTHER_PASSWORD,
            },
        )

        assert (await other.get("/account")).status_code == 303
        assert (await client.get("/account")).status_code == 200


async def test_account_page_shows_roles(client: WebClient, resident) -> None:
    await client.login("rita@example.org")
    page = await client.get("/account")
    assert "rita@example.org" in page.text
    assert "resident" in page.text


async def test_login_max_failures_setting_is_used(
    web_settings: Settings, app_factory: AppFactory, resident
) -> None:
    strict = app_factory(replace(web_settings, login_max_failures=1))
    async with AsyncTestClient(strict, base_url="http://testserver.local") as http:
        http.follow_redirects = False
        c = WebClient(http)
        first = await c.post_form(
            "/login", {"email": "rita@example.org", "password": "bad password 1"}
        )
        second = await c.post_form("/login", {"email": "rita@example.org", "password": PASSWORD})
    assert first.status_code == 401
    assert second.status_code == 429
