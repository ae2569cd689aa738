"""The demo city on a phone, as every role sees it: each kind of page reachable by links passes
axe-core (no serious or critical finding) and fits the screen's width (no sideways scrolling).

The shell's pages are checked in ``test_accessibility``; this walks what residents, moderators,
valuators, officials and administrators actually use (proposals in every state, ballots,
results, consultations, the review and costing queues, process set-up), following links from
the home page, one page per path shape (numbers and slugs vary, the template does not).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urljoin, urlparse

import pytest

from pb.demo import DEMO_USERS, load
from tests.browser.conftest import LiveServer, running_server
from tests.browser.steps import sign_in
from tests.browser.test_accessibility import violations

pytestmark = pytest.mark.browser

ROLES = [None, *(user.role.value for user in DEMO_USERS)]
SKIP = ("/logout", "/static/", "/api/", "/export", "/download", "/package", "/certificate")
# Pages that answer with a 4xx on purpose (checked by their own tests); still checked by axe.
EXPECTED_4XX = re.compile(r"/consultation/results$")
PAGES_PER_ROLE = 120
PHONE_WIDTH = 360
PER_SHAPE = 2  # two of each: processes in different phases share a path shape
# A page each role must reach, so that the walk covers the product and not only the shell.
MUST_REACH = {
    None: "/results/*",
    "admin": "/admin/processes/#/voters",
    "moderator": "/moderation",
    "valuator": "/costing/proposals/#",
    "official": "/admin/results/#",
    "resident": "/processes/*/vote/#",
}


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory.mktemp("demo"), load) as (server, _):
        yield server


def shape(path: str) -> str:
    """``/processes/riverton-2026/proposals/12`` → ``/processes/*/proposals/#``."""
    parts = []
    for part in path.split("?")[0].strip("/").split("/"):
        parts.append("#" if part.isdigit() else part if part.isalpha() or not part else "*")
    return "/" + "/".join(parts)


def links(page: Any, base: str, here: str) -> list[str]:
    found = []
    for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
        url = urlparse(urljoin(base + here, href))
        if url.netloc != urlparse(base).netloc or any(s in url.path for s in SKIP):
            continue
        if re.search(r"\.(zip|pdf|csv|pb|json|png|jpe?g|webp)$", url.path):
            continue
        found.append(url.path + (f"?{url.query}" if url.query else ""))
    return found


@pytest.mark.parametrize("role", ROLES, ids=[r or "anonymous" for r in ROLES])
def test_every_kind_of_page_has_no_serious_violations(
    role: str | None,
    new_page: Callable[..., Any],
    demo_server: LiveServer,
    axe_source: str,
) -> None:
    # A phone's width; the page's CSP forbids injected scripts, the checker is let in here only.
    page = new_page(bypass_csp=True, viewport={"width": PHONE_WIDTH, "height": 740})
    if role is not None:
        sign_in(page, demo_server, f"{role}@demo.pb", f"demo-password-{role}")
    queue, visited, checked = ["/"], set(), 0
    shapes: dict[str, int] = {}
    problems: dict[str, Any] = {}
    while queue and checked < PAGES_PER_ROLE:
        path = queue.pop(0)
        if path in visited or shapes.get(shape(path), 0) >= PER_SHAPE:
            continue
        visited.add(path)
        shapes[shape(path)] = shapes.get(shape(path), 0) + 1
        response = page.goto(demo_server.url + path)
        assert response is not None
        if "html" not in response.headers.get("content-type", ""):
            continue
        checked += 1
        if response.status >= 400 and not EXPECTED_4XX.search(path):
            problems[path] = f"HTTP {response.status}"
        found = violations(page, axe_source)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > PHONE_WIDTH:
            found.append(f"{width} px wide on a {PHONE_WIDTH} px phone: scrolls sideways")
        if found:
            problems[path] = found
        queue.extend(links(page, demo_server.url, path))
    assert problems == {}
    assert MUST_REACH[role] in shapes, sorted(shapes)
