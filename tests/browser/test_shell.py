"""The web shell in a real browser: signing in, navigation by role, the htmx role form."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    RESIDENT_EMAIL,
    LiveServer,
)
from tests.browser.steps import sign_in

pytestmark = pytest.mark.browser


def test_home_page(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    assert page.title() == "Home · pb"
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Home").get_attribute("aria-current") == "page"
    assert nav.get_by_role("link", name="Admin").count() == 0
    # htmx is loaded and configured.
    assert page.evaluate("() => typeof htmx") == "object"
    assert page.evaluate("() => htmx.config.responseHandling.some(r => r.code === '4..' && r.swap)")


def test_skip_link_is_first_and_visible_on_focus(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["y"] >= 0
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


def test_wrong_password_shows_error_in_place(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/login")
    page.get_by_label("E-mail address").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill("not the password 1")
    page.get_by_role("button", name="Sign in").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert "Wrong e-mail or password." in summary.inner_text()
    assert page.url == live_server.url + "/login"
    # htmx swapped the form and its error summary got the focus.
    assert page.evaluate("() => document.activeElement.id") == "form-errors"


def test_admin_signs_in_and_changes_roles(page: Any, live_server: LiveServer) -> None:
    sign_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert "Signed in as Ada Admin." in page.locator("#messages").inner_text()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    page.wait_for_url(live_server.url + "/admin/users")
    page.evaluate("() => { window.pbSamePage = true; }")
    row = page.locator("tr", has_text=RESIDENT_EMAIL)
    row.get_by_role("checkbox", name="moderator").check()
    row.get_by_role("button", name=re.compile("^Save")).click()

    row = page.locator("tr", has_text=RESIDENT_EMAIL)
    row.locator(".row-saved").wait_for()
    assert page.evaluate("() => window.pbSamePage") is True  # updated in place, no reload
    assert "Roles of Rita Resident saved." in page.locator("#messages").inner_text()

    page.reload()
    row = page.locator("tr", has_text=RESIDENT_EMAIL)
    assert row.get_by_role("checkbox", name="moderator").is_checked()


def test_refused_role_change_is_shown_in_the_row(page: Any, live_server: LiveServer) -> None:
    sign_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.goto(live_server.url + "/admin/users")
    row = page.locator("tr", has_text=ADMIN_EMAIL)
    row.get_by_role("checkbox", name="admin").uncheck()
    row.get_by_role("button", name=re.compile("^Save")).click()

    error = page.locator("tr", has_text=ADMIN_EMAIL).locator(".row-error")
    error.wait_for()
    assert "The last administrator cannot lose the admin role." in error.inner_text()
    page.reload()
    assert (
        page.locator("tr", has_text=ADMIN_EMAIL).get_by_role("checkbox", name="admin").is_checked()
    )


def test_works_without_javascript(new_page: Callable[..., Any], live_server: LiveServer) -> None:
    page = new_page(java_script_enabled=False)
    sign_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert "Signed in as" in page.locator(".account-links").inner_text()
    page.goto(live_server.url + "/admin/users")
    row = page.locator("tr", has_text=RESIDENT_EMAIL)
    row.get_by_role("checkbox", name="valuator").check()
    row.get_by_role("button", name=re.compile("^Save")).click()
    page.wait_for_url(live_server.url + "/admin/users")
    assert "Roles of Rita Resident saved." in page.locator("#messages").inner_text()
    assert (
        page.locator("tr", has_text=RESIDENT_EMAIL)
        .get_by_role("checkbox", name="valuator")
        .is_checked()
    )
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(live_server.url + "/")
    assert "You have signed out." in page.locator("#messages").inner_text()


def test_narrow_screen_has_no_horizontal_scroll(
    new_page: Callable[..., Any], live_server: LiveServer
) -> None:
    page = new_page(viewport={"width": 360, "height": 740})
    for path in ("/", "/login", "/register"):
        page.goto(live_server.url + path)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, path
