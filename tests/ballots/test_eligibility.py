"""Eligibility predicates: age on the vote date (birthdays, 29 February), district, phase."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from ballots.eligibility import (
    Eligibility,
    anniversary,
    check_age,
    check_district,
    check_phase,
    first_failure,
)

VOTE_DAY = date(2025, 5, 12)


def test_sixteenth_birthday_on_the_vote_date_counts() -> None:
    result = check_age(date(2009, 5, 12), VOTE_DAY, 16)
    assert result == Eligibility(True, "Aged 16 or over on 12 May 2025.")
    assert bool(result)


def test_one_day_short() -> None:
    result = check_age(date(2009, 5, 13), VOTE_DAY, 16)
    assert not result
    assert result.reason == ("You must be at least 16 on 12 May 2025; you turn 16 on 13 May 2025.")


def test_one_day_over() -> None:
    assert check_age(date(2009, 5, 11), VOTE_DAY, 16).ok


def test_end_of_year_birthday() -> None:
    assert not check_age(date(2008, 12, 31), date(2024, 12, 30), 16).ok
    assert check_age(date(2008, 12, 31), date(2024, 12, 31), 16).ok


def test_leap_day_birth_in_a_common_year_turns_on_1_march() -> None:
    born = date(2008, 2, 29)
    assert not check_age(born, date(2025, 2, 28), 17).ok
    assert check_age(born, date(2025, 3, 1), 17).ok
    assert check_age(born, date(2025, 2, 28), 17).reason.endswith("you turn 17 on 1 March 2025.")


def test_leap_day_birth_in_a_leap_year_turns_on_29_february() -> None:
    born = date(2008, 2, 29)
    assert not check_age(born, date(2024, 2, 28), 16).ok
    assert check_age(born, date(2024, 2, 29), 16).ok


def test_leap_day_rule_february_28() -> None:
    born = date(2008, 2, 29)
    assert check_age(born, date(2025, 2, 28), 17, leap_day="february-28").ok
    assert anniversary(born, 17, "february-28") == date(2025, 2, 28)
    assert anniversary(born, 17) == date(2025, 3, 1)
    with pytest.raises(ValueError):
        anniversary(born, 17, "march-2")  # type: ignore[arg-type]


def test_minimum_age_zero_and_born_after_the_date() -> None:
    assert check_age(VOTE_DAY, VOTE_DAY, 0).ok
    late = check_age(date(2025, 6, 1), VOTE_DAY, 0)
    assert not late.ok and late.reason == "The date of birth is after 12 May 2025."


def test_datetimes_are_read_as_dates() -> None:
    assert check_age(datetime(2009, 5, 12, 23, 59), datetime(2025, 5, 12, 0, 1), 16).ok


@pytest.mark.parametrize("bad", [-1, 1.5, True, "16"])
def test_bad_minimum_age(bad: object) -> None:
    with pytest.raises(ValueError):
        check_age(date(2000, 1, 1), VOTE_DAY, bad)  # type: ignore[arg-type]


def test_district() -> None:
    assert check_district({"north", "city-wide"}, "north") == Eligibility(
        True, "Registered to vote in north."
    )
    no = check_district({"south", "city-wide"}, "north")
    assert not no.ok
    assert no.reason == (
        "You are not registered to vote in north (you may vote in: city-wide, south)."
    )
    assert check_district(set(), "north").reason == (
        "You are not registered to vote in any district."
    )


def test_phase() -> None:
    assert check_phase("voting", {"voting"}).ok
    closed = check_phase("review", ("voting", "closed"))
    assert not closed.ok
    assert closed.reason == "Not possible in the review phase (only during: closed, voting)."
    assert not check_phase("draft", ()).ok


def test_first_failure() -> None:
    ok_age = check_age(date(2000, 1, 1), VOTE_DAY, 16)
    bad_district = check_district({"south"}, "north")
    bad_phase = check_phase("review", {"voting"})
    assert first_failure([ok_age, bad_district, bad_phase]) == bad_district
    combined = first_failure([ok_age, check_phase("voting", {"voting"})])
    assert combined.ok
    assert combined.reason == "Aged 16 or over on 12 May 2025. Allowed in the voting phase."
