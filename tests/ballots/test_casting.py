"""Casting online and on paper, re-voting, phases, turnout and the bridge to the tally."""

from __future__ import annotations

import json

import pytest
from sqlmodel import func, select

from ballots import export, service
from ballots.models import Ballot
from ballots.verification import receipt_hash
from pb.audit import AuditEntry
from pb.errors import AlreadyVoted, Forbidden, InvalidBallot, NotEligible
from pb.processes import Phase, ProcessService, WrongPhase
from tally import VoteType
from tests.ballots.voting_city import build_city, import_default_roll, verify

pytestmark = pytest.mark.usefixtures("backend")


async def ballots(session) -> list[Ballot]:  # type: ignore[no-untyped-def]
    return list((await session.exec(select(Ballot).order_by(Ballot.id))).all())


async def ready(session, settings, **kwargs):  # type: ignore[no-untyped-def]
    city = await build_city(session, settings, **kwargs)
    await import_default_roll(session, settings, city)
    await verify(session, settings, city, city.voters[0], "R-002")
    return city


async def cast(session, settings, city, district, raw, user=None):  # type: ignore[no-untyped-def]
    return await service.cast_ballot(
        session,
        settings,
        process_id=city.process.id,
        district_id=district.id,
        user_id=(user or city.voters[0]).id,
        raw_ballot=raw,
    )


async def test_cast_stores_no_identity_and_a_receipt_hash(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await ready(db_session, settings)
    north = city.projects["north"]
    result = await cast(db_session, settings, city, city.north, [north[1], north[0]])
    [row] = await ballots(db_session)
    assert row.channel == "online"
    assert json.loads(row.content) == {"format": "knapsack", "projects": [north[0], north[1]]}
    assert row.receipt_hash == receipt_hash(result.receipt) != result.receipt
    user = city.voters[0]
    for column in (row.voter_pseudonym, row.content, row.receipt_hash):
        assert user.email not in column and column != str(user.id)
    entry = (
        await db_session.exec(select(AuditEntry).where(AuditEntry.action == "ballot.cast"))
    ).one()
    assert entry.actor_id is None and set(json.loads(entry.data)) == {"channel", "district_id"}
    assert await service.receipt_recorded(db_session, city.process.id, result.receipt)
    assert not await service.receipt_recorded(db_session, city.process.id, "AAAA-BBBB")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (["P-unknown"], "unknown-project"),
        ([], "too-few"),
        ("north", "malformed"),
    ],
)
async def test_invalid_ballots_store_nothing(db_session, settings, raw, code) -> None:  # type: ignore[no-untyped-def]
    city = await ready(db_session, settings)
    with pytest.raises(InvalidBallot) as info:
        await cast(db_session, settings, city, city.north, raw)
    assert info.value.code == code and info.value.status_code == 422
    assert await ballots(db_session) == []


