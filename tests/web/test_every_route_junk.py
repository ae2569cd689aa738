"""Every route of the app, as every role, with junk: never a server error.

Routes come from the app itself and field names from the templates, so a new page or form is
covered without editing this test. Path parameters take ids that exist in the demo city, ids
that do not, and ids beyond any integer column; forms are sent empty, filled with junk (huge
and non-ASCII numbers, markup, control characters, 20,000 characters), with and without htmx;
JSON routes get malformed bodies. Any status of 500 or more fails, with the request that got it.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from pb.demo import DEMO_USERS
from pb.settings import Settings
from tests.web.conftest import WebClient
from tests.web.routes import HUGE, act_as, demo_city, routes, urls

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
JUNK = (HUGE, "²", "-1", "1e309", "NaN", "\x00", "<script>x</script>", "ąę€😀", " ", "x" * 20_000)


def field_names() -> list[str]:
    """Every form field a template names, directly or through the field macros."""
    names: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        names.update(re.findall(r'\bname="([a-z_][a-z0-9_]*)"', text))
        names.update(
            re.findall(r'\b(?:input|textarea|select|checkbox)\(\s*"([a-z_][a-z0-9_]*)"', text)
        )
    return sorted(names - {"_csrf_token"})


def junk_for(name: str, round_: int) -> str:
    return JUNK[(sum(map(ord, name)) + round_) % len(JUNK)]


async def test_no_route_answers_junk_with_a_server_error(
    app: Litestar, client: WebClient, engine: AsyncEngine, web_settings: Settings
) -> None:
    values = await demo_city(engine, web_settings)
    names = field_names()
    assert len(names) > 40  # the scan found the forms
    failures: list[str] = []
    statuses: dict[int, int] = {}
    sent = 0
    for user in [None, *DEMO_USERS]:
        await act_as(client, user)
        for method, path in routes(app):
            for url, round_ in itertools.product(urls(path, values), range(2)):
                if method == "GET":
                    query = {"page": junk_for("page", round_), "q": junk_for("q", round_)}
                    query |= {"process": HUGE, "district": "²", "sort": "nope", "status": "nope"}
                    response = await client.http.get(url, params=query)
                elif path.startswith("/api/"):
                    token = client.token or await client.fresh_token()
                    body = ["not json", "[]", '{"projects": ["x", 1e999]}'][round_ % 3]
                    response = await client.http.request(
                        method,
                        url,
                        content=body,
                        headers={"x-csrftoken": token, "content-type": "application/json"},
                    )
                else:
                    data = {} if round_ == 0 else {n: junk_for(n, round_) for n in names}
                    response = await client.post_form(url, data, htmx=round_ == 1)
                sent += 1
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code >= 500:
                    who = user.role.value if user else "anonymous"
                    failures.append(f"{who} {method} {url} round {round_}: {response.status_code}")
    assert sent > 500
    # Most requests got past the CSRF check and the role guards to the code under test.
    assert statuses.get(200, 0) + statuses.get(303, 0) + statuses.get(422, 0) > sent // 4, statuses
    assert failures == []
