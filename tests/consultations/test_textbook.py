"""Instant-runoff and Schulze on textbook elections, cast as residents' responses end to end."""

from __future__ import annotations

from typing import Any

from consultations.service import ConsultationService
from pb.accounts import AccountService, Role
from pb.processes import Phase, ProcessService
from pb.settings import Settings
from tests.consultations.conftest import PASSWORD, FakeRoll

# Wikipedia, "Instant-runoff voting": Tennessee's capital, 100 voters (in per cent).
TENNESSEE = [
    (42, ["Memphis", "Nashville", "Chattanooga", "Knoxville"]),
    (26, ["Nashville", "Chattanooga", "Knoxville", "Memphis"]),
    (15, ["Chattanooga", "Knoxville", "Nashville", "Memphis"]),
    (17, ["Knoxville", "Chattanooga", "Nashville", "Memphis"]),
]
# Schulze (2011), section 3.1 / Wikipedia "Schulze method": 45 voters, result E > A > C > B > D.
SCHULZE_45 = [
    (5, "ACBED"),
    (5, "ADECB"),
    (8, "BEDAC"),
    (3, "CABED"),
    (7, "CAEBD"),
    (2, "CBADE"),
    (7, "DCEBA"),
    (8, "EBADC"),
]


async def _count(
    db_session: Any, settings: Settings, options: list[str], ballots: list[tuple[int, list[str]]]
) -> Any:
    admin = await AccountService(db_session, settings).create_user(
        "admin@textbook.pb", PASSWORD, {Role.ADMIN}
    )
    processes = ProcessService(db_session, settings)
    process = await processes.create(admin, {"name": "Textbook", "kind": "consultation"})
    district = await processes.add_district(admin, process.id, {"name": "All", "budget": 0})
    voters = sum(n for n, _ in ballots)
    roll = FakeRoll({1000 + i: frozenset({district.id}) for i in range(voters)})
    service = ConsultationService(db_session, settings, voter_right=roll)
    question = await service.add_question(
        admin,
        process.id,
        {
            "kind": "ranked",
            "prompt": "Rank them all",
            "options": "\n".join(options),
            "required": "1",
        },
    )
    ids = {o.label: o.id for o in (await service.options(process.id))[question.id]}
    await processes.advance_phase(admin, process.id, Phase.OPEN)
    voter = 1000
    for n, order in ballots:
        for _ in range(n):
            resident = type("Resident", (), {"id": voter})()
            ranks = {str(ids[label]): str(rank) for rank, label in enumerate(order, start=1)}
            await service.respond(resident, process.id, {question.id: ranks})  # type: ignore[arg-type]
            voter += 1
    await processes.advance_phase(admin, process.id, Phase.CLOSED)
    return (await service.results(process.id)).question(question.id)


async def test_tennessee_instant_runoff_rounds(db_session: Any, settings: Settings) -> None:
    result = await _count(
        db_session, settings, ["Memphis", "Nashville", "Chattanooga", "Knoxville"], TENNESSEE
    )
    irv = result.instant_runoff
    assert [(r.decision, r.project) for r in irv.rounds] == [
        ("eliminated", "Chattanooga"),
        ("eliminated", "Nashville"),
        ("elected", "Knoxville"),
    ]
    assert [dict(r.details["counts"]) for r in irv.rounds] == [
        {"Memphis": 42, "Nashville": 26, "Chattanooga": 15, "Knoxville": 17},
        {"Memphis": 42, "Nashville": 26, "Knoxville": 32},
        {"Memphis": 42, "Knoxville": 58},
    ]
    # The Condorcet winner, Nashville, wins under Schulze.
    assert result.schulze.ranking == ("Nashville", "Chattanooga", "Knoxville", "Memphis")
    assert [(o.label, o.count) for o in result.options] == [
        ("Memphis", 42),
        ("Nashville", 26),
        ("Chattanooga", 15),
        ("Knoxville", 17),
    ]


async def test_schulze_45_voter_example(db_session: Any, settings: Settings) -> None:
    ballots = [(n, list(order)) for n, order in SCHULZE_45]
    result = await _count(db_session, settings, list("ABCDE"), ballots)
    schulze = result.schulze
    assert schulze.ranking == tuple("EACBD")
    assert schulze.winners == ("E",)
    d = schulze.details["d"]
    # Pairwise counts from the paper: d[A][B] = 20, d[B][A] = 25, d[E][D] = 31, d[C][B] = 29.
    assert (d["A"]["B"], d["B"]["A"], d["E"]["D"], d["C"]["B"]) == (20, 25, 31, 29)
    p = schulze.details["p"]
    assert (p["E"]["A"], p["A"]["E"]) == (25, 24)
