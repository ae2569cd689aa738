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
from sqlmodel import select

from pb.db import make_session_factory, session_scope
from pb.demo import DEMO_USERS, load
from pb.processes import Process
from pb.settings import Settings
from tests.web.conftest import WebClient

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
HUGE = "99999999999999999999"
JUNK = (HUGE, "²", "-1", "1e309", "NaN", "\x00", "<script>x</script>", "ąę€😀", " ", "x" * 20_000)
# Routes that end the session or sign in: exercised by their own tests.
LEFT_OUT = {"/logout", "/login", "/register", "/account/password"}


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


async def path_values(engine: AsyncEngine) -> dict[str, list[str]]:
    async with session_scope(make_session_factory(engine)) as session:
        slugs = [p.slug for p in (await session.exec(select(Process))).all()]
    ids = ["1", "2", "3", "999999", HUGE]
    return {
        "slug": [*slugs, "nope"],
        "decision": ["approve", "reject", "hide", "request_changes", "nope"],
        "district_slug": ["north", "city-wide", "nope"],
        "project_id": ["1", "nope"],
        "_int": ids,
    }


def routes(app: Litestar) -> list[tuple[str, str]]:
    found = set()
    for route in app.routes:
        for method in getattr(route, "methods", ()):
            if method not in ("HEAD", "OPTIONS") and route.path not in LEFT_OUT:
                found.add((method, route.path))
    return sorted(found, key=lambda r: (r[0] != "GET", r[1], r[0]))


def urls(path: str, values: dict[str, list[str]]) -> list[str]:
    """The path with its parameters filled; every value of every parameter appears once."""
    params = re.findall(r"\{(\w+):(\w+)\}", path)
    if not params:
        return [path]
    lists = [values["_int"] if kind == "int" else values.get(name, ["x"]) for name, kind in params]
    out = []
    for i in range(max(map(len, lists))):
        url = path
        for (name, kind), options in zip(params, lists, strict=True):
            url = url.replace(f"{{{name}:{kind}}}", options[i % len(options)], 1)
        out.append(url)
    return out


async def sign_in(client: WebClient, email: str, password: str) -> None:
    response = await client.post_form("/login", {"email": email, "password": password})
    assert response.status_code == 303, response.text


async def test_no_route_answers_junk_with_a_server_error(
    app: Litestar, client: WebClient, engine: AsyncEngine, web_settings: Settings
) -> None:
    async with session_scope(make_session_factory(engine)) as session:
        await load(session, web_settings)
    values = await path_values(engine)
    names = field_names()
    assert len(names) > 40  # the scan found the forms
    failures: list[str] = []
    statuses: dict[int, int] = {}
    sent = 0
    for user in [None, *DEMO_USERS]:
        await client.http.get("/")  # a fresh session per role
        client.http.cookies.clear()
        client.token = ""
        if user is not None:
            await sign_in(client, user.email, user.password)
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
