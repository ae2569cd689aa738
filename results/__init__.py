"""Results: counting a closed vote, result pages' data, certification and signed packages.

Names are imported lazily on first use, so ``import results`` does no work and no I/O; the
submodules are importable directly too (``results.service``, ``results.package``, …).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # the count and certification
    "ResultService": "results.service",
    "run_tally": "results.service",
    "tally_process": "results.service",
    "recount": "results.service",
    "explain_project": "results.service",
    "ProcessResult": "results.models",
    "DistrictResult": "results.models",
    "SignOff": "results.models",
    "CertifiedPackage": "results.models",
    "ResultStatus": "results.models",
    # signed packages (shared with consultations)
    "build_package": "results.package",
    "read_package": "results.package",
    "check_package": "results.package",
    "PackageError": "results.package",
    "verify_package": "results.verify",
    "RECOUNTERS": "results.verify",
    # pure helpers
    "election_json": "results.canonical",
    "input_sha256": "results.canonical",
    "normalize": "results.canonical",
    "compare": "results.compare",
    "district_chart": "results.charts",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'results' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
