"""``pb verify PACKAGE.zip``: check a certified package and re-count it.

First the container: the Ed25519 signature over ``manifest.json`` and the SHA-256 of every file
(``results.package.check_package``). Then the count, by the package's ``kind``: ``RECOUNTERS``
maps a kind to a ``"module:function"`` taking ``(manifest, files)`` and returning one line per
difference, so another kind of process plugs in without touching this module.

For a budgeting package, each district's ``.pb`` file is read, re-counted with the declared rule,
parameters and tie-break, and compared with ``results.json``: the selection, the total cost, and
the digest of the input (which proves the file holds exactly the ballots counted).
"""

from __future__ import annotations

import csv
import importlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import tally
from results.canonical import input_sha256, normalize, sha256_hex
from results.package import check_package
from tally import pabulib
from tally.model import to_jsonable

__all__ = ["RECOUNTERS", "VerifyReport", "recount_budgeting", "verify_package"]

Recounter = Callable[[dict[str, Any], dict[str, bytes]], list[str]]

RECOUNTERS: dict[str, str] = {
    "budgeting": "results.verify:recount_budgeting",
    "consultation": "consultations.package:recount",
}


@dataclass
class VerifyReport:
    problems: list[str]
    kind: str = ""
    public_key: str = ""
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _recounter(kind: str) -> Recounter | str:
    target = RECOUNTERS.get(kind)
    if target is None:
        return f"no re-count is known for packages of kind {kind!r}"
    module_name, _, name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError):
        return f"this pb cannot re-count {kind!r} packages ({target} is not installed)"


def verify_package(zip_bytes: bytes, public_key: str | None = None) -> VerifyReport:
    """Every problem with the package, one line each (an empty list means it checks out)."""
    check = check_package(zip_bytes, public_key)
    report = VerifyReport(list(check.problems), public_key=check.public_key, files=len(check.files))
    if check.manifest is None:
        return report
    kind = str(check.manifest.get("kind", ""))
    report.kind = kind
    if any(p.startswith("not a zip") for p in check.problems):
        return report
    recount = _recounter(kind)
    if isinstance(recount, str):
        report.problems.append(recount)
        return report
    # Re-count what is there even when a digest failed: the extra lines say what changed.
    try:
        report.problems += recount(check.manifest, check.files)
    except Exception as exc:  # noqa: BLE001  (a crafted package must give a line, not a traceback)
        report.problems.append(f"re-count failed: {type(exc).__name__}: {exc}")
    return report


# ------------------------------------------------------------------------------ budgeting


def _number(value: Any) -> Any:
    if isinstance(value, str):
        f = Fraction(value)
        return int(f) if f.denominator == 1 else f
    return value


def recount_budgeting(manifest: dict[str, Any], files: dict[str, bytes]) -> list[str]:
    """Re-count every district's ``.pb`` with the declared rule and compare with results.json."""
    problems: list[str] = []
    if "results.json" not in files:
        return ["results.json: missing or changed, nothing to compare the re-count with"]
    try:
        results = json.loads(files["results.json"].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return [f"results.json: unreadable ({exc})"]
    rule = results.get("rule_id", "")
    params = results.get("rule_params") or {}
    tie_break = results.get("tie_break", "")
    if rule not in tally.RULES:
        return [
            f"results.json: unknown rule {rule!r}; this pb can re-count "
            f"{', '.join(sorted(tally.RULES))}"
        ]
    if "config.json" in files:
        problems += _check_config(files["config.json"], results)
    for district in results.get("districts", []):
        problems += _recount_district(district, files, rule, params, tie_break)
    return problems


def _check_config(config_bytes: bytes, results: dict[str, Any]) -> list[str]:
    problems = []
    frozen = results.get("frozen_hash")
    if frozen and sha256_hex(config_bytes) != frozen:
        problems.append(
            "config.json: its SHA-256 is not the frozen configuration hash in results.json"
        )
    try:
        config = json.loads(config_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return problems + ["config.json: unreadable"]
    for key in ("rule_id", "rule_params", "tie_break"):
        declared = results.get(key)
        frozen_value = config.get(key)
        if key == "tie_break":
            frozen_value = str(tally.TieBreak.parse(frozen_value or ""))
            declared = str(tally.TieBreak.parse(declared or ""))
        if frozen_value != declared:
            problems.append(
                f"results.json: {key} {declared!r} is not the frozen configuration's {frozen_value!r}"
            )
    return problems


def _recount_district(
    district: dict[str, Any],
    files: dict[str, bytes],
    rule: str,
    params: dict[str, Any],
    tie_break: str,
) -> list[str]:
    name = district.get("file", "")
    label = district.get("name") or district.get("slug") or name
    if name not in files:
        return [f"{name or label}: missing or changed, district {label!r} not re-counted"]
    try:
        election = pabulib.read(files[name].decode("utf-8"))
    except (UnicodeDecodeError, pabulib.ParseError) as exc:
        return [f"{name}: unreadable ({exc})"]
    election = replace(
        election,
        exclusive_groups=tuple(frozenset(g) for g in district.get("exclusive_groups", [])),
        category_caps=tuple((k, _number(v)) for k, v in district.get("category_caps", [])),
    )
    election = normalize(election)
    problems: list[str] = []
    if input_sha256(election) != district.get("input_sha256"):
        problems.append(
            f"{name}: the ballots or projects are not the ones counted (input SHA-256 differs)"
        )
    try:
        outcome = tally.run(rule, election, tie_break, **params)
    except (ValueError, TypeError, KeyError) as exc:
        return problems + [f"{name}: cannot re-count with {rule!r}: {exc}"]
    declared = district.get("selected", [])
    if list(outcome.selected) != list(declared):
        missing = [p for p in declared if p not in outcome.selected]
        extra = [p for p in outcome.selected if p not in declared]
        what = []
        if extra:
            what.append(f"re-count selects {', '.join(extra)} which results.json does not")
        if missing:
            what.append(f"results.json selects {', '.join(missing)} which the re-count does not")
        if not what:
            what.append("same projects in a different order")
        problems.append(f"{label}: {'; '.join(what)}")
    if to_jsonable(outcome.total_cost) != district.get("total_cost"):
        problems.append(
            f"{label}: total cost {to_jsonable(outcome.total_cost)} re-counted, "
            f"results.json says {district.get('total_cost')}"
        )
    receipts = district.get("receipts")
    if receipts:
        problems += _check_receipts(receipts, files, election.num_voters)
    return problems


def _check_receipts(name: str, files: dict[str, bytes], voters: int) -> list[str]:
    if name not in files:
        return [f"{name}: missing or changed"]
    rows = list(csv.reader(io.StringIO(files[name].decode("utf-8", "replace"))))
    body = rows[1:]
    problems = []
    if len(body) != voters:
        problems.append(f"{name}: {len(body)} receipts for {voters} ballots")
    hashes = [r[1] for r in body if len(r) == 2]
    if len(set(hashes)) != len(hashes):
        problems.append(f"{name}: a receipt appears twice")
    return problems
