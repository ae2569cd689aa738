"""CSRF: every unsafe request needs the page's token (form field or htmx header)."""

from __future__ import annotations

from dataclasses import replace

from litestar.testing import AsyncTestClient

from pb.settings import Settings
from tests.web.conftest import PASSWORD, AppFactory, WebClient, count_users

EXPIRED = "Your form expired; reload the page and try again."
NEW_ACCOUNT = {
    "email": "csrf@example.org",
    "display_name": "C",
    "password": PASSWORD,
    "password_confirm": PASSWORD,
}


async def test_form_post_without_token_is_refused(client: WebClient, engine, web_settings) -> None:
    await client.get("/register")

    response = await client.post_form("/register", NEW_ACCOUNT, csrf=False)

    assert response.status_code == 403
    assert response.text == EXPIRED
    assert response.headers["content-type"].startswith("text/plain")
    assert await count_users(engine, web_settings) == 0


async def test_form_post_with_wrong_token_is_refused(
    client: WebClient, engine, web_settings
) -> None:
    await client.get("/register")
    forged = "0" * 64 + "f" * 64

    response = await client.http.post("/register", data={**NEW_ACCOUNT, "_csrf_token": forged})

    assert response.status_code == 403
    assert EXPIRED in response.text
    assert await count_users(engine, web_settings) == 0


async def test_token_from_another_browser_is_refused(
    app, client: WebClient, engine, web_settings
) -> None:
    async with AsyncTestClient(app, base_url="http://testserver.local") as other:
        page = await other.get("/register")
        from tests.web.conftest import csrf_from

        foreign = csrf_from(page.text)
    await client.get("/register")

    response = await client.http.post("/register", data={**NEW_ACCOUNT, "_csrf_token": foreign})

    assert response.status_code == 403
    assert await count_users(engine, web_settings) == 0


async def test_htmx_post_without_header_gets_fragment(
    client: WebClient, engine, web_settings
) -> None:
    await client.get("/register")

    response = await client.http.post("/register", data=NEW_ACCOUNT, headers={"HX-Request": "true"})

    assert response.status_code == 403
    assert response.headers["hx-retarget"] == "#messages"
    assert response.headers["hx-reswap"] == "innerHTML"
    assert EXPIRED in response.text
    assert "<html" not in response.text
    assert await count_users(engine, web_settings) == 0


async def test_htmx_post_with_header_token_is_accepted(
    client: WebClient, engine, web_settings
) -> None:
    await client.get("/register")

    response = await client.post_form("/register", NEW_ACCOUNT, htmx=True)

    assert response.status_code == 200
    assert response.headers["hx-redirect"] == "/"
    assert await count_users(engine, web_settings) == 1


async def test_page_hands_the_token_to_htmx(client: WebClient) -> None:
    page = await client.get("/")
    token = client.token
    assert token
    assert f'<meta name="csrf-token" content="{token}">' in page.text
    assert f'hx-headers=\'{{"x-csrftoken": "{token}"}}\'' in page.text
    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in page.text


async def test_csrf_cookie_is_httponly_and_lax(client: WebClient) -> None:
    response = await client.get("/")
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("pb_csrf="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie


async def test_csrf_cookie_secure_with_https(
    web_settings: Settings, app_factory: AppFactory
) -> None:
    app = app_factory(replace(web_settings, https=True))
    async with AsyncTestClient(app, base_url="https://testserver.local") as http:
        response = await http.get("/")
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("pb_csrf="))
    assert "Secure" in cookie


async def test_safe_methods_and_healthz_need_no_token(client: WebClient) -> None:
    assert (await client.http.get("/login")).status_code == 200
    assert (await client.http.get("/healthz")).status_code == 200
