"""Casting benchmark: ballots per second over HTTP against ``pb serve --workers 2`` on PostgreSQL.

Steps: reset and migrate the benchmark database; seed a knapsack process in the voting phase with
``--residents`` verified residents (bulk inserts: accounts, roll entries, verifications); start
``pb serve`` with 2 workers; sign every resident in beforehand (one cookie jar each); then
``--clients`` concurrent clients cast ``--casts`` ballots in all (htmx POSTs to the cast route, as
the ballot page sends them; re-voting replaces ballots). Prints ballots/s, p50/p99 latency and
errors, the rate of a signed-in page that writes nothing (the web stack's floor), then pgbench's
single-row INSERT rate on the same PostgreSQL server for comparison.

    .venv/bin/python bench/cast.py [--url postgresql+asyncpg://pb:pb@127.0.0.1:5432/pb_test_bench]
        [--residents 2000] [--casts 20000] [--clients 32] [--port N]

The database named by ``--url`` is wiped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ballots.models import RollEntry, Verification  # noqa: E402
from ballots.verification import keyed_hash  # noqa: E402
from pb import migrate  # noqa: E402
from pb.accounts import AccountService, Role, User, UserRole  # noqa: E402
from pb.db import create_engine, make_session_factory, session_scope  # noqa: E402
from pb.models import utcnow  # noqa: E402
from pb.processes import Phase, ProcessService  # noqa: E402
from pb.security import hash_password  # noqa: E402
from pb.settings import Settings  # noqa: E402
from proposals.lifecycle import ProposalStatus  # noqa: E402
from proposals.models import Proposal  # noqa: E402

DEFAULT_URL = "postgresql+asyncpg://pb:pb@127.0.0.1:5432/pb_test_bench"
SECRET = "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
PASSWORD = "bench passphrase 4 casting"
_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


def bench_settings(url: str) -> Settings:
    return Settings(
        env="dev",
        database_url=url,
        secret_key=SECRET,
        argon2_time_cost=1,
        argon2_memory_cost=32,
        login_max_failures=1000,
    )


async def reset(settings: Settings) -> None:
    engine = create_engine(settings, poolclass=NullPool)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        await conn.exec_driver_sql("CREATE SCHEMA public")
    await engine.dispose()


async def seed(settings: Settings, residents: int) -> dict[str, object]:
    """A knapsack process in the voting phase and ``residents`` verified residents."""
    engine = create_engine(settings)
    factory = make_session_factory(engine)
    async with session_scope(factory) as session:
        admin = await AccountService(session, settings).create_user(
            "admin@bench.pb", PASSWORD, {Role.ADMIN}
        )
        processes = ProcessService(session, settings)
        process = await processes.create(
            admin,
            {"name": "Bench city", "rule_id": "greedy", "ballot_config": {"format": "knapsack"}},
        )
        district = await processes.add_district(
            admin, process.id, {"name": "All", "budget": 1_000_000}
        )
        projects = []
        for i in range(12):
            p = Proposal(
                process_id=process.id,
                district_id=district.id,
                proposer_id=admin.id,
                title=f"Project {i + 1}",
                summary=f"Benchmark project {i + 1}.",
                estimated_cost=100_000 + 10_000 * i,
                official_cost=100_000 + 10_000 * i,
                feasible=True,
                status=ProposalStatus.ON_BALLOT,
            )
            session.add(p)
            await session.flush()
            projects.append(str(p.id))
        for phase in (Phase.SUBMISSION, Phase.REVIEW, Phase.COSTING, Phase.VOTING):
            await processes.advance_phase(admin, process.id, phase)
        password_hash = await hash_password(PASSWORD, settings)
        now = utcnow()
        emails = [f"r{i}@bench.pb" for i in range(residents)]
        for start in range(0, residents, 1000):
            chunk = emails[start : start + 1000]
            ids = (
                await session.exec(
                    sa.insert(User)
                    .values(
                        [
                            {
                                "email": e,
                                "display_name": e.split("@")[0],
                                "password_hash": password_hash,
                                "is_active": True,
                                "created_at": now,
                                "updated_at": now,
                            }
                            for e in chunk
                        ]
                    )
                    .returning(User.id)
                )
            ).all()
            user_ids = [row[0] for row in ids]
            await session.exec(
                sa.insert(UserRole).values([{"user_id": u, "role": "resident"} for u in user_ids])
            )
            roll_ids = (
                await session.exec(
                    sa.insert(RollEntry)
                    .values(
                        [
                            {
                                "process_id": process.id,
                                "reference_hash": keyed_hash(settings, "reference", process.id, e),
                                "birth_hash": keyed_hash(
                                    settings, "birth", process.id, "1980-01-01"
                                ),
                                "postcode_hash": keyed_hash(settings, "postcode", process.id, "X"),
                                "districts": json.dumps([district.id]),
                                "imported_at": now,
                            }
                            for e in chunk
                        ]
                    )
                    .returning(RollEntry.id)
                )
            ).all()
            await session.exec(
                sa.insert(Verification).values(
                    [
                        {
                            "process_id": process.id,
                            "user_id": u,
                            "roll_entry_id": r[0],
                            "verified_at": now,
                        }
                        for u, r in zip(user_ids, roll_ids, strict=True)
                    ]
                )
            )
        info = {
            "slug": process.slug,
            "district": district.id,
            "projects": projects,
            "emails": emails,
        }
    await engine.dispose()
    return info


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PB_ENV": "dev",
        "PB_DATABASE_URL": settings.database_url,
        "PB_SECRET_KEY": SECRET,
        "PB_ARGON2_TIME_COST": "1",
        "PB_ARGON2_MEMORY_COST": "32",
        "PB_LOGIN_MAX_FAILURES": "1000",
    }
    pb = ROOT / ".venv" / "bin" / "pb"
    command = [str(pb) if pb.exists() else "pb", "serve", "--workers", "2", "--port", str(port)]
    log = open(Path(tempfile.gettempdir()) / "pb-bench-cast-server.log", "wb")  # noqa: SIM115
    return subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


async def wait_ready(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
    raise SystemExit("the server did not start; see pb-bench-cast-server.log in the temp folder")


async def sign_in(base: str, emails: list[str], concurrency: int) -> list[tuple[str, str]]:
    """One signed-in session per resident: (Cookie header, CSRF token)."""
    out: list[tuple[str, str]] = [("", "")] * len(emails)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(emails)):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                page = await client.get("/login")
                token = _META_TOKEN.search(page.text).group(1)  # type: ignore[union-attr]
                r = await client.post(
                    "/login", data={"email": emails[i], "password": PASSWORD, "_csrf_token": token}
                )
                if r.status_code != 303:
                    raise SystemExit(f"sign-in failed for {emails[i]}: {r.status_code}")
                page = await client.get("/")
                token = _META_TOKEN.search(page.text).group(1)  # type: ignore[union-attr]
                cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
                out[i] = (cookie, token)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return out


async def drive_floor(
    client: httpx.AsyncClient,
    info: dict[str, object],
    sessions: list[tuple[str, str]],
    requests: int,
    clients: int,
) -> float:
    """Requests/s for a signed-in page that writes nothing (session, user, roles, one query, a
    template): the framework's floor on this machine, for comparison with casting."""
    url = f"/processes/{info['slug']}/receipt-check"
    counter = iter(range(requests))

    async def worker() -> None:
        for n in counter:
            cookie, _ = sessions[n % len(sessions)]
            r = await client.get(url, headers={"Cookie": cookie})
            client.cookies.clear()
            if r.status_code != 200:
                raise SystemExit(f"floor request failed: {r.status_code}")

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return requests / (time.perf_counter() - t0)


