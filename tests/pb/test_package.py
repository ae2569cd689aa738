"""``pb`` exposes its API lazily and does nothing heavy at import time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pb

ROOT = Path(__file__).resolve().parents[2]


def test_every_public_name_resolves():
    for name in pb.__all__:
        assert getattr(pb, name) is not None, name


def test_import_is_light():
    code = (
        "import sys, pb, pb.errors, pb.settings; "
        "heavy = [m for m in ('sqlalchemy', 'sqlmodel', 'argon2', 'litestar') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_cli_module_imports_without_a_database():
    subprocess.run([sys.executable, "-c", "import pb.cli"], cwd=ROOT, check=True)


def test_all_matches_the_lazy_exports():
    assert set(pb.__all__) == set(pb._EXPORTS) | {"__version__"}
