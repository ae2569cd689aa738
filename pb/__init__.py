"""The pb kernel: settings, database, accounts, security, audit log, sessions, e-mail, CLI.

Names are imported lazily on first use, so ``import pb`` (or ``import pb.errors``) stays cheap and
does no I/O. Submodules are importable directly as well, e.g. ``from pb import audit``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # settings, errors
    "Settings": "pb.settings",
    "ConfigError": "pb.errors",
    "DomainError": "pb.errors",
    "NotFound": "pb.errors",
    "Conflict": "pb.errors",
    "Forbidden": "pb.errors",
    "NotAuthenticated": "pb.errors",
    "InvalidInput": "pb.errors",
    "InvalidTransition": "pb.errors",
    "NotEligible": "pb.errors",
    "AlreadyVoted": "pb.errors",
    "InvalidBallot": "pb.errors",
    "Throttled": "pb.errors",
    "ParseError": "pb.errors",
    # database
    "AsyncSession": "pb.db",
    "create_engine": "pb.db",
    "make_session_factory": "pb.db",
    "session_scope": "pb.db",
    "metadata": "pb.db",
    "utcnow": "pb.models",
    "TZDateTime": "pb.models",
    "IdMixin": "pb.models",
    "TimestampMixin": "pb.models",
    # accounts, security, sessions
    "Role": "pb.accounts",
    "User": "pb.accounts",
    "UserRole": "pb.accounts",
    "LoginAttempt": "pb.accounts",
    "WebSession": "pb.accounts",
    "AccountService": "pb.accounts",
    "hash_password": "pb.security",
    "verify_password": "pb.security",
    "needs_rehash": "pb.security",
    "check_password_strength": "pb.security",
    "new_token": "pb.security",
    "token_hash": "pb.security",
    "DatabaseStore": "pb.sessions",
    # audit log (functions: pb.audit.append, verify_chain, head_hash)
    "AuditEntry": "pb.audit",
    # e-mail
    "Email": "pb.notify",
    "EmailSender": "pb.notify",
    "LogEmailSender": "pb.notify",
    "SmtpEmailSender": "pb.notify",
    "make_email_sender": "pb.notify",
}

__all__ = [
    "__version__",
    "Settings",
    "ConfigError",
    "DomainError",
    "NotFound",
    "Conflict",
    "Forbidden",
    "NotAuthenticated",
    "InvalidInput",
    "InvalidTransition",
    "NotEligible",
    "AlreadyVoted",
    "InvalidBallot",
    "Throttled",
    "ParseError",
    "AsyncSession",
    "create_engine",
    "make_session_factory",
    "session_scope",
    "metadata",
    "utcnow",
    "TZDateTime",
    "IdMixin",
    "TimestampMixin",
    "Role",
    "User",
    "UserRole",
    "LoginAttempt",
    "WebSession",
    "AccountService",
    "hash_password",
    "verify_password",
    "needs_rehash",
    "check_password_strength",
    "new_token",
    "token_hash",
    "DatabaseStore",
    "AuditEntry",
    "Email",
    "EmailSender",
    "LogEmailSender",
    "SmtpEmailSender",
    "make_email_sender",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from pb.accounts import AccountService, LoginAttempt, Role, User, UserRole, WebSession
    from pb.audit import AuditEntry
    from pb.db import AsyncSession, create_engine, make_session_factory, metadata, session_scope
    from pb.errors import (
        AlreadyVoted,
        ConfigError,
        Conflict,
        DomainError,
        Forbidden,
        InvalidBallot,
        InvalidInput,
        InvalidTransition,
        NotAuthenticated,
        NotEligible,
        NotFound,
        ParseError,
        Throttled,
    )
    from pb.models import IdMixin, TimestampMixin, TZDateTime, utcnow
    from pb.notify import Email, EmailSender, LogEmailSender, SmtpEmailSender, make_email_sender
    from pb.security import (
        check_password_strength,
        hash_password,
        needs_rehash,
        new_token,
        token_hash,
        verify_password,
    )
    from pb.sessions import DatabaseStore
    from pb.settings import Settings
