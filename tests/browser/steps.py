"""Steps that several browser tests take on the way to what they check."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LiveServer


def sign_in(page: Any, server: LiveServer, email: str, password: str) -> None:
    """Sign in with the login form and wait for the home page it leads to."""
    page.goto(server.url + "/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")


def submit_voting_code(page: Any, code: str) -> None:
    """Send ``code`` with the voting package's verification form (on the current page)."""
    page.get_by_role("textbox", name="Voting code").fill(code)
    page.get_by_role("button", name="Verify with my code").click()
