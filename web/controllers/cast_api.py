"""The JSON cast endpoint, ``POST /api/processes/{id}/districts/{id}/ballots``, as a lean route.

Casting is where a city's whole turnout arrives in the last hours of a vote, so this route does
only what a cast needs, without the per-request machinery of the pages (the session middleware's
load and write-back, the viewer with their roles, the request's ORM session). It reads the
session, the ballot, the phase, the voter's right and account in one prebuilt query
(``ballots.cast_context.session_context_statement``), without a transaction of its own on
PostgreSQL; checks the ballot with the same ``prepare`` as the ballot page; and hands it to the
worker's ``CastBatcher``, which stores it with its audit entry in a shared transaction.

What stays as everywhere else: the CSRF check (the session cookie plus the token in the
``x-csrftoken`` header), the security headers, and the error handler (refusals are problem
documents: 400 unreadable body, 401 not signed in, 403 CSRF or not eligible, 404 no such ballot,
409 wrong phase or already voted, 422 invalid ballot). A session that no longer signs its user
in (account suspended, password changed) is refused exactly as on every page
(``web.auth.session_holds``). The route does not renew the session's expiry; pages do.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from litestar.response import Response
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from ballots.batch import CastBatcher
from ballots.cast_context import (
    BallotSpec,
    account_part,
    prepare,
    right_part,
    session_context_statement,
    spec_for,
)
from pb.errors import NotAuthenticated, NotFound
from pb.security import token_hash
from pb.sessions import live_value
from web.auth import session_holds, session_user_id

__all__ = [
    "CAST_PATH",
    "SESSION_COOKIE",
    "CastRead",
    "CastReceipt",
    "CastRequest",
    "api_cast",
    "cast_batcher",
    "read_cast",
]

CAST_PATH = "/api/processes/{process_id:int}/districts/{district_id:int}/ballots"
SESSION_COOKIE = "pb_session"
_BATCHER_STATE = "cast_batcher"
_SIGN_IN = "Please sign in to continue."


class CastRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A ballot in its format's shape: a list of project ids (approval, knapsack; ranked: best
    first), or ``{project id: points}`` (cumulative, score). Project ids are strings."""

    ballot: list[str] | dict[str, int]


class CastReceipt(msgspec.Struct):
    """The receipt of a stored ballot: the code is shown once and stored only as a hash."""

    receipt: str
    process_id: int
    district_id: int
    district: str
    channel: str


def cast_batcher(state: State) -> CastBatcher:
    """This worker's ``CastBatcher`` (one per app and event loop)."""
    batcher: CastBatcher | None = getattr(state, _BATCHER_STATE, None)
    if batcher is None or batcher.loop is not asyncio.get_running_loop():
        batcher = CastBatcher(state.session_factory)
        setattr(state, _BATCHER_STATE, batcher)
    return batcher


@post(
    CAST_PATH,
    name="api_cast",
    tags=["voting"],
    summary="Cast a ballot",
    status_code=201,
    opt={"skip_session": True},
)
async def api_cast(
    request: Request,
    process_id: FromPath[int],
    district_id: FromPath[int],
    data: JSONBody[CastRequest],
) -> Response[CastReceipt]:
    """Cast (or, where allowed, replace) the signed-in, verified resident's ballot.

    Needs the session cookie and the CSRF token in the ``x-csrftoken`` header, as every form
    does. Refusals are problem documents: 401 not signed in, 403 CSRF or not eligible, 404 no
    such ballot, 409 wrong phase or already voted, 422 invalid ballot.
    """
    state: State = request.app.state
    token = request.cookies.get(SESSION_COOKIE)
    read = await read_cast(state, token, district_id, process_id=process_id)
    prepared = prepare(state.settings, read.spec, read.right, data.ballot)
    result = await cast_batcher(state).store(prepared)
    return Response(
        CastReceipt(
            receipt=result.receipt,
            process_id=prepared.process_id,
            district_id=result.district_id,
            district=result.district_name,
            channel=result.channel,
        ),
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


@dataclass(frozen=True)
class CastRead:
    """What a cast read in its one query: the ballot, the voter's right, the session's data."""

    spec: BallotSpec
    right: Sequence[Any]
    session: dict[str, Any]


async def read_cast(
    state: State,
    token: str | None,
    district_id: int,
    *,
    process_id: int | None = None,
    slug: str | None = None,
) -> CastRead:
    """Read the session and the cast's context in one query (pass ``process_id`` or ``slug``).

    ``NotAuthenticated`` when the session does not sign anyone in (any more), ``NotFound`` for
    no such ballot, ``Conflict`` for a consultation or a misconfigured ballot.
    """
    if not token or token == "null":
        raise NotAuthenticated(_SIGN_IN)
    engine: AsyncEngine = state.engine
    params: dict[str, Any] = {"session_id": token_hash(token), "district_id": district_id}
    if process_id is not None:
        params["process_id"] = process_id
    else:
        params["slug"] = slug
    found = await _read(engine, session_context_statement(by_slug=process_id is None), params)
    if found is None:
        raise NotFound("No such ballot in this process.")
    raw_session = live_value(found)
    data = json.loads(raw_session) if raw_session is not None else None
    row = tuple(found[2:])  # the columns of context_statement()
    if session_user_id(data) is None or not session_holds(data, *account_part(row)):
        raise NotAuthenticated(_SIGN_IN)
    assert isinstance(data, dict)
    spec = await spec_for(row, district_id, engine.url, state.session_factory)
    return CastRead(spec, right_part(row), data)


async def _read(
    engine: AsyncEngine, statement: Any, params: dict[str, Any]
) -> Sequence[Any] | None:
    """One row of ``statement``, read without a transaction of its own on PostgreSQL.

    On PostgreSQL the statement, compiled once by SQLAlchemy for asyncpg, runs on the pooled
    connection's asyncpg driver directly: a cast pays for one round trip and no result
    processing (the columns read need none: text, integers, booleans, dates and ``timestamptz``,
    which asyncpg returns as aware datetimes). SQLite runs it through SQLAlchemy in a
    transaction, as every request there does (``BEGIN IMMEDIATE``, see ``pb.db``).
    """
    async with engine.connect() as connection:
        if engine.dialect.name != "postgresql":
            return (await connection.execute(statement, params)).first()
        sql, names = _compiled(statement, engine.dialect)
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        try:
            return await driver.fetchrow(sql, *(params[name] for name in names))  # type: ignore[no-any-return]
        except BaseException:
            # SQLAlchemy did not see this statement fail, so it cannot tell a broken connection
            # (a restarted server) or one left mid-query (a cancelled request): drop it rather
            # than hand it to the next request.
            await connection.invalidate()
            raise


@functools.cache
def _compiled(statement: Any, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    compiled = statement.compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup or ())