async def drive(
    client: httpx.AsyncClient,
    info: dict[str, object],
    sessions: list[tuple[str, str]],
    casts: int,
    clients: int,
    *,
    ramp: float = 0.0,
) -> tuple[float, list[float], list[str]]:
    """``casts`` casts from ``clients`` concurrent clients; ``ramp`` staggers their start (s)."""
    url = f"/processes/{info['slug']}/vote/{info['district']}/cast"
    projects: list[str] = info["projects"]  # type: ignore[assignment]
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(casts))

    async def worker(w: int) -> None:
        await asyncio.sleep(w * ramp)
        for n in counter:
            cookie, token = sessions[n % len(sessions)]
            choice = [projects[(n + k) % len(projects)] for k in range(3)]
            t0 = time.perf_counter()
            try:
                r = await client.post(
                    url,
                    data={"project": choice},
                    # An explicit Cookie header: the shared client's own jar is not used.
                    headers={"HX-Request": "true", "x-csrftoken": token, "Cookie": cookie},
                )
                client.cookies.clear()
                ok = r.status_code == 200 and 'id="receipt-code"' in r.text
                if not ok:
                    errors.append(f"{r.status_code}: {r.text[:120]!r}")
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(clients)))
    return time.perf_counter() - t0, latencies, errors


