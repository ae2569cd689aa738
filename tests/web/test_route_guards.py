"""Who may use which part of the app, and that every change needs the CSRF token, checked on
every route the app has.

The matrix below is written out by hand, independently of the guards in the controllers: for
each protected area, the roles allowed in. Every route of the app (taken from the app itself) in
such an area is requested, with each of its methods, by a visitor and by every demo role that is
not allowed there: a visitor is sent to sign in (or gets 401), a signed-in person gets 403, and
nobody gets a page or a change through. A new top-level area fails the test until it is placed
in the matrix or among the areas open to all.
"""

from __future__ import annotations

from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from pb.demo import DEMO_USERS
from pb.settings import Settings
from tests.web.conftest import WebClient
from tests.web.routes import act_as, demo_city, routes, urls

# Longest prefix first: the first match decides. ``None``: any signed-in person.
PROTECTED: list[tuple[str, frozenset[str] | None]] = [
    ("/costing/proposals/{proposal_id:int}/assign", frozenset({"admin"})),
    ("/costing/processes/", frozenset({"admin"})),
    ("/admin/results", frozenset({"admin", "official"})),
    ("/admin", frozenset({"admin"})),
    ("/moderation", frozenset({"moderator", "admin"})),
    ("/costing", frozenset({"valuator", "admin"})),
    ("/paper-ballots", frozenset({"official", "admin"})),
    ("/account", None),
    ("/inbox", None),
    ("/vote", None),
]
# Open to visitors (pages inside may still ask to sign in, e.g. to vote or to propose).
OPEN = {"/", "/api", "/comments", "/healthz", "/login", "/logout", "/processes", "/proposals"}
OPEN |= {"/register", "/results", "/schema", "/static"}


def area(path: str) -> frozenset[str] | None | str:
    for prefix, roles in PROTECTED:
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            return roles
    return "open"


def refused(status: int, location: str, signed_in: bool) -> bool:
    if signed_in:
        return status == 403
    return status in (401, 403) or (status in (302, 303) and location.startswith("/login"))


async def test_every_protected_route_refuses_everyone_else(
    app: Litestar, client: WebClient, engine: AsyncEngine, web_settings: Settings
) -> None:
    values = await demo_city(engine, web_settings)
    all_routes = routes(app)
    unplaced = sorted(
        {path for _, path in all_routes if area(path) == "open"}
        - {p for p in {path for _, path in all_routes} if "/" + p.split("/")[1] in OPEN}
    )
    assert unplaced == [], "place these in PROTECTED or OPEN"

    let_through: list[str] = []
    checked = 0
    for user in [None, *DEMO_USERS]:
        role = user.role.value if user else None
        await act_as(client, user)
        for method, path in all_routes:
            allowed = area(path)
            if allowed == "open" or (role is not None and (allowed is None or role in allowed)):
                continue
            for url in urls(path, values)[:2]:
                if method == "GET":
                    response = await client.http.get(url)
                else:  # every other route takes a form (a PUT one would answer 405 and fail)
                    response = await client.post_form(url, {})
                checked += 1
                location = response.headers.get("location", "")
                if not refused(response.status_code, location, user is not None):
                    who = role or "visitor"
                    let_through.append(f"{who} {method} {url}: {response.status_code}")
    assert checked > 300
    assert let_through == []


async def test_every_state_changing_route_needs_the_csrf_token(
    app: Litestar, client: WebClient, engine: AsyncEngine, web_settings: Settings
) -> None:
    """Signed in as an administrator (so no guard stands in the way), every POST, PUT, PATCH
    and DELETE the app has is refused without the token: as a form, as htmx, as JSON."""
    values = await demo_city(engine, web_settings)
    await act_as(client, next(user for user in DEMO_USERS if user.role.value == "admin"))
    accepted: list[str] = []
    checked = 0
    every = [(m, path) for m, path in routes(app, left_out=frozenset()) if m != "GET"]
    assert {("POST", "/login"), ("POST", "/logout")} <= set(every)
    for method, path in every:
        for url in urls(path, values)[:2]:
            for headers in ({}, {"HX-Request": "true"}, {"Accept": "application/json"}):
                response = await client.http.request(method, url, headers=headers, data={"x": "1"})
                checked += 1
                if response.status_code != 403:
                    accepted.append(f"{method} {url} {headers}: {response.status_code}")
    assert checked > 100
    assert accepted == []
