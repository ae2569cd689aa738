"""Domain errors raised by services and mapped to HTTP answers by the web layer.

Each ``DomainError`` subclass carries the HTTP status it maps to and a short title for the error
page; the message is written for the person who made the request. ``ConfigError`` is separate: it
stops the program at start-up (or a CLI command) and is never shown to a resident.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AlreadyVoted",
    "ConfigError",
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidBallot",
    "InvalidInput",
    "InvalidTransition",
    "NotAuthenticated",
    "NotEligible",
    "NotFound",
    "ParseError",
    "Throttled",
]


class DomainError(Exception):
    """A request that the domain refuses; ``message`` is safe to show to the requester."""

    status_code: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        extra = f", field={self.field!r}" if self.field else ""
        return f"{type(self).__name__}({self.message!r}{extra})"


class NotFound(DomainError):
    status_code = 404
    title = "Not found"


class Conflict(DomainError):
    status_code = 409
    title = "Conflict"


class Forbidden(DomainError):
    status_code = 403
    title = "Not allowed"


class NotAuthenticated(DomainError):
    status_code = 401
    title = "Sign-in required"


class InvalidInput(DomainError):
    """Bad form input; ``field`` names the form field to highlight."""

    status_code = 422
    title = "Invalid input"


class InvalidTransition(DomainError):
    status_code = 409
    title = "Not possible now"


class NotEligible(DomainError):
    status_code = 403
    title = "Not eligible"


class AlreadyVoted(DomainError):
    status_code = 409
    title = "Already voted"


class InvalidBallot(DomainError):
    """A ballot that breaks its format's rules: ``InvalidBallot(code, message)``.

    ``code`` names the rule broken (``too-many``, ``over-budget``…, see ``ballots.formats``);
    ``InvalidBallot(message)`` alone uses the code ``invalid``.
    """

    status_code = 422
    title = "Invalid ballot"

    def __init__(
        self, code_or_message: str, message: str | None = None, *, field: str | None = None
    ) -> None:
        code, text = ("invalid", code_or_message) if message is None else (code_or_message, message)
        super().__init__(text, field=field)
        self.code = code


class Throttled(DomainError):
    """Too many attempts; ``retry_after`` (seconds) feeds the ``Retry-After`` header."""

    status_code = 429
    title = "Too many attempts"

    def __init__(
        self, message: str, *, field: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class ParseError(DomainError):
    status_code = 422
    title = "Unreadable file"


class ConfigError(Exception):
    """Invalid configuration: stops start-up or a CLI command with this one-line message."""
