"""People who sign in, their roles, sign-in throttling, and the tables behind web sessions.

Every registered user is a ``resident``; staff roles are added by an administrator. Sign-in
failures are stored (``LoginAttempt``) and counted per e-mail address and per IP address over a
sliding window, so throttling holds across restarts and across workers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Index, Text, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from pb import audit
from pb.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound, Throttled
from pb.models import IdMixin, TimestampMixin, TZDateTime, utcnow
from pb.security import check_password_strength, hash_password, needs_rehash, verify_password
from pb.settings import Settings

__all__ = [
    "AccountService",
    "LoginAttempt",
    "Role",
    "User",
    "UserRole",
    "WebSession",
    "normalize_email",
    "parse_roles",
]

MAX_EMAIL_LENGTH = 254
MAX_DISPLAY_NAME_LENGTH = 120
# Deliberately permissive: one @, no spaces, a dot in the domain. Deliverability is proven by
# the confirmation e-mail, not by a regular expression.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]+$")
_WRONG_CREDENTIALS = "Wrong e-mail or password."


class Role(StrEnum):
    RESIDENT = "resident"
    MODERATOR = "moderator"
    VALUATOR = "valuator"
    OFFICIAL = "official"
    ADMIN = "admin"


class User(IdMixin, TimestampMixin, table=True):
    """An account. ``email`` is stored lower-cased, which makes uniqueness case-insensitive.

    The table is ``user`` (a reserved word in PostgreSQL: quote it in raw SQL).
    """

    __tablename__ = "user"

    email: str = Field(max_length=MAX_EMAIL_LENGTH, unique=True)
    display_name: str = Field(max_length=MAX_DISPLAY_NAME_LENGTH)
    password_hash: str = Field(max_length=255)
    is_active: bool = Field(default=True)


class UserRole(SQLModel, table=True):
    """One role held by one user; a user may hold several."""

    __tablename__ = "user_role"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    role: str = Field(primary_key=True, max_length=32)


class LoginAttempt(SQLModel, table=True):
    """One sign-in attempt; failures within the window count towards throttling."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_at", "email", "at"),
        Index("ix_login_attempt_ip_at", "ip", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=MAX_EMAIL_LENGTH)
    ip: str = Field(max_length=64)
    succeeded: bool
    at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime, nullable=False)


class WebSession(SQLModel, table=True):
    """Server-side web session data, keyed by the SHA-256 of the session token (see pb.sessions)."""

    __tablename__ = "web_session"

    id: str = Field(primary_key=True, max_length=64)
    data: str = Field(sa_type=Text)
    expires_at: datetime | None = Field(default=None, sa_type=TZDateTime, index=True)
    # The signed-in user the data names (None for a visitor's session), kept beside the data so
    # a query can join the session to its user; deleting the user ends their sessions.
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="CASCADE")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _subject(user_id: int | None) -> str:
    return f"user:{user_id}"


def parse_roles(roles: Iterable[Role | str]) -> set[Role]:
    parsed: set[Role] = set()
    for role in roles:
        try:
            parsed.add(Role(role))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise InvalidInput(f"Unknown role {role!r} (known: {known}).", field="roles") from None
    return parsed


