"""Rule ids → rule functions. Ids are kebab-case and match pabulib's META ``rule`` where one exists.

Every rule has one signature: ``rule(election, tie_break, **params) -> Outcome``.
Rule modules register themselves with ``@register("id")``; ``tally/__init__`` imports them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tally.model import Election, Outcome
from tally.tiebreak import TieBreak

Rule = Callable[..., Outcome]
RULES: dict[str, Rule] = {}


class UnknownRule(KeyError):
    def __str__(self) -> str:
        return f"unknown rule {self.args[0]!r}; known: {', '.join(sorted(RULES))}"


def register(rule_id: str) -> Callable[[Rule], Rule]:
    def wrap(fn: Rule) -> Rule:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id!r} registered twice")
        RULES[rule_id] = fn
        return fn

    return wrap


def run(
    rule_id: str, election: Election, tie_break: TieBreak | str | None = None, **params: Any
) -> Outcome:
    """Run a registered rule; ``tie_break`` may be a ``TieBreak`` or its text form."""
    if rule_id not in RULES:
        raise UnknownRule(rule_id)
    tb = tie_break if isinstance(tie_break, TieBreak) else TieBreak.parse(tie_break)
    return RULES[rule_id](election, tb, **params)
