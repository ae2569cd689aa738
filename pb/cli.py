"""The ``pb`` command: serve the web app, migrate the database, manage users, check the audit log.

Configuration comes from ``PB_*`` environment variables (see ``pb.settings``). Any failure ends
with exactly one line on standard error, ``pb: error: …``, and exit status 2; a broken audit chain
exits with status 1. No tracebacks: an operator needs the reason, not our call stack.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from pb import __version__
from pb.cli_errors import EXIT_CHECK_FAILED, OneLineGroup
from pb.cli_tally import check_command, tally_command
from pb.settings import Settings
from results.cli import verify_command

__all__ = ["main"]

T = TypeVar("T")


def _settings() -> Settings:
    return Settings.from_env()


def _run(coroutine_fn: Callable[[], Awaitable[T]]) -> T:
    async def run() -> T:
        return await coroutine_fn()

    return asyncio.run(run())


@click.group(cls=OneLineGroup, name="pb", no_args_is_help=True)
@click.version_option(__version__, prog_name="pb")
def main() -> None:
    """pb: participatory budgeting and consultations."""


# -- serve -------------------------------------------------------------------------------------


@main.command()
@click.option("--host", help="Interface to listen on [PB_HOST, default 127.0.0.1].")
@click.option("--port", type=click.IntRange(1, 65535), help="Port [PB_PORT, default 8000].")
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Worker processes [PB_WORKERS, default 1]."
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log one line per request (off under load: the lines cost CPU time).",
)
def serve(host: str | None, port: int | None, workers: int | None, access_log: bool) -> None:
    """Serve the web application with uvicorn (uvloop and httptools when installed)."""
    import uvicorn

    from pb import migrate

    settings = _settings()
    current, head = migrate.current_revision(settings), migrate.head_revision()
    if current != head:
        raise click.ClickException(
            f"the database is at revision {current or 'none'} but this version needs {head}; "
            "run `pb db upgrade` first"
        )
    uvicorn.run(
        "web.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        proxy_headers=True,
        access_log=access_log,
        # "auto" already picks uvloop and httptools when they are installed.
        loop="auto",
        http="auto",
    )


# -- db ----------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Migrate the database up to the newest (or the given) revision."""
    from pb import migrate

    settings = _settings()
    migrate.upgrade(settings, revision)
    click.echo(f"database at revision {migrate.current_revision(settings)}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION (`base` removes every table)."""
    from pb import migrate

    settings = _settings()
    migrate.downgrade(settings, revision)
    click.echo(f"database at revision {migrate.current_revision(settings) or 'base'}")


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does.")
@click.option("--empty", is_flag=True, help="Write an empty migration instead of comparing.")
def db_revision(message: str, empty: bool) -> None:
    """Write a new migration file by comparing the models with the database."""
    from pb import migrate

    click.echo(migrate.revision(_settings(), message, autogenerate=not empty))


@db.command("current")
def db_current() -> None:
    """Print the database's revision."""
    from pb import migrate

    click.echo(migrate.current_revision(_settings()) or "base")


# -- demo --------------------------------------------------------------------------------------


@main.command()
@click.option("--if-empty", is_flag=True, help="Do nothing if the database already has users.")
def demo(if_empty: bool) -> None:
    """Load the demo city: users of every role, processes and proposals (never in production)."""
    from pb.demo import seed

    settings = _settings()
    click.echo(_run(lambda: seed(settings, if_empty=if_empty)))


# -- user --------------------------------------------------------------------------------------


@main.group()
def user() -> None:
    """User accounts."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise click.ClickException("no password on standard input")
        return password
    env_password = os.environ.get("PB_ADMIN_PASSWORD")
    if env_password:
        return env_password
    if not sys.stdin.isatty():
        raise click.ClickException(
            "no password given: use --password-stdin or set PB_ADMIN_PASSWORD"
        )
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@user.command("create")
@click.argument("email")
@click.option(
    "--role",
    "roles",
    multiple=True,
    help="resident, moderator, valuator, official or admin (repeatable).",
)
@click.option("--name", "display_name", help="Name shown to others (default: the part before @).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input.",
)
def user_create(
    email: str, roles: tuple[str, ...], display_name: str | None, password_stdin: bool
) -> None:
    """Create an account (every account is also a resident).

    The password comes from --password-stdin, else PB_ADMIN_PASSWORD, else an interactive prompt.
    """
    from pb.accounts import AccountService, parse_roles
    from pb.db import create_engine, make_session_factory, session_scope

    settings = _settings()
    wanted = parse_roles(roles)
    password = _read_password(password_stdin)

    async def create() -> str:
        engine = create_engine(settings)
        try:
            async with session_scope(make_session_factory(engine)) as session:
                service = AccountService(session, settings)
                created = await service.create_user(
                    email, password, wanted, display_name=display_name
                )
                held = sorted(r.value for r in await service.roles_of(created.id))
                return f"created user {created.id} {created.email} (roles: {', '.join(held)})"
        finally:
            await engine.dispose()

    click.echo(_run(create))


# -- audit -------------------------------------------------------------------------------------


@main.group()
def audit() -> None:
    """The append-only audit log."""


@audit.command("verify")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    """Check the hash chain; exit status 1 if any entry was edited, inserted or removed."""
    from pb import audit as audit_log
    from pb.db import create_engine, make_session_factory, session_scope

    settings = _settings()

    async def verify() -> tuple[list[str], int, str]:
        engine = create_engine(settings)
        try:
            async with session_scope(make_session_factory(engine)) as session:
                problems = await audit_log.verify_chain(session)
                return (
                    problems,
                    await audit_log.count_entries(session),
                    await audit_log.head_hash(session),
                )
        finally:
            await engine.dispose()

    problems, count, head = _run(verify)
    if problems:
        for problem in problems:
            click.echo(problem)
        click.echo(
            f"pb: error: audit chain broken: {len(problems)} problem(s) in {count} entries",
            err=True,
        )
        ctx.exit(EXIT_CHECK_FAILED)
    click.echo(f"audit chain OK ({count} entries)")
    click.echo(f"head {head}")


# -- commands defined beside their domain -------------------------------------------------------

main.add_command(tally_command, "tally")
main.add_command(check_command, "check")
main.add_command(verify_command, "verify")
