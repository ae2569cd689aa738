"""Page structure, navigation and htmx fragments."""

from __future__ import annotations

import re

from pb.accounts import Role
from tests.web.conftest import WebClient
from web.nav import NAV, nav_items


def test_nav_items_follow_roles_and_existing_routes() -> None:
    assert [i.label for i in nav_items(set())] == ["Home", "Processes", "Results"]
    labels = [i.label for i in nav_items({Role.RESIDENT, Role.ADMIN})]
    assert labels == ["Home", "Processes", "Results", "Vote", "Inbox", "My account", "Admin"]
    served = {"/", "/account", "/admin/users"}
    assert [i.path for i in nav_items({Role.RESIDENT}, served)] == ["/", "/account"]
    everyone = set(Role)
    assert len(nav_items(everyone)) == len(NAV)


async def test_base_layout(client: WebClient) -> None:
    page = (await client.get("/")).text
    assert '<html lang="en">' in page
    assert '<a class="skip-link" href="#main">' in page
    assert '<main id="main"' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert 'id="messages"' in page and 'role="status"' in page and 'aria-live="polite"' in page
    assert '<meta name="htmx-config"' in page and "responseHandling" in page
    assert '<a href="/" aria-current="page">Home</a>' in page
    # Only routes that exist are linked, and only those the visitor may use.
    header = page.split('<nav class="main-nav"', 1)[1].split("</nav>", 1)[0]
    links = re.findall(r'href="([^"]+)"', header)
    assert links[0] == "/"
    assert set(links) <= set(client.http.app.state.nav_paths)
    assert "/account" not in links and "/admin/users" not in links


async def test_security_headers(client: WebClient) -> None:
    response = await client.get("/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def test_htmx_get_returns_fragment(client: WebClient) -> None:
    full = await client.get("/login")
    fragment = await client.get("/login", headers={"HX-Request": "true"})
    boosted = await client.get("/login", headers={"HX-Request": "true", "HX-Boosted": "true"})

    assert "<html" in full.text
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith("<form")
    assert "<html" not in fragment.text
    assert "HX-Request" in fragment.headers["vary"]
    assert "<html" in boosted.text


async def test_forms_are_accessible(client: WebClient) -> None:
    for url in ("/login", "/register"):
        page = (await client.get(url)).text
        for name in ("email", "password"):
            assert f'<label for="field-{name}">' in page
            assert f'id="field-{name}"' in page
        assert 'autocomplete="email"' in page
        assert 'name="_csrf_token"' in page
