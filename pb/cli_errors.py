"""How every ``pb`` command fails: exactly one ``pb: error: …`` line on standard error.

Shared by the ``pb`` group and by the commands defined in other modules (``pb tally``,
``pb check``, ``pb verify``), so a command behaves the same whether it runs through ``pb`` or on
its own (as tests invoke it). No tracebacks: an operator needs the reason, not our call stack.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from pb.errors import ConfigError, DomainError

__all__ = ["EXIT_CHECK_FAILED", "EXIT_ERROR", "OneLineCommand", "OneLineGroup", "fail", "one_line"]

EXIT_ERROR = 2
EXIT_CHECK_FAILED = 1


def one_line(exc: BaseException) -> str:
    """A single line describing ``exc``, without SQL statements or driver noise."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    if isinstance(exc, (ConfigError, DomainError, click.ClickException)):
        text = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
    elif isinstance(exc, DBAPIError):
        text = f"database error: {exc.orig}"
    elif isinstance(exc, SQLAlchemyError):
        text = f"database error: {exc}"
    elif isinstance(exc, ConnectionError):
        text = f"cannot connect: {exc}"
    elif isinstance(exc, OSError):
        text = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print ``pb: error: MESSAGE`` (its first line) and exit with ``code``."""
    first = next((line.strip() for line in message.splitlines() if line.strip()), "error")
    click.echo(f"pb: error: {first}", err=True)
    sys.exit(code)


class _OneLine:
    """``main`` for a click command or group: every failure ends as one line, status 2."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        run = super().main  # type: ignore[misc]
        if not standalone_mode:
            return run(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = run(args, prog_name or "pb", complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else "")
            sys.exit(0)
        except (click.exceptions.Abort, KeyboardInterrupt, EOFError):
            fail("aborted")
        except Exception as exc:  # noqa: BLE001  (the one place every error is reported)
            fail(one_line(exc))
        sys.exit(code if isinstance(code, int) else 0)


class OneLineGroup(_OneLine, click.Group):
    """A click group whose failures, and its commands', are one ``pb: error:`` line."""


class OneLineCommand(_OneLine, click.Command):
    """A click command whose failures are one ``pb: error:`` line, also when run on its own."""
