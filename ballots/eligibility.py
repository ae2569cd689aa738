"""Who may vote: pure predicates that answer yes or no with a plain-language reason.

Each check returns an ``Eligibility``; ``first_failure`` combines several so a page can show the
one thing that stops a resident. No I/O: callers pass in the roll entry, dates and phase.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The answer to "may this resident do this?", with the reason to show them."""

    ok: bool
    reason: str

    def __bool__(self) -> bool:
        return self.ok


def _as_date(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _long_date(d: date) -> str:
    """``1 March 2025``: fixed English month names, independent of the server's locale."""
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


LeapDayRule = Literal["march-1", "february-28"]


def anniversary(birth_date: date, years: int, leap_day: LeapDayRule = "march-1") -> date:
    """The date on which someone born on ``birth_date`` turns ``years`` old.

    For a 29 February birth in a common year the anniversary is 1 March by default (a person
    has completed the year only once 28 February has fully passed); ``leap_day="february-28"``
    follows the jurisdictions that count 28 February instead.
    """
    if leap_day not in ("march-1", "february-28"):
        raise ValueError(f"leap_day must be 'march-1' or 'february-28', not {leap_day!r}")
    year = birth_date.year + years
    if birth_date.month == 2 and birth_date.day == 29 and not calendar.isleap(year):
        return date(year, 3, 1) if leap_day == "march-1" else date(year, 2, 28)
    return birth_date.replace(year=year)


def check_age(
    birth_date: date, on_date: date, minimum_age: int, *, leap_day: LeapDayRule = "march-1"
) -> Eligibility:
    """At least ``minimum_age`` whole years old on ``on_date`` (the birthday itself counts)."""
    if isinstance(minimum_age, bool) or not isinstance(minimum_age, int) or minimum_age < 0:
        raise ValueError(f"minimum_age must be a whole number of years, not {minimum_age!r}")
    birth, on = _as_date(birth_date), _as_date(on_date)
    if birth > on:
        return Eligibility(False, f"The date of birth is after {_long_date(on)}.")
    reaches = anniversary(birth, minimum_age, leap_day)
    if reaches <= on:
        return Eligibility(True, f"Aged {minimum_age} or over on {_long_date(on)}.")
    return Eligibility(
        False,
        f"You must be at least {minimum_age} on {_long_date(on)}; "
        f"you turn {minimum_age} on {_long_date(reaches)}.",
    )


def check_district(eligible_districts: Collection[str], district: str) -> Eligibility:
    """The resident's roll entry lists ``district`` among the districts they may vote in."""
    if district in eligible_districts:
        return Eligibility(True, f"Registered to vote in {district}.")
    if not eligible_districts:
        return Eligibility(False, "You are not registered to vote in any district.")
    listed = ", ".join(sorted(eligible_districts))
    return Eligibility(
        False, f"You are not registered to vote in {district} (you may vote in: {listed})."
    )


def check_phase(phase: str, allowed: Collection[str]) -> Eligibility:
    """The process is in one of the ``allowed`` phases (phases may be ``StrEnum`` members)."""
    current = str(phase)
    names = sorted(str(p) for p in allowed)
    if current in names:
        return Eligibility(True, f"Allowed in the {current} phase.")
    if not names:
        return Eligibility(False, f"Not possible in the {current} phase.")
    return Eligibility(
        False, f"Not possible in the {current} phase (only during: {', '.join(names)})."
    )


def first_failure(checks: Iterable[Eligibility]) -> Eligibility:
    """The first failed check, or a success whose reason joins all the reasons."""
    reasons: list[str] = []
    for check in checks:
        if not check.ok:
            return check
        reasons.append(check.reason)
    return Eligibility(True, " ".join(reasons))
