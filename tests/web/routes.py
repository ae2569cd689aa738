"""Walking every route of the app over the demo city: shared by the tests that check all routes.

Routes come from the app itself; path parameters are filled with ids and slugs that exist in the
demo city, ids that do not, and ids beyond any integer column.
"""

from __future__ import annotations

import re

from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from pb.db import make_session_factory, session_scope
from pb.demo import DemoUser, load
from pb.processes import Process
from pb.settings import Settings
from tests.web.conftest import WebClient

HUGE = "99999999999999999999"
# Routes that end the session or sign in: the walks keep one session per role.
SESSION_ROUTES = frozenset({"/logout", "/login", "/register", "/account/password"})


async def demo_city(engine: AsyncEngine, settings: Settings) -> dict[str, list[str]]:
    """Load the demo city; the values to put in path parameters (``_int`` for any id)."""
    async with session_scope(make_session_factory(engine)) as session:
        await load(session, settings)
        slugs = [p.slug for p in (await session.exec(select(Process))).all()]
    return {
        "slug": [*slugs, "nope"],
        "decision": ["approve", "reject", "hide", "request_changes", "nope"],
        "district_slug": ["north", "city-wide", "nope"],
        "project_id": ["1", "nope"],
        "_int": ["1", "2", "3", "999999", HUGE],
    }


def routes(app: Litestar, left_out: frozenset[str] = SESSION_ROUTES) -> list[tuple[str, str]]:
    """``(method, path)`` of every route, GETs first."""
    found = {
        (method, route.path)
        for route in app.routes
        for method in getattr(route, "methods", ())
        if method not in ("HEAD", "OPTIONS") and route.path not in left_out
    }
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


async def act_as(client: WebClient, user: DemoUser | None) -> None:
    """A fresh session: signed in as ``user``, or a visitor for ``None``."""
    client.http.cookies.clear()
    client.token = ""
    if user is not None:
        await client.login(user.email, user.password)