def pgbench(url: str, clients: int, seconds: int) -> str:
    exe = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    parts = urlsplit(url.replace("+asyncpg", ""))
    env = {**os.environ, "PGPASSWORD": parts.password or ""}
    conn = [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "pb",
    ]
    db = parts.path.lstrip("/")
    subprocess.run(
        ["psql", *conn, "-d", db, "-qc", "DROP TABLE IF EXISTS bench_insert; CREATE TABLE bench_insert (id bigserial primary key, v int)"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("INSERT INTO bench_insert (v) VALUES (1);\n")
    result = subprocess.run(
        [exe, *conn, "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", script.name, db],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    os.unlink(script.name)
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    return match.group(1) if match else f"pgbench failed: {result.stderr.strip()[:200]}"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("PB_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--casts", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    args = parser.parse_args()
    settings = bench_settings(args.url)
    await reset(settings)
    await asyncio.to_thread(migrate.upgrade, settings)
    t0 = time.perf_counter()
    info = await seed(settings, args.residents)
    print(f"seeded {args.residents} verified residents in {time.perf_counter() - t0:.1f} s")
    port = args.port or free_port()
    server = start_server(settings, port)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base)
        t0 = time.perf_counter()
        sessions = await sign_in(base, info["emails"], args.clients)  # type: ignore[arg-type]
        print(f"signed in {len(sessions)} residents in {time.perf_counter() - t0:.1f} s")
        limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            # Warm-up, opening the connections one by one so that both workers accept some.
            await drive(client, info, sessions, min(1000, args.casts), args.clients, ramp=0.05)
            elapsed, latencies, errors = await drive(
                client, info, sessions, args.casts, args.clients
            )
            floor = await drive_floor(client, info, sessions, min(5000, args.casts), args.clients)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    engine = create_engine(replace(settings), poolclass=NullPool)
    async with engine.connect() as conn:
        stored = (await conn.exec_driver_sql("SELECT count(*) FROM ballot")).scalar_one()
    await engine.dispose()
    rate = len(latencies) / elapsed
    tps = pgbench(args.url, args.clients, args.pgbench_seconds)
    print()
    print(
        "| clients | casts | ballots/s | p50 ms | p99 ms | errors | ballots stored "
        "| signed-in GET req/s | pgbench INSERT tps |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.clients} | {len(latencies)} | {rate:,.0f} | {pct(latencies, 0.50):.1f} | "
        f"{pct(latencies, 0.99):.1f} | {len(errors)} | {stored} | {floor:,.0f} | {tps} |"
    )
    if errors:
        print("first errors:", *errors[:5], sep="\n  ")


if __name__ == "__main__":
    asyncio.run(main())
