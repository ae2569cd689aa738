"""Imports flow one way: web → {results, consultations} → {proposals, ballots} → pb; anyone → tally.

Checked on the source (every import statement, including those inside functions), so a layer
cannot reach upwards even lazily. The kernel finds optional packages only by module name
(``pb.migrate.MODEL_MODULES``, ``pb.phase_guards.GUARD_MODULES``), never by import.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Which project packages each package may import (itself always).
ALLOWED: dict[str, set[str]] = {
    "tally": set(),
    "pb": {"tally"},
    "proposals": {"pb", "tally"},
    "ballots": {"pb", "proposals", "tally"},
    "results": {"pb", "proposals", "ballots", "tally"},
    "consultations": {"pb", "ballots", "results", "tally"},
    "web": {"pb", "proposals", "ballots", "results", "consultations", "tally"},
}
# Entry points that assemble the packages, each importing lazily inside a function.
COMPOSITION_ROOTS = {
    "pb/cli.py",  # the `pb` command attaches `verify` from results
    "pb/demo.py",  # `pb demo` seeds the whole demo city
    "proposals/demo.py",  # the demo's voting edition verifies its residents
    "pb/processes.py",  # checks a ballot configuration with ballots.formats when it is installed
}


def imported_packages(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_flow_one_way(package: str) -> None:
    project = set(ALLOWED)
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / package).rglob("*.py")
        if str(path.relative_to(ROOT)) not in COMPOSITION_ROOTS
        for name in imported_packages(path) & project
        if name != package and name not in ALLOWED[package]
    }
    assert not wrong, sorted(wrong)


def test_tally_uses_only_the_standard_library() -> None:
    outside = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "tally").rglob("*.py")
        for name in imported_packages(path)
        if name not in sys.stdlib_module_names and name not in ("tally", "__future__")
    }
    assert not outside, sorted(outside)


@pytest.mark.parametrize("root", sorted(COMPOSITION_ROOTS))
def test_each_exception_is_still_needed(root: str) -> None:
    # An entry that no longer reaches upwards must leave the list, so the list cannot hide a
    # new upward import in that file later.
    package = root.split("/", 1)[0]
    upward = imported_packages(ROOT / root) & set(ALLOWED) - ALLOWED[package] - {package}
    assert upward, f"{root} no longer needs to be an exception"
