"""The ``pb`` command, through click's test runner, on a temporary SQLite database."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from pb import migrate
from pb.cli import main
from pb.db import create_engine
from tests.conftest import TEST_SECRET_KEY


@pytest.fixture
def run(tmp_path: Path, monkeypatch):
    """Invoke ``pb`` with a PB_* environment pointing at a fresh SQLite file."""
    for variable in ("PB_ADMIN_PASSWORD", "PB_SMTP_URL", "PB_HTTPS"):
        monkeypatch.delenv(variable, raising=False)
    env = {
        "PB_ENV": "test",
        "PB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}",
        "PB_SECRET_KEY": TEST_SECRET_KEY,
        "PB_ARGON2_TIME_COST": "1",
        "PB_ARGON2_MEMORY_COST": "64",
    }
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, **extra_env: str):
        return runner.invoke(main, list(args), input=input, env={**env, **extra_env})

    invoke.env = env  # type: ignore[attr-defined]
    return invoke


def _one_error_line(result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pb: error: ")
    assert "Traceback" not in result.output
    return lines[0]


def _sql(url: str, statement: str) -> None:
    async def go() -> None:
        from pb.settings import Settings

        engine = create_engine(Settings(env="test", database_url=url))
        try:
            async with engine.begin() as connection:
                await connection.exec_driver_sql(statement)
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_help_and_version(run):
    assert run().exit_code == 0 and "Usage" in run().output
    result = run("--version")
    assert result.exit_code == 0 and "0.1.0" in result.output


def test_db_upgrade_and_current(run):
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert migrate.head_revision() in result.output
    assert run("db", "current").output.strip() == migrate.head_revision()


def test_user_create_and_duplicate(run):
    run("db", "upgrade")
    result = run(
        "user",
        "create",
        "Clerk@City.example",
        "--role",
        "official",
        "--role",
        "moderator",
        "--password-stdin",
        input="a long enough pw 1\n",
    )
    assert result.exit_code == 0, result.output
    assert "clerk@city.example (roles: moderator, official, resident)" in result.output

    again = run(
        "user", "create", "clerk@city.example", "--password-stdin", input="a long enough pw 1\n"
    )
    assert again.exit_code == 2
    assert _one_error_line(again) == "pb: error: An account with this e-mail already exists."


def test_user_create_password_sources(run):
    run("db", "upgrade")
    from_env = run("user", "create", "a@city.example", PB_ADMIN_PASSWORD="from the environment 1")
    assert from_env.exit_code == 0, from_env.output
    prompted = run("user", "create", "b@city.example", input="typed twice 12\ntyped twice 12\n")
    assert prompted.exit_code == 2  # not a terminal: no prompt, one clear line instead
    assert "--password-stdin" in _one_error_line(prompted)
    weak = run("user", "create", "c@city.example", "--password-stdin", input="weak\n")
    assert weak.exit_code == 2 and "at least 10" in _one_error_line(weak)


def test_user_create_unknown_role(run):
    run("db", "upgrade")
    result = run(
        "user",
        "create",
        "x@city.example",
        "--role",
        "mayor",
        "--password-stdin",
        input="a long enough pw 1\n",
    )
    assert result.exit_code == 2
    assert "Unknown role 'mayor'" in _one_error_line(result)


def test_audit_verify_ok_and_broken(run):
    run("db", "upgrade")
    for email in ("a@city.example", "b@city.example", "c@city.example"):
        run("user", "create", email, "--password-stdin", input="a long enough pw 1\n")
    ok = run("audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert ok.output.splitlines()[0] == "audit chain OK (3 entries)"

    url = run.env["PB_DATABASE_URL"]
    _sql(url, "DROP TRIGGER audit_entry_no_update")
    _sql(url, 'UPDATE audit_entry SET data = \'{"roles":["admin"]}\' WHERE id = 2')
    broken = run("audit", "verify")
    assert broken.exit_code == 1
    assert "entry 2: hash mismatch (row edited)" in broken.stdout
    assert _one_error_line(broken).startswith("pb: error: audit chain broken")


@pytest.mark.parametrize("url", ["mysql://root@localhost/pb", "sqlite:///pb.sqlite3", "nonsense"])
def test_malformed_database_url(run, url):
    result = run("audit", "verify", PB_DATABASE_URL=url)
    assert result.exit_code == 2
    assert _one_error_line(result).startswith("pb: error: PB_DATABASE_URL")


def test_database_errors_are_one_line(run):
    result = run("audit", "verify")  # never migrated: no tables
    assert result.exit_code == 2
    assert "no such table" in _one_error_line(result)


def test_unknown_command_is_one_line(run):
    result = run("frobnicate")
    assert result.exit_code == 2
    assert "No such command" in _one_error_line(result)


def test_demo_if_empty_creates_users_once(run):
    run("db", "upgrade")
    first = run("demo", "--if-empty")
    assert first.exit_code == 0, first.output
    assert "5 users" in first.output
    second = run("demo", "--if-empty")
    assert second.exit_code == 0 and "not loaded" in second.output
    assert "demo city loaded" in first.output
    third = run("demo")
    assert third.exit_code == 0 and "already present" in third.output
    assert "demo city already present" in third.output
    verify = run("audit", "verify")
    assert verify.exit_code == 0, verify.output
    # Users, processes and proposals were all created through audited services.
    entries = int(re.search(r"\((\d+) entries\)", verify.output).group(1))
    assert entries > 5


def test_demo_is_refused_in_production(run):
    result = run("demo", PB_ENV="prod", PB_SECRET_KEY="Zk3q8Vn1Lr5Tx9Wb2Hc6Jd0Mf4Pg7Ys-Qa_")
    assert result.exit_code == 2
    assert "PB_ENV=prod" in _one_error_line(result)


def test_serve_refuses_an_unmigrated_database(run, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not start"))
    result = run("serve")
    assert result.exit_code == 2 and "pb db upgrade" in _one_error_line(result)


def test_serve_starts_uvicorn_with_the_app_import_string(run, monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    run("db", "upgrade")
    result = run("serve", "--port", "8123", "--workers", "2")
    assert result.exit_code == 0, result.output
    [(app, options)] = calls
    assert app == "web.asgi:app"
    assert (options["host"], options["port"], options["workers"]) == ("127.0.0.1", 8123, 2)


def test_demo_users_can_sign_in(run, tmp_path):
    run("db", "upgrade")
    run("demo")

    async def sign_in() -> None:
        from pb.accounts import AccountService, Role
        from pb.db import make_session_factory, session_scope
        from pb.demo import DEMO_USERS
        from pb.settings import Settings
        from proposals.demo import DEMO_RESIDENTS

        settings = Settings.from_env(run.env)
        engine = create_engine(settings)
        try:
            async with session_scope(make_session_factory(engine)) as session:
                accounts = AccountService(session, settings)
                for demo in DEMO_USERS:
                    user = await accounts.authenticate(demo.email, demo.password, "127.0.0.1")
                    assert await accounts.roles_of(user.id) == {demo.role, Role.RESIDENT}
                count = (await session.exec(text("SELECT count(*) FROM user_role"))).scalar_one()
                # One role each plus "resident" for the four staff accounts; the demo city's
                # extra residents hold "resident" only.
                assert count == 9 + len(DEMO_RESIDENTS)
        finally:
            await engine.dispose()

    asyncio.run(sign_in())
