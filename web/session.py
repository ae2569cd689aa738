"""Server-side web sessions and flash messages.

Session data lives in the database (``pb.sessions.DatabaseStore``), so every worker sees the same
sessions; the browser only holds a random token in an HttpOnly, SameSite=Lax cookie (Secure behind
TLS or in production). The backend differs from Litestar's stock server-side backend in five
ways, all to keep per-request work small and sessions safe:

- a visitor with nothing in the session gets no cookie and no database row;
- the session is read on the request's own database session (``web.db.request_session``), in the
  same transaction as everything else the request reads;
- unchanged data is not written back on every request, only when it changes or when the expiry
  needs pushing forward (sliding expiry, renewed at most every ``renew_after`` seconds);
- ``rotate_session`` gives the session a new token (after signing in or out), so a token planted
  before sign-in is worthless afterwards;
- a cookie whose session has expired is noticed (``session_expired``), so a page that needs a
  signed-in user can say "your session expired" instead of a bare "please sign in".

The cookie has no ``Max-Age``: it ends with the browser session, and the server-side expiry
(``Settings.session_max_age``) is the real limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import Empty, Message, ScopeSession

from pb.sessions import SESSION_USER_KEY, DatabaseStore
from web.db import request_session

__all__ = [
    "FLASH_KEY",
    "USER_KEY",
    "Flash",
    "SessionBackend",
    "SessionConfig",
    "flash",
    "pop_flashes",
    "rotate_session",
    "session_expired",
]

USER_KEY = SESSION_USER_KEY
FLASH_KEY = "flash"
# Time of the last write, kept inside the session data itself (epoch seconds).
_WRITTEN_KEY = "_w"

# Keys in the ASGI scope's "state" dictionary (what ``request.state`` reads).
_LOADED_STATE = "pb_session_loaded"
_EXPIRED_STATE = "pb_session_expired"
_ROTATE_STATE = "pb_session_rotate"

FlashLevel = Literal["info", "success", "warning", "error"]


def _state(connection: ASGIConnection) -> dict[str, Any]:
    return connection.scope.setdefault("state", {})  # type: ignore[return-value]


def _without_stamp(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != _WRITTEN_KEY}


class SessionBackend(ServerSideSessionBackend):
    """Litestar's server-side backend with lazy creation, write-on-change and token rotation."""

    config: SessionConfig

    async def load_from_connection(self, connection: ASGIConnection) -> dict[str, Any]:
        session_id = connection.cookies.get(self.config.key)
        if not session_id or session_id == "null":
            return {}
        store = self.config.get_store_from_app(connection.scope["app"])
        if isinstance(store, DatabaseStore):
            # On the request's own database session: the session, the user and their roles
            # are read in the request's one transaction.
            db_session = request_session(connection)
            try:
                raw = await store.read(db_session, session_id)
            except BaseException:
                # Outside DatabaseSessionMiddleware's reach: close the session here.
                await db_session.close()
                raise
        else:
            raw = await self.get(session_id, store=store)
        if raw is None:
            _state(connection)[_EXPIRED_STATE] = True
            return {}
        # Two independent copies: one for handlers to change, one to compare against.
        _state(connection)[_LOADED_STATE] = self.deserialize_data(raw)
        return self.deserialize_data(raw)

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection
    ) -> None:
        state = _state(connection)
        store = self.config.get_store_from_app(connection.scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        cookie_id = connection.cookies.get(self.config.key)
        if cookie_id == "null":
            cookie_id = None
        loaded: dict[str, Any] | None = state.get(_LOADED_STATE)
        data = {} if scope_session is Empty or scope_session is None else dict(scope_session)
        content = _without_stamp(data)

        if not content:
            if cookie_id and (loaded is not None or scope_session is Empty):
                await self.delete(cookie_id, store=store)
                headers.add("Set-Cookie", self._cookie("null", expires=0))
            return

        session_id = cookie_id
        if state.get(_ROTATE_STATE) or loaded is None:
            # Never adopt a token the server did not issue for live data.
            if cookie_id:
                await self.delete(cookie_id, store=store)
            session_id = self.generate_session_id()
        elif loaded is not None and _without_stamp(loaded) == content:
            last_write = loaded.get(_WRITTEN_KEY, 0)
            if isinstance(last_write, int) and time.time() - last_write < self.config.renew_after:
                return

        data[_WRITTEN_KEY] = int(time.time())
        assert session_id is not None
        await self.set(session_id, self.serialize_data(data, connection.scope), store=store)
        headers.add("Set-Cookie", self._cookie(session_id))

    def _cookie(self, value: str, *, expires: int | None = None) -> str:
        return Cookie(
            key=self.config.key,
            value=value,
            path=self.config.path,
            domain=self.config.domain,
            secure=self.config.secure,
            httponly=self.config.httponly,
            samesite=self.config.samesite,
            expires=expires,
        ).to_header(header="")


@dataclass
class SessionConfig(ServerSideSessionConfig):
    """``ServerSideSessionConfig`` using ``SessionBackend``; ``max_age`` is the server-side expiry."""

    _backend_class = SessionBackend  # type: ignore[assignment]

    key: str = field(default="pb_session")
    renew_after: int = field(default=300)
    """Seconds after which an unchanged session is written again to push its expiry forward."""


def rotate_session(connection: ASGIConnection) -> None:
    """Give the session a new token when the response is sent (the old one stops working)."""
    _state(connection)[_ROTATE_STATE] = True


def session_expired(connection: ASGIConnection) -> bool:
    """Whether the request carried a session cookie whose session has expired or was removed."""
    return bool(_state(connection).get(_EXPIRED_STATE))


@dataclass(frozen=True)
class Flash:
    """A one-time message shown on the next page the person sees."""

    message: str
    level: FlashLevel = "info"


def flash(connection: ASGIConnection, message: str, level: FlashLevel = "info") -> None:
    """Queue a message for the next rendered page (survives a redirect)."""
    session = connection.scope.get("session")
    if session is Empty or session is None:
        connection.scope["session"] = session = {}
    messages = list(session.get(FLASH_KEY, []))
    messages.append({"message": message, "level": level})
    session[FLASH_KEY] = messages


def pop_flashes(connection: ASGIConnection) -> list[Flash]:
    """Take the queued messages out of the session (each is shown once)."""
    session = connection.scope.get("session")
    if not isinstance(session, dict) or FLASH_KEY not in session:
        return []
    raw = session.pop(FLASH_KEY) or []
    return [
        Flash(str(m.get("message", "")), m.get("level", "info")) for m in raw if isinstance(m, dict)
    ]
