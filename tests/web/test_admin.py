"""Administration pages: admins only, role changes by form and by htmx."""

from __future__ import annotations

import pytest

from pb.accounts import Role
from tests.web.conftest import WebClient, make_user, roles_of

ADMIN_ROUTES = [("GET", "/admin/users"), ("POST", "/admin/users/1/roles")]


async def _request(client: WebClient, method: str, url: str, **kwargs):
    if method == "GET":
        return await client.get(url, **kwargs)
    return await client.post_form(url, {"roles": "moderator"}, **kwargs)


@pytest.mark.parametrize(("method", "url"), ADMIN_ROUTES)
async def test_anonymous_is_sent_to_login(client: WebClient, admin, method: str, url: str) -> None:
    response = await _request(client, method, url)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert await roles_of_admin(client, admin) == {Role.ADMIN, Role.RESIDENT}


async def roles_of_admin(client: WebClient, admin) -> set[Role]:
    app = client.http.app
    return await roles_of(app.state.engine, app.state.settings, admin.id)


@pytest.mark.parametrize(("method", "url"), ADMIN_ROUTES)
async def test_anonymous_json_and_htmx_get_401(
    client: WebClient, admin, method: str, url: str
) -> None:
    as_json = await _request(client, method, url, headers={"Accept": "application/json"})
    as_htmx = await _request(client, method, url, headers={"HX-Request": "true"})

    assert as_json.status_code == 401
    assert as_json.headers["content-type"].startswith("application/problem+json")
    assert as_json.json()["type"] == "urn:pb:problem:not-authenticated"
    assert as_htmx.status_code == 401
    assert as_htmx.headers["hx-redirect"].startswith("/login")


@pytest.mark.parametrize(("method", "url"), ADMIN_ROUTES)
async def test_resident_is_forbidden(
    client: WebClient, admin, resident, method: str, url: str
) -> None:
    await client.login("rita@example.org")

    response = await _request(client, method, url)

    assert response.status_code == 403
    assert "This page is for the admin role only." in response.text
    assert await roles_of_admin(client, admin) == {Role.ADMIN, Role.RESIDENT}


async def test_admin_nav_entry_only_for_admins(client: WebClient, admin, resident) -> None:
    await client.login("rita@example.org")
    assert 'href="/admin/users"' not in (await client.get("/")).text
    await client.post_form("/logout")
    await client.login("admin@example.org")
    home = await client.get("/")
    assert '<a href="/admin/users">Admin</a>' in home.text
    assert '<a href="/account">My account</a>' in home.text


async def test_admin_lists_users_and_searches(client: WebClient, admin, resident) -> None:
    await client.login("admin@example.org")

    everyone = await client.get("/admin/users")
    found = await client.get("/admin/users?q=rita")

    assert everyone.status_code == 200
    assert "rita@example.org" in everyone.text and "admin@example.org" in everyone.text
    assert "rita@example.org" in found.text and "admin@example.org" not in found.text
    assert (await client.get("/admin/users?page=0")).status_code == 400


async def test_admin_sets_roles_with_plain_form(
    client: WebClient, engine, web_settings, admin, resident
) -> None:
    await client.login("admin@example.org")
    await client.get("/admin/users")

    response = await client.post_form(
        f"/admin/users/{resident.id}/roles", {"roles": ["moderator", "valuator"]}
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/users"
    assert await roles_of(engine, web_settings, resident.id) == {
        Role.RESIDENT,
        Role.MODERATOR,
        Role.VALUATOR,
    }
    page = await client.get("/admin/users")
    assert "Roles of Rita Resident saved." in page.text


async def test_admin_sets_roles_with_htmx(
    client: WebClient, engine, web_settings, admin, resident
) -> None:
    await client.login("admin@example.org")

    response = await client.post_form(
        f"/admin/users/{resident.id}/roles", {"roles": ["official"]}, htmx=True
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<tr id="user-{resident.id}">')
    assert 'value="official" checked' in response.text
    assert 'value="moderator" checked' not in response.text
    assert 'hx-swap-oob="true"' in response.text  # the flash goes to #messages as well
    assert await roles_of(engine, web_settings, resident.id) == {Role.RESIDENT, Role.OFFICIAL}


async def test_last_admin_keeps_admin_role(client: WebClient, engine, web_settings, admin) -> None:
    await client.login("admin@example.org")

    plain = await client.post_form(f"/admin/users/{admin.id}/roles", {"roles": ["moderator"]})
    htmx = await client.post_form(
        f"/admin/users/{admin.id}/roles", {"roles": ["moderator"]}, htmx=True
    )

    assert plain.status_code == 409
    assert "The last administrator cannot lose the admin role." in plain.text
    assert htmx.status_code == 409
    assert htmx.text.lstrip().startswith(f'<tr id="user-{admin.id}">')
    assert "The last administrator cannot lose the admin role." in htmx.text
    assert await roles_of(engine, web_settings, admin.id) == {Role.ADMIN, Role.RESIDENT}


async def test_unknown_role_and_unknown_user(
    client: WebClient, engine, web_settings, admin, resident
) -> None:
    await client.login("admin@example.org")

    unknown_role = await client.post_form(
        f"/admin/users/{resident.id}/roles", {"roles": ["emperor"]}
    )
    unknown_user = await client.post_form("/admin/users/9999/roles", {"roles": ["moderator"]})

    assert unknown_role.status_code == 422
    assert "Unknown role" in unknown_role.text
    assert unknown_user.status_code == 404
    assert await roles_of(engine, web_settings, resident.id) == {Role.RESIDENT}


async def test_role_taken_away_applies_at_once(
    client: WebClient, engine, web_settings, admin
) -> None:
    second = await make_user(engine, web_settings, "second@example.org", [Role.ADMIN])
    await client.login("second@example.org")
    assert (await client.get("/admin/users")).status_code == 200

    from pb.accounts import AccountService
    from pb.db import make_session_factory, session_scope

    async with session_scope(make_session_factory(engine)) as session:
        await AccountService(session, web_settings).set_roles(admin, second.id, [])

    assert (await client.get("/admin/users")).status_code == 403
