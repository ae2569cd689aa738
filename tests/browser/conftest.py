"""Browser tests: a real uvicorn server on a temporary SQLite database, driven by Chromium.

Chromium is Debian's (``/usr/bin/chromium``), driven through the Playwright Python package;
the tests skip with the reason when either is missing. Every test here carries the ``browser``
marker.
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _seed(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with session_scope(make_session_factory(engine)) as session:
            accounts = AccountService(session, settings)
            await accounts.create_user(
                ADMIN_EMAIL, ADMIN_PASSWORD, [Role.ADMIN], display_name="Ada Admin"
            )
            await accounts.create_user(
                RESIDENT_EMAIL, RESIDENT_PASSWORD, display_name="Rita Resident"
            )
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class LiveServer:
    url: str
    log: Path


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    reason = _missing_browser()
    if reason:
        pytest.skip(reason)
    if not (ROOT / "web" / "static" / "vendor" / "htmx.min.js").exists():
        pytest.skip("htmx is not vendored yet (run scripts/vendor-htmx)")
    from pb import migrate

    directory = tmp_path_factory.mktemp("live")
    env_values = {
        "PB_ENV": "test",
        "PB_DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'pb.sqlite3'}",
        "PB_SECRET_KEY": SECRET,
        "PB_ARGON2_TIME_COST": "1",
        "PB_ARGON2_MEMORY_COST": "64",
        "PB_MEDIA_DIR": str(directory / "media"),
    }
    settings = Settings.from_env(env_values)
    migrate.upgrade(settings)
    asyncio.run(_seed(settings))

    port = _free_port()
    log_path = directory / "server.log"
    env = {**os.environ, **env_values, "PYTHONPATH": str(ROOT)}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "web.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("server did not start:\n" + log_path.read_text(errors="replace"))
            time.sleep(0.1)
        yield LiveServer(url, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser(live_server: LiveServer) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
    finally:
        context.close()


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
