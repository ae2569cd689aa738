"""Tally benchmarks: parse, greedy, MES and MES add1 times and peak memory on the shared files.

Prints a Markdown table. Our side runs in a fresh subprocess per file (rule times measured after
parsing, wall clock, best of ``--repeat``; peak memory is the process's peak resident set size).
With pabutools installed and without ``--no-pabutools``, each pabutools rule runs in its own
subprocess (it parses the file itself) with a 10-minute timeout; results can be cached with
``--pabutools-cache`` so a long run is paid once.

    .venv/bin/python bench/tally.py [--no-pabutools] [--files A.pb B.pb ...] [--repeat N] [--cpu]

``--cpu`` times our side in process CPU time instead of wall clock: on a machine shared with
other jobs it moves less from run to run.

pabutools figures are cached in ``var/bench-pabutools.json`` (``--pabutools-cache``); delete the
file to measure them again (about two hours for all files).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "pabulib"
if not DATA.exists():  # the shared data folder beside the checkout, or an explicit --data
    DATA = Path("/work/shared/data/pabulib")
PABUTOOLS_TIMEOUT = 600
HEADLINE = (
    "Poland_Lodz_2022.pb",
    "Poland_Warszawa_2026.pb",
    "Poland_Warszawa_2020_Praga-Poludnie.pb",
    "Poland_Wroclaw_2015_150_-_500.pb",
    "Poland_Krakow_2024.pb",
)
RULES = ("greedy", "mes", "add1")


# --------------------------------------------------------------------------- pabutools side


def _pabutools_worker(path: str, rule: str) -> None:
    """Run one pabutools rule on one file and print a JSON line (runs in a subprocess)."""
    from pabutools.election import (
        Additive_Borda_Sat,
        Additive_Cardinal_Sat,
        Cost_Sat,
        parse_pabulib,
    )
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

    t0 = time.perf_counter()
    instance, profile = parse_pabulib(path)
    parse_s = time.perf_counter() - t0
    vote_type = instance.meta["vote_type"]
    if vote_type in ("approval", "choose-1"):
        sat = Cost_Sat  # MES with cost utilities; greedy by approvals (score/cost = votes)
        greedy_sat = Cost_Sat
    elif vote_type == "ordinal":
        sat = greedy_sat = Additive_Borda_Sat
    else:
        sat = greedy_sat = Additive_Cardinal_Sat
    t0 = time.perf_counter()
    if rule == "greedy":
        out = greedy_utilitarian_welfare(instance, profile, sat_class=greedy_sat)
    elif rule == "mes":
        out = method_of_equal_shares(instance, profile, sat_class=sat)
    elif rule == "add1":
        out = method_of_equal_shares(instance, profile, sat_class=sat, voter_budget_increment=1)
    else:
        raise SystemExit(f"unknown rule {rule}")
    rule_s = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "parse": parse_s,
                "time": rule_s,
                "peak_mb": peak_mb,
                "selected": sorted(p.name for p in out),
            }
        )
    )


def run_pabutools(path: Path, rule: str, timeout: int = PABUTOOLS_TIMEOUT) -> dict:
    """One pabutools measurement in a subprocess; ``{"skipped": reason}`` on timeout or error."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--pabutools-worker", str(path), rule]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"skipped": f"> {timeout // 60} min"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["error"])[-1]
        return {"skipped": f"error: {last[:60]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def pabutools_results(files: list[Path], cache: Path | None, timeout: int) -> dict[str, dict]:
    """pabutools figures per ``file|rule``, read from and written to ``cache`` when given."""
    results: dict[str, dict] = {}
    if cache is not None and cache.exists():
        results = json.loads(cache.read_text())
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
    for path in files:
        for rule in RULES:
            key = f"{path.name}|{rule}"
            if key in results:
                continue
            results[key] = run_pabutools(path, rule, timeout)
            print(f"  pabutools {path.name} {rule}: {results[key]}", file=sys.stderr, flush=True)
            if cache is not None:
                cache.write_text(json.dumps(results, indent=1, sort_keys=True))
    return results


# --------------------------------------------------------------------------- our side


def _ours_worker(path: str, repeat: int, clock: str = "wall") -> None:
    """Parse and run greedy, MES and MES add1 (default tie-break) in this fresh process; print a
    JSON line: best-of-``repeat`` times in seconds (wall clock, or process CPU time with
    ``clock="cpu"``), and the process's peak RSS in MB."""
    now = time.process_time if clock == "cpu" else time.perf_counter
    sys.path.insert(0, str(ROOT))
    import tally
    from tally import pabulib

    text = Path(path).read_text(encoding="utf-8")
    row: dict = {}
    rules = (("greedy", "greedy"), ("mes", "equalshares"), ("add1", "equalshares/add1"))
    for _ in range(repeat):  # a fresh parse each time: nothing cached on the election
        gc.collect()
        t0 = now()
        election = pabulib.read(text)
        row["parse"] = min(row.get("parse", 1e9), now() - t0)
        for name, rule_id in rules:
            gc.collect()
            t0 = now()
            outcome = tally.run(rule_id, election)
            row[name] = min(row.get(name, 1e9), now() - t0)
            row[f"{name}_selected"] = sorted(outcome.selected)
            if name == "add1":
                row["add1_trials"] = sum(1 for r in outcome.rounds if r.decision == "tried")
    row["voters"] = election.num_voters
    row["ballots"] = len(election.ballots)
    row["projects"] = len(election.projects)
    row["vote_type"] = str(election.vote_type)
    row["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(row))


def run_ours(path: Path, repeat: int, clock: str = "wall") -> dict:
    """Our figures for one file, measured in a fresh subprocess (clean peak memory)."""
    here = str(Path(__file__).resolve())
    cmd = [sys.executable, here, "--ours-worker", str(path), str(repeat), clock]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- table


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _pt(res: dict | None, field: str = "time") -> str:
    if res is None:
        return "–"
    if "skipped" in res:
        return f"skipped: {res['skipped']}"
    return _fmt(res[field])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-pabutools", action="store_true", help="only measure our implementation")
    ap.add_argument("--files", nargs="+", help="file names (in the data folder) or paths")
    ap.add_argument("--data", type=Path, default=DATA, help="folder of .pb files")
    ap.add_argument(
        "--pabutools-cache",
        type=Path,
        default=ROOT / "var" / "bench-pabutools.json",
        help="JSON file caching pabutools results (default: var/bench-pabutools.json)",
    )
    ap.add_argument(
        "--pabutools-only", action="store_true", help="only run pabutools (fill the cache)"
    )
    ap.add_argument("--timeout", type=int, default=PABUTOOLS_TIMEOUT, help="pabutools timeout (s)")
    ap.add_argument("--repeat", type=int, default=1, help="best of N runs for our timings")
    ap.add_argument(
        "--cpu", action="store_true", help="time our side in process CPU time, not wall clock"
    )
    ap.add_argument("--pabutools-worker", nargs=2, metavar=("FILE", "RULE"), help=argparse.SUPPRESS)
    ap.add_argument(
        "--ours-worker", nargs=3, metavar=("FILE", "REPEAT", "CLOCK"), help=argparse.SUPPRESS
    )
    args = ap.parse_args(argv)
    if args.pabutools_worker:
        _pabutools_worker(*args.pabutools_worker)
        return 0
    if args.ours_worker:
        _ours_worker(args.ours_worker[0], int(args.ours_worker[1]), args.ours_worker[2])
        return 0

    if args.files:
        files = [Path(f) if Path(f).exists() else args.data / f for f in args.files]
    else:
        rest = sorted(p for p in args.data.glob("*.pb") if p.name not in HEADLINE)
        files = [args.data / f for f in HEADLINE] + rest
    pabu: dict[str, dict] = {}
    if not args.no_pabutools:
        try:
            import pabutools  # noqa: F401
        except ImportError:
            print("pabutools not installed: skipping the comparison", file=sys.stderr)
            args.no_pabutools = True
        else:
            pabu = pabutools_results(files, args.pabutools_cache, args.timeout)
    if args.pabutools_only:
        return 0

    head = (
        "| file | type | voters (distinct ballots) | projects | parse | greedy | MES | MES add1"
        " (budgets tried) | peak RSS |"
    )
    if not args.no_pabutools:
        head += (
            " pabutools parse | pabutools greedy | pabutools MES | pabutools add1 | same MES set |"
        )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for path in files:
        row = run_ours(path, args.repeat, "cpu" if args.cpu else "wall")
        cells = [
            f"`{path.name.removesuffix('.pb')}`",
            row["vote_type"],
            f"{row['voters']:,} ({row['ballots']:,})",
            str(row["projects"]),
            _fmt(row["parse"]),
            _fmt(row["greedy"]),
            _fmt(row["mes"]),
            f"{_fmt(row['add1'])} ({row['add1_trials']})",
            f"{row['peak_mb']:.0f} MB",
        ]
        if not args.no_pabutools:
            g = pabu.get(f"{path.name}|greedy")
            m = pabu.get(f"{path.name}|mes")
            a = pabu.get(f"{path.name}|add1")
            parse = next((r for r in (g, m, a) if r and "parse" in r), None)
            same = "–"
            if m and "selected" in m and row["vote_type"] in ("approval", "choose-1"):
                same = "yes" if m["selected"] == row["mes_selected"] else "no"
            cells += [_pt(parse, "parse"), _pt(g), _pt(m), _pt(a), same]
        print("| " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
