"""One database session per request.

``request_session`` opens the session on first use and shares it between guards, dependencies
and the handler. The ``db_session`` dependency commits it after the handler succeeded (and its
answer was rendered) and rolls it back if anything raised. ``DatabaseSessionMiddleware`` is the
safety net: a session still open when the answer starts (a guard used it but the handler did
not, or a later dependency failed before the handler ran, which Litestar does not clean up) is
rolled back and closed there, before the web-session store writes and before anything is sent.
On SQLite this matters doubly, because an open transaction holds the database's write lock.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator

from litestar.connection import ASGIConnection, Request
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = ["DatabaseSessionMiddleware", "provide_db_session", "request_session"]

log = logging.getLogger("pb.web")

_DB_STATE = "pb_db_session"


def request_session(connection: ASGIConnection) -> AsyncSession:
    """The request's database session, opened on first use."""
    state = connection.scope.setdefault("state", {})
    session = state.get(_DB_STATE)
    if session is None:
        session = state[_DB_STATE] = connection.app.state.session_factory()
    return session  # type: ignore[no-any-return]


async def _discard(scope: Scope) -> None:
    """Roll back and close the request's session if it is still open."""
    state = scope.get("state")
    session = state.pop(_DB_STATE, None) if isinstance(state, dict) else None
    if session is None:
        return
    try:
        await session.rollback()
    finally:
        await session.close()


async def provide_db_session(request: Request) -> AsyncGenerator[AsyncSession, None]:
    """Dependency ``db_session``: committed only when the handler and its rendering succeed."""
    session = request_session(request)
    try:
        yield session
    except BaseException:
        await _discard(request.scope)
        raise
    state = request.scope.get("state") or {}
    if state.get(_DB_STATE) is session:
        del state[_DB_STATE]
        try:
            await session.commit()
        finally:
            await session.close()


class DatabaseSessionMiddleware:
    """Make sure no request leaves a database session (and its transaction) open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_after_cleanup(message: Message) -> None:
            if message["type"] == "http.response.start":
                await _discard(scope)
            await send(message)

        try:
            await self.app(scope, receive, send_after_cleanup)
        finally:
            await _discard(scope)
