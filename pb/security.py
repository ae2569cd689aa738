"""Password hashing (argon2id), password rules, and random tokens.

Hashing deliberately costs tens of milliseconds of CPU and tens of MiB of memory, so it runs in a
worker thread: the event loop keeps serving other requests meanwhile. The cost comes from
``Settings`` (tests use a cheap one); hashes made with an older cost are upgraded at next sign-in
(``needs_rehash``).
"""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

import anyio.to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from pb.settings import Settings

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "check_password_strength",
    "hash_password",
    "needs_rehash",
    "new_token",
    "token_hash",
    "verify_password",
]

ARGON2_PARALLELISM = 4
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256

# Long enough and mixed enough to pass the other checks, yet among the first guesses of any
# attacker.
_COMMON_PASSWORDS = frozenset(
    {
        "password12",
        "password123",
        "password1234",
        "password!1",
        "passw0rd123",
        "qwerty12345",
        "qwertyuiop1",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "abcdef12345",
        "abc1234567",
        "iloveyou123",
        "welcome123",
        "letmein1234",
        "administrator1",
        "changeme123",
    }
)


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_cost: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_cost,
        parallelism=ARGON2_PARALLELISM,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def _hasher_for(settings: Settings) -> PasswordHasher:
    return _hasher(settings.argon2_time_cost, settings.argon2_memory_cost)


async def hash_password(password: str, settings: Settings) -> str:
    """An argon2id hash string (salt and parameters included), computed off the event loop."""
    return await anyio.to_thread.run_sync(_hasher_for(settings).hash, password)


async def verify_password(password_hash: str, password: str, settings: Settings) -> bool:
    """Whether ``password`` matches ``password_hash``; a malformed hash never matches."""
    hasher = _hasher_for(settings)

    def check() -> bool:
        try:
            return hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)


def needs_rehash(password_hash: str, settings: Settings) -> bool:
    """Whether the hash was made with other parameters than the current settings ask for."""
    try:
        return _hasher_for(settings).check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def check_password_strength(password: str, email: str = "") -> str | None:
    """The problem with ``password`` as a message for the person choosing it, or None if fine.

    Rules: at least 10 characters (at most 256), more than one kind of character (lower case,
    upper case, digits, others such as spaces or punctuation), not a well-known password, and not
    the e-mail address or its part before the ``@``.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    kinds = {
        "lower" if c.islower() else "upper" if c.isupper() else "digit" if c.isdigit() else "other"
        for c in password
    }
    if len(kinds) < 2:
        return "Mix different kinds of characters: letters, digits, spaces or punctuation."
    if len(set(password)) < 4:
        return "Use more different characters."
    lowered = password.strip().lower()
    if lowered in _COMMON_PASSWORDS:
        return "This password is too common; choose another one."
    address = email.strip().lower()
    local_part = address.split("@", 1)[0]
    if address and (lowered == address or lowered == local_part):
        return "Do not use your e-mail address as your password."
    return None


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token with ``nbytes`` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """SHA-256 hex digest of a token: what we store, so a database leak reveals no live token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
