"""Casting benchmark: ballots per second over HTTP against ``pb serve --workers 2`` on PostgreSQL.

Steps: reset and migrate the benchmark database; seed a knapsack process in the voting phase with
``--residents`` verified residents (bulk inserts: accounts, roll entries, verifications); start
``pb serve --workers 2 --no-access-log``; sign every resident in beforehand (one session cookie
and CSRF token each); then drive the server with wrk (``--clients`` connections, 2 threads, a Lua
script that round-robins over the residents' cookies and tokens and counts every answer other
than the expected status) for ``--seconds`` each:

1. casts through the JSON API (``POST /api/processes/{id}/districts/{id}/ballots``, 201);
2. casts as the ballot page posts them with htmx (form fields, the receipt partial, 200);
3. a signed-in page that writes nothing (``GET …/receipt-check``), for comparison.

Re-voting replaces ballots. ``--repeat N`` measures the three routes N times in turn and also
shows each route's median run. Prints requests/s, p50/p99 latency, errors and the server's CPU time
per request, checks that every cast answered with a receipt has its audit entry and that the
audit chain verifies, then prints pgbench's single-row INSERT rate on the same server.

    .venv/bin/python bench/cast.py [--url postgresql+asyncpg://pb:pb@127.0.0.1:5432/pb_test_bench]
        [--residents 2000] [--seconds 15] [--clients 32] [--repeat 1] [--port N]

Needs ``wrk`` (Debian/Ubuntu: ``apt-get install wrk``) and ``pgbench`` (``postgresql-contrib``
or the server package). The database named by ``--url`` is wiped.
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
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ballots.models import RollEntry, Verification  # noqa: E402
from ballots.verification import keyed_hash  # noqa: E402
from pb import audit, migrate  # noqa: E402
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
            "process_id": process.id,
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
    command = [
        str(pb) if pb.exists() else "pb",
        "serve", "--workers", "2", "--port", str(port), "--no-access-log",
    ]  # fmt: skip
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


WRK_SCRIPT = r"""
-- Generated by bench/cast.py: round-robin over signed-in residents, count unexpected answers.
local sessions = {SESSIONS}
local method, path, expected = "{METHOD}", "{PATH}", {EXPECTED}
local bodies = {BODIES}
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  n = tid * 7919
  bad = 0
  first_bad = ""
end

