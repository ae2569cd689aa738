"""axe-core accessibility smoke check of the shell's pages (serious and critical findings)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer
from tests.browser.steps import sign_in

pytestmark = pytest.mark.browser

PUBLIC_PAGES = ["/", "/login", "/register", "/no/such/page"]
ADMIN_PAGES = ["/account", "/account/password", "/admin/users"]


def violations(page: Any, axe_source: str) -> list[str]:
    page.evaluate(axe_source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    assert result["passes"], "axe-core checked nothing"
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_pages_have_no_serious_violations(
    new_page: Callable[..., Any], live_server: LiveServer, axe_source: str
) -> None:
    # The page's CSP forbids injected scripts; the checker is let in for this context only.
    page = new_page(bypass_csp=True)
    problems: dict[str, list[str]] = {}
    for path in PUBLIC_PAGES:
        page.goto(live_server.url + path)
        problems[path] = violations(page, axe_source)

    sign_in(page, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    for path in ADMIN_PAGES:
        page.goto(live_server.url + path)
        problems[path] = violations(page, axe_source)

    # A form showing errors.
    page.goto(live_server.url + "/account/password")
    page.get_by_role("button", name="Change password").click()
    page.locator(".error-summary").wait_for()
    problems["/account/password (errors)"] = violations(page, axe_source)
    assert {path: found for path, found in problems.items() if found} == {}
