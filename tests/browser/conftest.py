"""Browser tests: a real uvicorn server on a temporary SQLite database, driven by Chromium.

Chromium is Debian's (``/usr/bin/chromium``), driven through the Playwright Python package;
the tests skip with the reason when either is missing. Every test here carries the ``browser``
marker. A module that needs its own data starts its own server with ``running_server``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pb.accounts import AccountService, Role
from pb.db import create_engine, make_session_factory, session_scope
from pb.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SECRET = "browser-test-secret-2b9f4c1d8e7a6f5e4d3c2b1a0f9e8d7c"
ADMIN_EMAIL = "admin@example.org"
ADMIN_PASSWORD = "admin browser password 1"
RESIDENT_EMAIL = "rita@example.org"
RESIDENT_PASSWORD = "resident browser password 1"
AXE_VERSION = "4"
DEFAULT_APP = ("web.asgi:app",)
TIMEOUT_MS = 10_000

T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


def _missing_browser() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def _skip_unless_runnable() -> None:
    reason = _missing_browser()
    if reason:
        pytest.skip(reason)
    if not (ROOT / "web" / "static" / "vendor" / "htmx.min.js").exists():
        pytest.skip("htmx is not vendored yet (run scripts/vendor-htmx)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def with_session(settings: Settings, fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``fn(session)`` in one committed transaction on a fresh engine."""
    engine = create_engine(settings)
    try:
        async with session_scope(make_session_factory(engine)) as session:
            return await fn(session)
    finally:
        await engine.dispose()


def in_thread(settings: Settings, fn: Callable[[Any], Awaitable[T]]) -> T:
    """``with_session`` on its own loop: Playwright's sync API holds this thread's loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, with_session(settings, fn)).result()


@dataclass(frozen=True)
class LiveServer:
    url: str
    log: Path
    settings: Settings


# A module's own server and what its seed function returned.
SeededServer = tuple[LiveServer, dict[str, Any]]


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail("server did not start:\n" + log_path.read_text(errors="replace"))
        time.sleep(0.1)


@contextmanager
def running_server(
    directory: Path,
    seed: Callable[[Any, Settings], Awaitable[T]],
    app: Sequence[str] = DEFAULT_APP,
) -> Iterator[tuple[LiveServer, T]]:
    """Migrate a fresh SQLite database in ``directory``, seed it, serve ``app`` with uvicorn.

    Yields the server and what ``seed(session, settings)`` returned; ``app`` is uvicorn's
    application argument(s), e.g. ``("--factory", "module:function")``.
    """
    _skip_unless_runnable()
    from pb import migrate

    env_values = {
        "PB_ENV": "test",
        "PB_DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'pb.sqlite3'}",
        "PB_SECRET_KEY": SECRET,
        "PB_ARGON2_TIME_COST": "1",
        "PB_ARGON2_MEMORY_COST": "64",
        "PB_MEDIA_DIR": str(directory / "media"),
    }
    settings = Settings.from_env(env_values)
    migrate.upgrade(settings)  # runs Alembic off this thread if a browser holds its loop
    seeded = in_thread(settings, lambda session: seed(session, settings))

    port = _free_port()
    log_path = directory / "server.log"
    env = {**os.environ, **env_values, "PYTHONPATH": str(ROOT)}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", *app, "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, log_path)
        yield LiveServer(url, log_path, settings), seeded
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _seed(session: Any, settings: Settings) -> None:
    accounts = AccountService(session, settings)
    await accounts.create_user(ADMIN_EMAIL, ADMIN_PASSWORD, [Role.ADMIN], display_name="Ada Admin")
    await accounts.create_user(RESIDENT_EMAIL, RESIDENT_PASSWORD, display_name="Rita Resident")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The shell's server: an administrator and a resident, nothing else."""
    with running_server(tmp_path_factory.mktemp("live"), _seed) as (server, _):
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _skip_unless_runnable()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Opens a page in a fresh context (its own cookies); ``new_context`` options pass through.

    Every context it opened is closed when the test ends.
    """
    contexts: list[Any] = []

    def open_page(**context_options: Any) -> Any:
        context = browser.new_context(**context_options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        return page

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    return new_page()


@pytest.fixture(scope="session")
def axe_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """axe-core's browser bundle, fetched from npm once per test run."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not available to fetch axe-core")
    directory = tmp_path_factory.mktemp("axe")
    result = subprocess.run(
        [npm, "pack", f"axe-core@{AXE_VERSION}", "--silent"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
    )
    tarballs = list(directory.glob("axe-core-*.tgz"))
    if result.returncode != 0 or not tarballs:
        pytest.skip(f"could not fetch axe-core with npm: {result.stderr.strip()[:200]}")
    with tarfile.open(tarballs[0]) as archive:
        member = archive.extractfile("package/axe.min.js")
        assert member is not None
        return member.read().decode("utf-8")
