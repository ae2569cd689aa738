"""Tie-breaking as a value: an ordered chain of criteria, ending in a total order.

Spelled as text so it can be stored with a result and re-used by ``pb verify``:
``lower-cost,more-supporters,project-id`` (the official MES chain: lower cost, then more
supporters, then project id in natural order), or ``lottery:SEED`` (a published seed: projects
ordered by SHA-256 of seed and id). Every chain ends with the project id, so the order is total
and the same inputs always give the same outcome.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from tally.model import Election, Project

CRITERIA = ("lower-cost", "higher-cost", "more-supporters", "fewer-supporters", "project-id")
DEFAULT = "lower-cost,more-supporters,project-id"
_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int, str], ...]:
    """``P2`` before ``P10``: digit runs compare as numbers, the rest as text."""
    return tuple(
        (0, int(chunk), "") if chunk.isdecimal() else (1, 0, chunk)
        for chunk in _DIGITS.split(text)
        if chunk
    )


@dataclass(frozen=True, slots=True)
class TieBreak:
    criteria: tuple[str, ...] = tuple(DEFAULT.split(","))
    seed: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> TieBreak:
        """Parse ``a,b,c`` or ``lottery:SEED``; raises ``ValueError`` naming the bad part."""
        if not text:
            return cls()
        if text.startswith("lottery:"):
            seed = text.removeprefix("lottery:")
            if not seed:
                raise ValueError("lottery tie-break needs a seed: lottery:SEED")
            return cls(criteria=("lottery",), seed=seed)
        parts = tuple(p.strip() for p in text.split(",") if p.strip())
        for p in parts:
            if p not in CRITERIA:
                raise ValueError(f"unknown tie-break criterion {p!r}; known: {', '.join(CRITERIA)}")
        if "project-id" not in parts:
            parts += ("project-id",)
        return cls(criteria=parts)

    def __str__(self) -> str:
        if self.seed is not None:
            return f"lottery:{self.seed}"
        return ",".join(self.criteria)

    def key_for(self, election: Election) -> Callable[[Project], tuple]:
        """A sort key: among tied projects, the smallest key wins."""
        if self.seed is not None:
            seed = self.seed.encode()
            return lambda p: (
                hashlib.sha256(seed + b"\0" + p.id.encode()).digest(),
                natural_key(p.id),
            )
        supporters = election.supporters
        parts: list[Callable[[Project], object]] = []
        for c in self.criteria:
            if c == "lower-cost":
                parts.append(lambda p: p.cost)
            elif c == "higher-cost":
                parts.append(lambda p: -p.cost)
            elif c == "more-supporters":
                parts.append(lambda p: -supporters[p.id])
            elif c == "fewer-supporters":
                parts.append(lambda p: supporters[p.id])
            elif c == "project-id":
                parts.append(lambda p: natural_key(p.id))
        return lambda p: tuple(f(p) for f in parts)

    def rank(self, election: Election) -> dict[str, int]:
        """Position of every project in the tie-break order (0 = preferred)."""
        key = self.key_for(election)
        ordered = sorted(election.projects, key=key)
        return {p.id: i for i, p in enumerate(ordered)}
