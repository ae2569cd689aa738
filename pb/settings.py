"""One frozen ``Settings`` object, built from ``PB_*`` environment variables.

Every value is checked when the object is built, so a misconfigured server stops at start-up with
one readable line (``ConfigError``) instead of failing on the first request. Production mode
(``PB_ENV=prod``) refuses to start without a strong secret key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from pb.errors import ConfigError

__all__ = ["DEV_SECRET_KEY", "ENVIRONMENTS", "Settings"]

ENVIRONMENTS = ("dev", "prod", "test")
DEV_SECRET_KEY = "dev-only-insecure-secret-key-never-use-in-production"
SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
SMTP_SCHEMES = ("smtp", "smtp+starttls", "smtps")
MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT_CHARS = 10
# argon2id needs at least 8 KiB per lane; security.py hashes with 4 lanes.
MIN_ARGON2_MEMORY_KIB = 32

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")

# Settings field → environment variable; messages name the variable an operator would edit.
ENV_VARS: dict[str, str] = {
    "env": "PB_ENV",
    "database_url": "PB_DATABASE_URL",
    "secret_key": "PB_SECRET_KEY",
    "host": "PB_HOST",
    "port": "PB_PORT",
    "workers": "PB_WORKERS",
    "session_max_age": "PB_SESSION_MAX_AGE",
    "login_max_failures": "PB_LOGIN_MAX_FAILURES",
    "login_window": "PB_LOGIN_WINDOW",
    "argon2_time_cost": "PB_ARGON2_TIME_COST",
    "argon2_memory_cost": "PB_ARGON2_MEMORY_COST",
    "media_dir": "PB_MEDIA_DIR",
    "https": "PB_HTTPS",
    "smtp_url": "PB_SMTP_URL",
    "mail_from": "PB_MAIL_FROM",
    "lang": "PB_LANG",
    "signing_key": "PB_SIGNING_KEY",
}

# Inclusive bounds for integer settings.
_INT_BOUNDS: dict[str, tuple[int, int]] = {
    "port": (1, 65535),
    "workers": (1, 64),
    "session_max_age": (60, 366 * 24 * 3600),
    "login_max_failures": (1, 1000),
    "login_window": (1, 7 * 24 * 3600),
    "argon2_time_cost": (1, 100),
    "argon2_memory_cost": (MIN_ARGON2_MEMORY_KIB, 4 * 1024 * 1024),
}


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; build it with ``Settings.from_env()`` or directly in tests."""

    env: str = "dev"
    database_url: str = "sqlite+aiosqlite:///./pb.sqlite3"
    secret_key: str = field(default=DEV_SECRET_KEY, repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    session_max_age: int = 8 * 3600
    login_max_failures: int = 5
    login_window: int = 900
    # argon2id cost: RFC 9106 "low memory" profile (3 passes over 64 MiB).
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 64 * 1024
    media_dir: str = "./var/media"
    https: bool = False
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str = "pb@localhost"
    lang: str = "en"
    # Ed25519 seed (64 hex digits) that signs certified result packages; when unset, the key is
    # derived from ``secret_key`` (see ``results.signing``), so it changes if the secret does.
    signing_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.env not in ENVIRONMENTS:
            raise ConfigError(f"PB_ENV must be one of {', '.join(ENVIRONMENTS)} (got {self.env!r})")
        for name, (low, high) in _INT_BOUNDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(
                    f"{ENV_VARS[name]} must be an integer from {low} to {high} (got {value!r})"
                )
        _check_database_url(self.database_url)
        if self.env == "prod":
            _check_production_secret(self.secret_key)
        elif not self.secret_key:
            raise ConfigError("PB_SECRET_KEY must not be empty")
        if self.smtp_url is not None:
            _check_smtp_url(self.smtp_url)
        if not self.host:
            raise ConfigError("PB_HOST must not be empty")
        if not self.media_dir:
            raise ConfigError("PB_MEDIA_DIR must not be empty")
        if "@" not in self.mail_from or any(c in self.mail_from for c in "\r\n"):
            raise ConfigError(f"PB_MAIL_FROM must be an e-mail address (got {self.mail_from!r})")
        if not _LANG.match(self.lang):
            raise ConfigError(f"PB_LANG must be a language code such as 'en' (got {self.lang!r})")
        if self.signing_key is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", self.signing_key):
            raise ConfigError("PB_SIGNING_KEY must be 64 hexadecimal digits (an Ed25519 seed)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read ``PB_*`` variables (empty values count as unset); raise ``ConfigError`` if invalid."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_VARS[f.name], "").strip()
            if not raw:
                continue
            if f.name in _INT_BOUNDS:
                values[f.name] = _parse_int(f.name, raw)
            elif f.name == "https":
                values[f.name] = _parse_bool(f.name, raw)
            else:
                values[f.name] = raw
        if values.get("env") == "prod" and "secret_key" not in values:
            _check_production_secret("")
        return cls(**values)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_prod(self) -> bool:
        return self.env == "prod"

    @property
    def cookie_secure(self) -> bool:
        """Whether cookies get the ``Secure`` flag (always in production)."""
        return self.https or self.env == "prod"


def _parse_int(name: str, raw: str) -> int:
    low, high = _INT_BOUNDS[name]
    try:
        return int(raw, 10)
    except ValueError:
        raise ConfigError(
            f"{ENV_VARS[name]} must be an integer from {low} to {high} (got {raw!r})"
        ) from None


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{ENV_VARS[name]} must be true or false (got {raw!r})")


def _check_database_url(url: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    scheme = url.split("://", 1)[0] if "://" in url else url[:20]
    hint = f"must start with {' or '.join(d + '://' for d in SUPPORTED_DRIVERS)}"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigError(f"PB_DATABASE_URL is malformed ({hint}; got {scheme!r}…)") from None
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise ConfigError(f"PB_DATABASE_URL {hint} (got {parsed.drivername + '://'!r})")
    if parsed.drivername.startswith("postgresql") and not parsed.database:
        raise ConfigError(
            "PB_DATABASE_URL must name a database (postgresql+asyncpg://user:pw@host/db)"
        )


def _check_production_secret(secret: str) -> None:
    if not secret:
        raise ConfigError(
            "PB_SECRET_KEY is required when PB_ENV=prod "
            f"(at least {MIN_SECRET_LENGTH} random characters)"
        )
    if secret == DEV_SECRET_KEY:
        raise ConfigError(
            "PB_SECRET_KEY is the development default; set a random secret for PB_ENV=prod"
        )
    if len(secret) < MIN_SECRET_LENGTH or len(set(secret)) < MIN_SECRET_DISTINCT_CHARS:
        raise ConfigError(
            f"PB_SECRET_KEY is too weak for PB_ENV=prod (use at least {MIN_SECRET_LENGTH} random "
            "characters, e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )


def _check_smtp_url(url: str) -> None:
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SMTP_SCHEMES or not rest.rsplit("@", 1)[-1].split(":")[0]:
        raise ConfigError(
            f"PB_SMTP_URL must look like {SMTP_SCHEMES[0]}://[user:password@]host[:port] "
            f"(schemes: {', '.join(SMTP_SCHEMES)})"
        )
