"""The official outcome beside the other standard rules, for the council before certifying.

Each rule runs on the very election that was counted, with the same tie-break; the comparison
says which projects each rule would add or drop relative to the official selection. A rule that
does not apply to the ballot type (Borda needs rankings) is listed with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tally
from tally.model import Election, Number, Outcome

__all__ = ["STANDARD_RULES", "RuleComparison", "compare"]

# Greedy (the usual city rule), Method of Equal Shares with the add1 completion (Wieliczka,
# Świecie, Assen), sequential Phragmén, and the welfare optimum.
STANDARD_RULES = ("greedy", "equalshares/add1", "seq-phragmen", "max-welfare", "borda-greedy")


@dataclass(frozen=True)
class RuleComparison:
    rule: str
    official: bool
    selected: tuple[str, ...] = ()
    total_cost: Number = 0
    added: tuple[str, ...] = ()  # selected by this rule, not by the official one
    dropped: tuple[str, ...] = ()  # selected officially, not by this rule
    error: str = ""

    @property
    def same(self) -> bool:
        return not self.error and not self.added and not self.dropped


def compare(
    election: Election,
    official: Outcome,
    tie_break: str,
    rules: tuple[str, ...] = STANDARD_RULES,
    params: dict[str, Any] | None = None,
) -> list[RuleComparison]:
    """The official rule first, then each other rule of ``rules`` that is registered."""
    chosen = set(official.selected)
    out = [RuleComparison(official.rule, True, official.selected, official.total_cost, (), (), "")]
    for rule in rules:
        if rule == official.rule or rule not in tally.RULES:
            continue
        try:
            outcome = tally.run(rule, election, tie_break, **(params or {}).get(rule, {}))
        except (ValueError, TypeError, KeyError) as exc:
            out.append(RuleComparison(rule, False, error=str(exc) or type(exc).__name__))
            continue
        mine = set(outcome.selected)
        out.append(
            RuleComparison(
                rule,
                False,
                outcome.selected,
                outcome.total_cost,
                tuple(p for p in outcome.selected if p not in chosen),
                tuple(p for p in official.selected if p not in mine),
            )
        )
    return out