class AccountService:
    """Registration, sign-in, passwords and roles, on the caller's session (the caller commits)."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    # -- reading -------------------------------------------------------------------------------

    async def get(self, user_id: int) -> User:
        user = await self.session.get(User, user_id)
        if user is None:
            raise NotFound("No such user.")
        return user

    async def get_by_email(self, email: str) -> User | None:
        result = await self.session.exec(select(User).where(User.email == normalize_email(email)))
        return result.first()

    async def roles_of(self, user_id: int) -> set[Role]:
        result = await self.session.exec(select(UserRole.role).where(UserRole.user_id == user_id))
        known = {r.value for r in Role}
        return {Role(r) for r in result.all() if r in known}

    async def list_users(
        self,
        *,
        search: str | None = None,
        role: Role | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> list[User]:
        """Users by id; ``search`` matches part of the e-mail or display name."""
        query = select(User).order_by(col(User.id)).offset(offset).limit(limit)
        if search:
            pattern = f"%{search.strip().lower()}%"
            query = query.where(
                or_(col(User.email).like(pattern), func.lower(User.display_name).like(pattern))
            )
        if role is not None:
            query = query.where(
                col(User.id).in_(select(UserRole.user_id).where(UserRole.role == Role(role).value))
            )
        result = await self.session.exec(query)
        return list(result.all())

    # -- creating ------------------------------------------------------------------------------

    async def register(self, email: str, password: str, display_name: str) -> User:
        """Self-registration: a new ``resident`` account."""
        user = await self._create(email, password, display_name, {Role.RESIDENT})
        await audit.append(
            self.session, "user.registered", actor_id=user.id, subject=_subject(user.id)
        )
        return user

    async def create_user(
        self,
        email: str,
        password: str,
        roles: Iterable[Role | str] = (),
        *,
        display_name: str | None = None,
        actor: User | None = None,
    ) -> User:
        """An account made by an operator (CLI) or an administrator; always a resident too."""
        wanted = parse_roles(roles) | {Role.RESIDENT}
        if actor is not None:
            await self._require_admin(actor)
        email = normalize_email(email)
        name = display_name if display_name is not None else email.split("@", 1)[0]
        user = await self._create(email, password, name, wanted)
        await audit.append(
            self.session,
            "user.created",
            actor_id=actor.id if actor else None,
            subject=_subject(user.id),
            data={"roles": sorted(wanted)},
        )
        return user

    async def _create(self, email: str, password: str, display_name: str, roles: set[Role]) -> User:
        email = normalize_email(email)
        display_name = " ".join(display_name.split())
        if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
            raise InvalidInput("Enter a valid e-mail address.", field="email")
        if not display_name:
            raise InvalidInput("Enter a name to show to others.", field="display_name")
        if len(display_name) > MAX_DISPLAY_NAME_LENGTH:
            raise InvalidInput(
                f"Use at most {MAX_DISPLAY_NAME_LENGTH} characters.", field="display_name"
            )
        problem = check_password_strength(password, email)
        if problem:
            raise InvalidInput(problem, field="password")
        if await self.get_by_email(email) is not None:
            raise Conflict("An account with this e-mail already exists.", field="email")
        user = User(
            email=email,
            display_name=display_name,
            password_hash=await hash_password(password, self.settings),
        )
        try:
            # A savepoint, so a concurrent registration of the same address fails alone.
            async with self.session.begin_nested():
                self.session.add(user)
                await self.session.flush()
                self.session.add_all(UserRole(user_id=user.id, role=r.value) for r in sorted(roles))
                await self.session.flush()
        except IntegrityError:
            raise Conflict("An account with this e-mail already exists.", field="email") from None
        return user

    # -- signing in ----------------------------------------------------------------------------

    async def authenticate(self, email: str, password: str, ip: str) -> User:
        """The active user with these credentials, or ``Throttled`` / ``NotAuthenticated``.

        A failure is recorded and committed at once, before the error is raised, so that the
        rollback of the failed request cannot erase it; anything else pending on the session is
        committed with it.
        """
        email = normalize_email(email)[:MAX_EMAIL_LENGTH]
        ip = (ip or "unknown")[:64]
        await self._check_throttle(email, ip)
        user = await self.get_by_email(email)
        if user is None or not user.is_active:
            # Spend the same time as for a real account, so timing does not reveal which exist.
            await verify_password(await _dummy_hash(self.settings), password, self.settings)
            await self._record_failure(
                email, ip, user, "unknown_email" if user is None else "inactive"
            )
        elif not await verify_password(user.password_hash, password, self.settings):
            await self._record_failure(email, ip, user, "wrong_password")
        else:
            self.session.add(LoginAttempt(email=email, ip=ip, succeeded=True))
            if needs_rehash(user.password_hash, self.settings):
                user.password_hash = await hash_password(password, self.settings)
                self.session.add(user)
            await audit.append(
                self.session, "auth.login", actor_id=user.id, subject=_subject(user.id)
            )
            await self.session.flush()
            return user
        raise NotAuthenticated(_WRONG_CREDENTIALS)

    async def _check_throttle(self, email: str, ip: str) -> None:
        now = utcnow()
        window_start = now - timedelta(seconds=self.settings.login_window)
        # A successful sign-in forgives the account's earlier failures (not the IP's).
        last_success = (
            await self.session.exec(
                select(func.max(LoginAttempt.at)).where(
                    LoginAttempt.email == email, col(LoginAttempt.succeeded).is_(True)
                )
            )
        ).one()
        email_since = max(window_start, last_success) if last_success else window_start
        for column, value, since in (
            (LoginAttempt.email, email, email_since),
            (LoginAttempt.ip, ip, window_start),
        ):
            failures = (
                col(column) == value,
                col(LoginAttempt.succeeded).is_(False),
                col(LoginAttempt.at) > since,
            )
            count = (
                await self.session.exec(
                    select(func.count()).select_from(LoginAttempt).where(*failures)
                )
            ).one()
            if count < self.settings.login_max_failures:
                continue
            # Signing in works again once enough failures have left the window.
            freed_at = (
                await self.session.exec(
                    select(LoginAttempt.at)
                    .where(*failures)
                    .order_by(col(LoginAttempt.at))
                    .offset(count - self.settings.login_max_failures)
                    .limit(1)
                )
            ).first()
            retry_after = self.settings.login_window
            if freed_at is not None:
                retry_after = max(1, int((freed_at - window_start).total_seconds()) + 1)
            minutes = (retry_after + 59) // 60
            raise Throttled(
                "Too many failed sign-in attempts. "
                f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
                retry_after=retry_after,
            )

    async def _record_failure(self, email: str, ip: str, user: User | None, reason: str) -> None:
        self.session.add(LoginAttempt(email=email, ip=ip, succeeded=False))
        await audit.append(
            self.session,
            "auth.login_failed",
            subject=_subject(user.id) if user else "",
            data={"ip": ip, "reason": reason},
        )
        await self.session.commit()

    async def prune_login_attempts(self, *, older_than: timedelta = timedelta(days=30)) -> int:
        """Delete sign-in records older than ``older_than`` (never inside the throttle window)."""
        keep = max(older_than, timedelta(seconds=self.settings.login_window))
        result = await self.session.exec(
            delete(LoginAttempt).where(col(LoginAttempt.at) < utcnow() - keep)
        )
        return result.rowcount or 0

    # -- changing ------------------------------------------------------------------------------

    async def change_password(self, user: User, old: str, new: str) -> None:
        """Replace the password after checking the current one."""
        if not await verify_password(user.password_hash, old, self.settings):
            raise InvalidInput("Your current password is not correct.", field="old_password")
        if new == old:
            raise InvalidInput(
                "Choose a password different from the current one.", field="new_password"
            )
        problem = check_password_strength(new, user.email)
        if problem:
            raise InvalidInput(problem, field="new_password")
        user.password_hash = await hash_password(new, self.settings)
        self.session.add(user)
        await audit.append(
            self.session, "user.password_changed", actor_id=user.id, subject=_subject(user.id)
        )
        await self.session.flush()

    async def set_roles(self, actor: User, user_id: int, roles: Iterable[Role | str]) -> set[Role]:
        """Give ``user_id`` exactly these roles (plus ``resident``); admins only. Returns them."""
        await self._require_admin(actor)
        after = parse_roles(roles) | {Role.RESIDENT}
        await self.get(user_id)
        before = await self.roles_of(user_id)
        if after == before:
            return after
        if Role.ADMIN in before and Role.ADMIN not in after and await self._active_admins() <= 1:
            raise Conflict("The last administrator cannot lose the admin role.", field="roles")
        removed = {r.value for r in before - after}
        if removed:
            await self.session.exec(
                delete(UserRole).where(
                    UserRole.user_id == user_id, col(UserRole.role).in_(sorted(removed))
                )
            )
        self.session.add_all(
            UserRole(user_id=user_id, role=r.value) for r in sorted(after - before)
        )
        await audit.append(
            self.session,
            "user.roles_changed",
            actor_id=actor.id,
            subject=_subject(user_id),
            data={"before": sorted(before), "after": sorted(after)},
        )
        await self.session.flush()
        return after

    async def set_active(self, actor: User, user_id: int, active: bool) -> User:
        """Suspend or restore an account; admins only, and never their own."""
        await self._require_admin(actor)
        user = await self.get(user_id)
        if user.id == actor.id:
            raise Conflict("You cannot suspend or restore your own account.")
        if user.is_active == active:
            return user
        user.is_active = active
        self.session.add(user)
        await audit.append(
            self.session,
            "user.activated" if active else "user.deactivated",
            actor_id=actor.id,
            subject=_subject(user_id),
        )
        await self.session.flush()
        return user

    async def _require_admin(self, actor: User) -> None:
        if (
            actor.id is None
            or not actor.is_active
            or Role.ADMIN not in await self.roles_of(actor.id)
        ):
            raise Forbidden("Only an administrator can do this.")

    async def _active_admins(self) -> int:
        result = await self.session.exec(
            select(func.count())
            .select_from(UserRole)
            .join(User, col(User.id) == UserRole.user_id)
            .where(UserRole.role == Role.ADMIN.value, col(User.is_active).is_(True))
        )
        return int(result.one())


_DUMMY_HASHES: dict[tuple[int, int], str] = {}


async def _dummy_hash(settings: Settings) -> str:
    key = (settings.argon2_time_cost, settings.argon2_memory_cost)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = await hash_password("no account has this password", settings)
    return _DUMMY_HASHES[key]