async def test_over_budget_and_other_district_projects_are_refused(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await ready(db_session, settings)
    north, south = city.projects["north"], city.projects["south"]
    with pytest.raises(InvalidBallot, match="more than the 100 budget"):
        await cast(db_session, settings, city, city.north, [north[0], north[1], north[2]])
    with pytest.raises(InvalidBallot, match="not on this ballot"):
        await cast(db_session, settings, city, city.north, [south[1]])
    assert await ballots(db_session) == []


async def test_revote_replaces_the_ballot_and_the_receipt(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await ready(db_session, settings)
    north = city.projects["north"]
    first = await cast(db_session, settings, city, city.north, [north[0]])
    second = await cast(db_session, settings, city, city.north, [north[2]])
    [row] = await ballots(db_session)
    assert json.loads(row.content)["projects"] == [north[2]]
    assert row.receipt_hash == receipt_hash(second.receipt)
    assert not await service.receipt_recorded(db_session, city.process.id, first.receipt)
    # The other district is a separate ballot.
    await cast(db_session, settings, city, city.south, [city.projects["south"][0]])
    assert len(await ballots(db_session)) == 2


async def test_without_revote_the_first_ballot_stands(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await ready(db_session, settings, ballot_config={"format": "knapsack", "revote": False})
    north = city.projects["north"]
    await cast(db_session, settings, city, city.north, [north[0]])
    with pytest.raises(AlreadyVoted, match="does not allow changing"):
        await cast(db_session, settings, city, city.north, [north[2]])
    [row] = await ballots(db_session)
    assert json.loads(row.content)["projects"] == [north[0]]


async def test_unverified_wrong_district_and_under_age_voters_are_refused(
    db_session, settings
) -> None:  # type: ignore[no-untyped-def]
    city = await ready(db_session, settings)
    with pytest.raises(NotEligible, match="not verified"):
        await cast(
            db_session, settings, city, city.north, [city.projects["north"][0]], city.voters[1]
        )
    await verify(db_session, settings, city, city.voters[1], "R-003")
    with pytest.raises(NotEligible, match="not registered to vote in North"):
        await cast(
            db_session, settings, city, city.north, [city.projects["north"][0]], city.voters[1]
        )
    await verify(db_session, settings, city, city.voters[2], "R-004")
    with pytest.raises(NotEligible, match="minimum age"):
        await cast(
            db_session, settings, city, city.south, [city.projects["south"][0]], city.voters[2]
        )
    assert await ballots(db_session) == []


async def test_no_voting_outside_the_voting_phase(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await ready(db_session, settings)
    await ProcessService(db_session, settings).advance_phase(
        city.admin, city.process.id, Phase.CLOSED
    )
    with pytest.raises(WrongPhase, match="closed"):
        await cast(db_session, settings, city, city.north, [city.projects["north"][0]])


async def test_paper_and_online_never_double_count(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await ready(db_session, settings)
    north = city.projects["north"]

    async def paper(reference: str, district, raw, actor=None):  # type: ignore[no-untyped-def]
        return await service.cast_paper_ballot(
            db_session, settings, actor=actor or city.official, process_id=city.process.id,
            district_id=district.id, reference=reference, raw_ballot=raw,
        )  # fmt: skip

    # voter 0 holds R-002 and votes online first: the paper ballot is refused.
    await cast(db_session, settings, city, city.north, [north[0]])
    with pytest.raises(AlreadyVoted):
        await paper("R-002", city.north, [north[1]])
    # R-001 votes on paper, then verifies online: the online vote cannot replace it.
    await paper("r-001", city.north, [north[1]])
    await verify(db_session, settings, city, city.voters[1], "R-001")
    with pytest.raises(AlreadyVoted, match="paper ballot"):
        await cast(db_session, settings, city, city.north, [north[2]], city.voters[1])
    with pytest.raises(AlreadyVoted):
        await paper("R-001", city.north, [north[2]])
    with pytest.raises(NotEligible, match="not registered"):
        await paper("R-003", city.north, [north[2]])
    with pytest.raises(NotEligible, match="No entry"):
        await paper("R-999", city.north, [north[2]])
    with pytest.raises(InvalidBallot):
        await paper("R-003", city.south, [city.projects["south"][2]])  # 80 > 50
    with pytest.raises(Forbidden):
        await paper("R-003", city.south, [city.projects["south"][0]], city.voters[3])
    rows = await ballots(db_session)
    assert sorted(r.channel for r in rows) == ["online", "paper"]
    with pytest.raises(WrongPhase, match="after voting has closed"):
        await service.turnout(db_session, settings, city.official, city.process.id)
    await ProcessService(db_session, settings).advance_phase(
        city.admin, city.process.id, Phase.CLOSED
    )
    report = await service.turnout(db_session, settings, city.official, city.process.id)
    assert (report.online, report.paper, report.total) == (1, 1, 2)
    assert [(d.slug, on, pa) for d, on, pa in report.rows] == [("north", 1, 1), ("south", 0, 0)]
    with pytest.raises(Forbidden):
        await service.turnout(db_session, settings, city.voters[0], city.process.id)


async def test_load_election_collapses_identical_ballots(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await build_city(db_session, settings, voters=4)
    await import_default_roll(db_session, settings, city)
    north = city.projects["north"]
    await verify(db_session, settings, city, city.voters[0], "R-001")
    await verify(db_session, settings, city, city.voters[1], "R-002")
    await cast(db_session, settings, city, city.north, [north[1], north[2]], city.voters[0])
    await cast(db_session, settings, city, city.north, [north[2], north[1]], city.voters[1])
    election = await export.load_election(db_session, city.process.id, city.north.id)
    assert election.budget == 100
    assert [(p.id, p.cost) for p in election.projects] == [
        (north[0], 60),
        (north[1], 30),
        (north[2], 20),
    ]
    assert election.vote_type is VoteType.APPROVAL
    assert election.constraints.max_sum_cost == 100
    assert [(b.projects, b.weight) for b in election.ballots] == [((north[1], north[2]), 2)]
    rows = await export.ballot_rows(db_session, city.process.id, city.north.id)
    assert len(rows) == 2 and rows == sorted(rows, key=lambda r: r[0])
    assert rows[0][1]["projects"] == [north[1], north[2]]


async def test_load_election_for_cumulative_ballots_keeps_points(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await ready(
        db_session, settings, ballot_config={"format": "cumulative", "total_points": 10}
    )
    north = city.projects["north"]
    await cast(db_session, settings, city, city.north, {north[2]: 3, north[0]: 7})
    election = await export.load_election(db_session, city.process.id, city.north.id)
    assert election.vote_type is VoteType.CUMULATIVE
    [ballot] = election.ballots
    assert (ballot.projects, ballot.points) == ((north[0], north[2]), (7, 3))
    total = (await db_session.exec(select(func.count()).select_from(Ballot))).one()
    assert total == 1