function request()
  n = n + 1
  local s = sessions[(n % #sessions) + 1]
  local headers = {Cookie = s[1], ["x-csrftoken"] = s[2]}
  local body = nil
  if #bodies > 0 then
    body = bodies[(n % #bodies) + 1]
    headers["Content-Type"] = "{CONTENT_TYPE}"
    headers["HX-Request"] = "{HX}"
  end
  return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
  if status ~= expected then
    bad = bad + 1
    if first_bad == "" then
      first_bad = status .. " " .. (string.sub(body or "", 1, 160):gsub("%s+", " "))
    end
  end
end

function done(summary, latency, requests)
  local bad_total, first = 0, ""
  for _, t in ipairs(threads) do
    bad_total = bad_total + t:get("bad")
    if first == "" then first = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT %d %d %.1f %.1f %d %d %q\n",
    summary.requests, summary.duration, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, bad_total,
    e.connect + e.read + e.write + e.timeout, first))
end
"""


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def find_wrk() -> str:
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit(
            "bench/cast.py needs the HTTP load generator wrk (small, in C, so it takes little of "
            "the CPU the server needs).\n  Debian/Ubuntu: sudo apt-get install wrk\n"
            "  macOS: brew install wrk"
        )
    return exe


def run_wrk(
    base: str,
    sessions: list[tuple[str, str]],
    *,
    method: str,
    path: str,
    expected: int,
    bodies: list[str],
    content_type: str = "",
    htmx: bool = False,
    clients: int,
    seconds: int,
) -> dict[str, Any]:
    """Run wrk with ``clients`` connections on 2 threads; requests/s, p50/p99 ms, failures."""
    script = (
        WRK_SCRIPT.replace(
            "{SESSIONS}",
            "{" + ",".join(f"{{{lua_string(c)},{lua_string(t)}}}" for c, t in sessions) + "}",
        )
        .replace("{BODIES}", "{" + ",".join(lua_string(b) for b in bodies) + "}")
        .replace("{METHOD}", method)
        .replace("{PATH}", path)
        .replace("{EXPECTED}", str(expected))
        .replace("{CONTENT_TYPE}", content_type)
        .replace("{HX}", "true" if htmx else "false")
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        result = subprocess.run(
            [find_wrk(), "-t", str(min(2, clients)), "-c", str(clients), "-d", f"{seconds}s", "--timeout", "10s",
             "-s", handle.name, base],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    finally:
        os.unlink(handle.name)
    match = re.search(r'WRK_RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+) (\d+) (".*")', result.stdout)
    if match is None:
        raise SystemExit(f"wrk failed: {result.stdout[-500:]} {result.stderr[-500:]}")
    requests, micros = int(match.group(1)), int(match.group(2))
    return {
        "requests": requests,
        "rate": requests / (micros / 1e6),
        "p50": float(match.group(3)),
        "p99": float(match.group(4)),
        "bad": int(match.group(5)),
        "socket_errors": int(match.group(6)),
        "first_bad": match.group(7),
    }


def tree_cpu_seconds(root: int) -> float:
    """CPU time (user + system) used so far by process ``root`` and its descendants (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(used.get(pid, 0.0) for pid in tree)


def cast_bodies(info: dict[str, object], *, api: bool) -> list[str]:
    """A few different knapsack ballots (three projects each, always within the budget)."""
    projects: list[str] = info["projects"]  # type: ignore[assignment]
    bodies = []
    for n in range(len(projects)):
        choice = [projects[(n + k) % len(projects)] for k in range(3)]
        if api:
            bodies.append(json.dumps({"ballot": choice}))
        else:
            bodies.append("&".join(f"project={p}" for p in choice))
    return bodies


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
    return (
        f"{float(match.group(1)):,.0f}"
        if match
        else f"pgbench failed: {result.stderr.strip()[:200]}"
    )


async def check_store(settings: Settings) -> tuple[int, int, list[str]]:
    """Ballots stored, ``ballot.cast`` audit entries, and the audit chain's problems."""
    engine = create_engine(replace(settings), poolclass=NullPool)
    factory = make_session_factory(engine)
    async with session_scope(factory) as session:
        stored = (await session.exec(sa.text("SELECT count(*) FROM ballot"))).scalar_one()
        entries = (
            await session.exec(
                sa.text("SELECT count(*) FROM audit_entry WHERE action = 'ballot.cast'")
            )
        ).scalar_one()
        problems = await audit.verify_chain(session)
    await engine.dispose()
    return int(stored), int(entries), problems


def print_row(name: str, run: str, clients: int, r: dict[str, Any]) -> None:
    errors = r["bad"] + r["socket_errors"]
    print(
        f"| {name} | {run} | {clients} | {r['requests']:,} | {r['rate']:,.0f} | {r['p50']:.1f} | "
        f"{r['p99']:.1f} | {errors} | {r['cpu_ms']:.2f} |"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("PB_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=15, help="length of each measured run")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure each route this many times (median shown)"
    )
    args = parser.parse_args()
    find_wrk()
    settings = bench_settings(args.url)
    await reset(settings)
    await asyncio.to_thread(migrate.upgrade, settings)
    t0 = time.perf_counter()
    info = await seed(settings, args.residents)
    print(f"seeded {args.residents} verified residents in {time.perf_counter() - t0:.1f} s")
    port = args.port or free_port()
    server = start_server(settings, port)
    base = f"http://127.0.0.1:{port}"
    cast_api = f"/api/processes/{info['process_id']}/districts/{info['district']}/ballots"
    cast_form = f"/processes/{info['slug']}/vote/{info['district']}/cast"
    common = {"clients": args.clients, "seconds": args.seconds}
    try:
        await wait_ready(base)
        t0 = time.perf_counter()
        sessions = await sign_in(base, info["emails"], 16)  # type: ignore[arg-type]
        print(f"signed in {len(sessions)} residents in {time.perf_counter() - t0:.1f} s")
        api = {"method": "POST", "path": cast_api, "expected": 201,
               "bodies": cast_bodies(info, api=True), "content_type": "application/json"}  # fmt: skip
        warm = run_wrk(base, sessions, **api, clients=args.clients, seconds=3)
        load = os.getloadavg()[0]

        def measured(**options: Any) -> dict[str, Any]:
            cpu = tree_cpu_seconds(server.pid)
            result = run_wrk(base, sessions, **options, **common)
            result["cpu_ms"] = (tree_cpu_seconds(server.pid) - cpu) * 1000 / result["requests"]
            return result

        form_options = {
            "method": "POST", "path": cast_form, "expected": 200,
            "bodies": cast_bodies(info, api=False),
            "content_type": "application/x-www-form-urlencoded", "htmx": True,
        }  # fmt: skip
        page_options = {
            "method": "GET", "path": f"/processes/{info['slug']}/receipt-check",
            "expected": 200, "bodies": [],
        }  # fmt: skip
        rounds = [
            (measured(**api), measured(**form_options), measured(**page_options))
            for _ in range(args.repeat)
        ]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    stored, entries, problems = await check_store(settings)
    tps = pgbench(args.url, args.clients, args.pgbench_seconds)
    names = ("cast, JSON API", "cast, htmx form", "signed-in GET")
    accepted = sum(
        r["requests"] - r["bad"] for r in [warm, *(x for c, f, _ in rounds for x in (c, f))]
    )
    print()
    print(f"load average (1 min) just before the measured runs: {load:.2f}")
    print(
        "| route | run | clients | requests | req/s | p50 ms | p99 ms | errors "
        "| server CPU ms/req |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for column, name in enumerate(names):
        runs = [row[column] for row in rounds]
        for number, r in enumerate(runs, 1):
            print_row(name, str(number), args.clients, r)
        if len(runs) > 1:
            # The run with the median rate, as a whole (its latency and CPU belong to it).
            print_row(
                name, "median", args.clients, sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]
            )
    print()
    print(f"pgbench, single-row INSERT, {args.clients} clients, same server: {tps} tps")
    print()
    print(
        f"casts answered with a receipt: {accepted:,}; ballot.cast audit entries: {entries:,}; "
        f"ballots stored: {stored:,} (one per resident at most); "
        f"audit chain: {'intact' if not problems else problems[:3]}"
    )
    for row in rounds:
        for name, r in zip(names, row, strict=True):
            if r["bad"] or r["socket_errors"]:
                print(f"{name}: first unexpected answer: {r['first_bad']}")
    # wrk stops with up to --clients requests in flight per run; the server may still store
    # those casts (with their audit entries) without anyone reading the receipt.
    in_flight = (1 + 2 * args.repeat) * args.clients
    if problems or not accepted <= entries <= accepted + in_flight or stored > args.residents:
        raise SystemExit("the stored ballots or the audit log do not match the casts answered")


if __name__ == "__main__":
    asyncio.run(main())
