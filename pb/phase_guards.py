"""Checks other packages attach to phase changes, without the kernel importing them.

A guard is an async callable ``(session, process, target_phase)`` that raises a domain error when
the move must not happen. Results and consultations use it so that a process reaches
``certified`` only through their certification (which signs and stores a package first), and a
consultation cannot open without questions. The modules that declare guards are listed here and
imported on first use, like the models in ``pb.migrate``.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["GUARD_MODULES", "PhaseGuard", "check_phase_change", "phase_guard"]

GUARD_MODULES = ("results.guards", "consultations.guards")

PhaseGuard = Callable[[AsyncSession, Any, str], Awaitable[None]]
_guards: dict[tuple[str, str], list[PhaseGuard]] = {}
_loaded = False


def phase_guard(kind: str, target: str) -> Callable[[PhaseGuard], PhaseGuard]:
    """Register the decorated guard for moves of a process of ``kind`` into ``target``."""

    def register(fn: PhaseGuard) -> PhaseGuard:
        found = _guards.setdefault((str(kind), str(target)), [])
        if fn not in found:
            found.append(fn)
        return fn

    return register


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for name in GUARD_MODULES:
        importlib.import_module(name)  # every one exists: a missing one is a broken install
    _loaded = True


async def check_phase_change(session: AsyncSession, process: Any, target: str) -> None:
    """Run every guard for moving ``process`` into ``target``; the first refusal raises."""
    _load()
    for guard in _guards.get((str(process.kind), str(target)), ()):
        await guard(session, process, str(target))
