"""Who is making the request: the signed-in user and their roles, plus role guards.

The session holds only the user id and a fingerprint of the password hash; the user and their
roles are loaded from the database (one query, in the request's transaction) on every request that
needs them, so a role taken away or a password changed elsewhere takes effect at once (changing
the password ends every other session).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from litestar.connection import ASGIConnection, Request
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy import Integer, bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from pb.accounts import Role, User, UserRole
from pb.errors import Forbidden, NotAuthenticated
from pb.settings import Settings
from web.db import request_session
from web.session import USER_KEY, rotate_session

__all__ = [
    "ANONYMOUS",
    "Viewer",
    "current_viewer",
    "load_viewer",
    "provide_current_user",
    "provide_viewer",
    "requires_login",
    "refresh_fingerprint",
    "requires_role",
    "session_holds",
    "session_user_id",
    "sign_in",
    "sign_out",
]

_VIEWER_STATE = "pb_viewer"
_FINGERPRINT_KEY = "pwf"
ANONYMOUS_ROLES: frozenset[Role] = frozenset()


@dataclass(frozen=True)
class Viewer:
    """The person behind a request, as a snapshot (safe to use after a rollback).

    ``user_id`` is None for an anonymous visitor. Services that need the ``User`` row get it
    from the ``current_user`` dependency.
    """

    user_id: int | None = None
    display_name: str = ""
    email: str = ""
    roles: frozenset[Role] = field(default=ANONYMOUS_ROLES)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    def has(self, *roles: Role) -> bool:
        """Whether the viewer holds at least one of ``roles``."""
        return any(role in self.roles for role in roles)


ANONYMOUS = Viewer()


def _fingerprint(user: User) -> str:
    return _password_fingerprint(user.password_hash)


def _password_fingerprint(password_hash: str) -> str:
    """A short digest of the password hash: changes whenever the password changes."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:16]


def session_user_id(session_data: object) -> int | None:
    """The user id a web session's data names, if any."""
    user_id = session_data.get(USER_KEY) if isinstance(session_data, dict) else None
    return user_id if isinstance(user_id, int) else None


def session_holds(session_data: object, is_active: bool | None, password_hash: str | None) -> bool:
    """Whether a session still signs its user in: the account exists and is active, and the
    password has not changed since the session began."""
    if not is_active or password_hash is None or not isinstance(session_data, dict):
        return False
    return session_data.get(_FINGERPRINT_KEY) == _password_fingerprint(password_hash)


def _settings(connection: ASGIConnection) -> Settings:
    return connection.app.state.settings  # type: ignore[no-any-return]


def current_viewer(connection: ASGIConnection) -> Viewer | None:
    """The viewer if this request already loaded it (by a guard or the ``viewer`` dependency)."""
    state = connection.scope.get("state") or {}
    return state.get(_VIEWER_STATE)


async def load_viewer(connection: ASGIConnection) -> Viewer:
    """The request's viewer, loaded once per request on the request's database session.

    A session whose user has gone, was suspended or changed password since signing in is ended.
    """
    state = connection.scope.setdefault("state", {})
    cached = state.get(_VIEWER_STATE)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    user_id = session_user_id(connection.scope.get("session"))
    viewer = ANONYMOUS
    if user_id is not None:
        viewer = await _load(request_session(connection), connection, user_id)
        if viewer is ANONYMOUS:
            sign_out(connection)
    state[_VIEWER_STATE] = viewer
    return viewer


_KNOWN_ROLES = frozenset(r.value for r in Role)


# Built once: every signed-in page runs it.
_VIEWER_STATEMENT = (
    select(User, UserRole.role)
    .outerjoin(UserRole, col(UserRole.user_id) == User.id)
    .where(User.id == bindparam("user_id", type_=Integer))
)


async def _load(session: AsyncSession, connection: ASGIConnection, user_id: int) -> Viewer:
    # One query for the user and their roles (one row per role; a user without roles gives one
    # row with a NULL role). The User row lands in the session's identity map, so the
    # ``current_user`` dependency finds it there without another query.
    rows = (await session.exec(_VIEWER_STATEMENT, params={"user_id": user_id})).all()
    if not rows:
        return ANONYMOUS
    user = rows[0][0]
    if not session_holds(connection.scope["session"], user.is_active, user.password_hash):
        return ANONYMOUS
    return Viewer(
        user_id=user_id,
        display_name=user.display_name,
        email=user.email,
        roles=frozenset(Role(r) for _, r in rows if r in _KNOWN_ROLES),
    )


def sign_in(connection: ASGIConnection, user: User) -> None:
    """Start a fresh session for ``user`` (new token; earlier session data is dropped)."""
    assert user.id is not None
    connection.scope["session"] = {USER_KEY: user.id, _FINGERPRINT_KEY: _fingerprint(user)}
    rotate_session(connection)
    connection.scope.setdefault("state", {}).pop(_VIEWER_STATE, None)


def refresh_fingerprint(connection: ASGIConnection, user: User) -> None:
    """Keep this session valid after ``user`` changed their own password (others end)."""
    session = connection.scope.get("session")
    if isinstance(session, dict):
        session[_FINGERPRINT_KEY] = _fingerprint(user)
        rotate_session(connection)


def sign_out(connection: ASGIConnection) -> None:
    """End the session (a new, empty one may carry a flash message to the next page)."""
    connection.scope["session"] = {}
    rotate_session(connection)
    connection.scope.setdefault("state", {})[_VIEWER_STATE] = ANONYMOUS


async def provide_viewer(request: Request) -> Viewer:
    """Dependency ``viewer``: the current viewer, anonymous or signed in."""
    return await load_viewer(request)


async def provide_current_user(
    viewer: NamedDependency[Viewer], db_session: NamedDependency[AsyncSession]
) -> User:
    """Dependency ``current_user``: the signed-in user's row, or ``NotAuthenticated``."""
    user = await db_session.get(User, viewer.user_id) if viewer.user_id is not None else None
    if user is None:
        raise NotAuthenticated("Please sign in to continue.")
    return user


async def requires_login(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard: only signed-in users."""
    if not (await load_viewer(connection)).is_authenticated:
        raise NotAuthenticated("Please sign in to continue.")


def requires_role(
    *roles: Role,
) -> Callable[[ASGIConnection, BaseRouteHandler], Coroutine[Any, Any, None]]:
    """Guard factory: only users holding at least one of ``roles`` (403 otherwise)."""
    if not roles:
        raise ValueError("requires_role needs at least one role")
    names = " or ".join(role.value for role in roles)

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        viewer = await load_viewer(connection)
        if not viewer.is_authenticated:
            raise NotAuthenticated("Please sign in to continue.")
        if not viewer.has(*roles):
            raise Forbidden(f"This page is for the {names} role only.")

    guard.__name__ = f"requires_role_{'_'.join(role.value for role in roles)}"
    return guard
