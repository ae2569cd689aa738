"""Processes: configuration, phase changes one step at a time, freezing and hashing at voting."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from sqlmodel import func, select

import tally
from pb import audit
from pb.errors import Conflict, Forbidden, InvalidInput, NotFound
from pb.processes import (
    PHASES,
    Phase,
    PhaseChange,
    Process,
    ProcessKind,
    ProcessService,
    WrongPhase,
    canonical_config,
    config_hash,
    format_money,
    is_frozen,
    money_input,
    next_phase,
    parse_money,
)
from tests.proposals.conftest import City


@pytest.fixture
def a_rule(monkeypatch: pytest.MonkeyPatch) -> str:
    """A registered rule id for processes that reach voting (the real one if it exists)."""
    if "greedy" not in tally.RULES:
        monkeypatch.setitem(tally.RULES, "greedy", lambda election, tie_break, **p: None)
    return "greedy"


def test_phase_sequences() -> None:
    assert PHASES[ProcessKind.BUDGETING] == (
        Phase.DRAFT,
        Phase.SUBMISSION,
        Phase.REVIEW,
        Phase.COSTING,
        Phase.VOTING,
        Phase.CLOSED,
        Phase.CERTIFIED,
    )
    assert PHASES[ProcessKind.CONSULTATION] == (
        Phase.DRAFT,
        Phase.OPEN,
        Phase.CLOSED,
        Phase.CERTIFIED,
    )
    assert next_phase("budgeting", "review") is Phase.COSTING
    assert next_phase("consultation", "draft") is Phase.OPEN
    assert next_phase("budgeting", "certified") is None
    assert not is_frozen("budgeting", "costing") and is_frozen("budgeting", "voting")
    assert is_frozen("consultation", "open") and not is_frozen("consultation", "draft")


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12500", "EUR", 1_250_000),
        ("12 500,5", "EUR", 1_250_050),
        ("0.07", "EUR", 7),
        ("1'000", "CHF", 100_000),
        ("1500", "JPY", 1500),
    ],
)
def test_parse_money(text: str, currency: str, minor: int) -> None:
    assert parse_money(text, currency) == minor
    assert parse_money(money_input(minor, currency), currency) == minor


@pytest.mark.parametrize("text", ["", "-5", "12.345", "1e3", "abc", "12,5.0", "15.5 JPY"])
def test_parse_money_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_money(text, "JPY" if "JPY" in text else "EUR")


def test_format_money() -> None:
    assert format_money(1_250_050, "EUR") == "12,500.50 EUR"
    assert format_money(50_000_000, "EUR") == "500,000 EUR"
    assert format_money(None, "EUR") == "—"


async def test_city_setup_is_audited(db_session: Any, city: City) -> None:
    entries = await audit.list_entries(db_session, subject=f"process:{city.process.id}", limit=100)
    actions = [e.action for e in reversed(entries)]
    assert actions[0] == "process.created"
    assert actions.count("process.district_added") == 3
    assert actions.count("process.category_added") == 2
    assert actions[-1] == "process.phase_changed"
    assert entries[0].data_dict() == {"from": "draft", "to": "submission"}
    assert not await audit.verify_chain(db_session)


async def test_only_admins_configure(db_session: Any, settings: Any, city: City) -> None:
    service = ProcessService(db_session, settings)
    for name in ("moderator", "valuator", "alice"):
        user = city.users[name]
        with pytest.raises(Forbidden):
            await service.create(user, {"name": "Sneaky process"})
        with pytest.raises(Forbidden):
            await service.advance_phase(user, city.process.id, Phase.REVIEW)
        with pytest.raises(Forbidden):
            await service.add_district(user, city.process.id, {"name": "East", "budget": 1})
    assert (await service.get(city.process.id)).phase == Phase.SUBMISSION


async def test_advance_only_to_the_next_phase(db_session: Any, settings: Any, city: City) -> None:
    service = ProcessService(db_session, settings)
    admin = city.users["admin"]
    for wrong in (Phase.COSTING, Phase.VOTING, Phase.DRAFT, Phase.SUBMISSION, Phase.OPEN):
        with pytest.raises(WrongPhase):
            await service.advance_phase(admin, city.process.id, wrong)
    with pytest.raises(InvalidInput):
        await service.advance_phase(admin, city.process.id, "party")
    process = await service.advance_phase(admin, city.process.id, Phase.REVIEW)
    assert process.phase == Phase.REVIEW
    history = await service.history(city.process.id)
    assert [(h.from_phase, h.to_phase) for h in history] == [
        ("draft", "submission"),
        ("submission", "review"),
    ]
    assert history[-1].actor_id == admin.id


async def test_entering_voting_freezes_and_hashes(
    db_session: Any, settings: Any, city: City, a_rule: str
) -> None:
    service = ProcessService(db_session, settings)
    admin = city.users["admin"]
    await service.advance_phase(admin, city.process.id, Phase.REVIEW)
    await service.advance_phase(admin, city.process.id, Phase.COSTING)
    with pytest.raises(InvalidInput, match="rule"):
        await service.advance_phase(admin, city.process.id, Phase.VOTING)
    assert (await service.get(city.process.id)).phase == Phase.COSTING  # nothing changed

    config = _config(city.process, rule_id=a_rule, tie_break="lower-cost")
    await service.update(admin, city.process.id, config)
    process = await service.advance_phase(admin, city.process.id, Phase.VOTING)
    districts = await service.districts(city.process.id)
    assert process.frozen_hash == config_hash(process, districts)
    assert process.frozen_hash == hashlib.sha256(canonical_config(process, districts)).hexdigest()
    doc = json.loads(canonical_config(process, districts))
    assert doc["rule_id"] == a_rule
    assert doc["tie_break"] == "lower-cost,project-id"
    assert [d["budget"] for d in doc["districts"]] == [50_000_000, 2_000_000, 1_500_000]
    assert await service.verify_frozen(process.id)
    entry = (await audit.list_entries(db_session, action="process.phase_changed", limit=1))[0]
    assert entry.data_dict()["frozen_hash"] == process.frozen_hash

    with pytest.raises(WrongPhase, match="frozen"):
        await service.update(admin, process.id, config | {"rule_id": a_rule, "min_age": 18})
    with pytest.raises(WrongPhase):
        await service.add_district(admin, process.id, {"name": "East", "budget": 5})
    with pytest.raises(WrongPhase):
        await service.update_district(
            admin, process.id, city.north.id, {"name": "North", "budget": 1}
        )
    with pytest.raises(WrongPhase):
        await service.add_category(admin, process.id, {"name": "Culture"})
    assert await service.verify_frozen(process.id)

    # Closing is a plain phase change; "certified" needs the signed package (results.guards).
    await service.advance_phase(admin, process.id, Phase.CLOSED)
    with pytest.raises(WrongPhase, match="certified from its results page"):
        await service.advance_phase(admin, process.id, Phase.CERTIFIED)
    assert (await service.get(process.id)).phase == Phase.CLOSED


def _config(process: Process, **changes: Any) -> dict[str, Any]:
    data = {
        "name": process.name,
        "description": process.description,
        "currency": process.currency,
        "min_age": process.min_age,
        "support_threshold": process.support_threshold,
        "flag_threshold": process.flag_threshold,
        "ballot_config": process.ballot_config_dict,
        "rule_id": process.rule_id,
        "rule_params": process.rule_params_dict,
        "tie_break": process.tie_break,
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rule_id": "coin-toss"}, "rule_id"),
        ({"tie_break": "alphabetical"}, "tie_break"),
        ({"ballot_config": {"format": "telepathy"}}, "ballot_config"),
        ({"ballot_config": "{not json"}, "ballot_config"),
        ({"ballot_config": [1, 2]}, "ballot_config"),
        ({"rule_params": "[]"}, "rule_params"),
        ({"currency": "euro"}, "currency"),
        ({"name": "  "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"min_age": -1}, "min_age"),
        ({"schedule": {"voting": "2026-05-01", "submission": "2026-06-01"}}, "schedule"),
        ({"schedule": {"open": "2026-05-01"}}, "schedule"),
    ],
)
async def test_bad_configuration(
    db_session: Any, settings: Any, city: City, changes: dict[str, Any], field: str
) -> None:
    service = ProcessService(db_session, settings)
    before = _config(await service.get(city.process.id))
    with pytest.raises(InvalidInput) as info:
        await service.update(city.users["admin"], city.process.id, _config(city.process, **changes))
    assert info.value.field == field
    assert _config(await service.get(city.process.id)) == before


async def test_bad_districts(db_session: Any, settings: Any, city: City) -> None:
    service = ProcessService(db_session, settings)
    admin = city.users["admin"]
    for data, field in [
        ({"name": "East", "budget": -1}, "budget"),
        ({"name": "East", "budget": 12.5}, "budget"),
        ({"name": "East", "budget": "12.5"}, "budget"),
        ({"name": "", "budget": 10}, "name"),
        ({"name": "East", "budget": 10, "slug": "Bad Slug"}, "slug"),
    ]:
        with pytest.raises(InvalidInput) as info:
            await service.add_district(admin, city.process.id, data)
        assert info.value.field == field
    with pytest.raises(Conflict):
        await service.add_district(admin, city.process.id, {"name": "North", "budget": 10})
    assert len(await service.districts(city.process.id)) == 3
    with pytest.raises(InvalidInput):
        await service.district(city.process.id, city.other_district.id)


async def test_slugs_are_unique(db_session: Any, settings: Any, city: City) -> None:
    service = ProcessService(db_session, settings)
    with pytest.raises(Conflict):
        await service.create(city.users["admin"], {"name": "Riverton 2026"})
    count = (await db_session.exec(select(func.count()).select_from(Process))).one()
    assert count == 2


async def test_drafts_are_not_listed(db_session: Any, settings: Any, city: City) -> None:
    service = ProcessService(db_session, settings)
    draft = await service.create(city.users["admin"], {"name": "Next year"})
    public = await service.list()
    assert draft.id not in {p.id for p in public}
    assert draft.id in {p.id for p in await service.list(include_drafts=True)}
    with pytest.raises(NotFound):
        await service.get(10_000)


async def test_consultation_phases(db_session: Any, settings: Any, city: City) -> None:
    service = ProcessService(db_session, settings)
    admin = city.users["admin"]
    consultation = await service.create(admin, {"name": "Park survey", "kind": "consultation"})
    await service.add_district(admin, consultation.id, {"name": "Whole city", "budget": 0})
    with pytest.raises(WrongPhase):
        await service.advance_phase(admin, consultation.id, Phase.SUBMISSION)
    # A consultation without questions cannot open (guard from consultations.guards).
    with pytest.raises(WrongPhase, match="at least one question"):
        await service.advance_phase(admin, consultation.id, Phase.OPEN)
    from consultations.service import ConsultationService

    await ConsultationService(db_session, settings).add_question(
        admin, consultation.id, {"kind": "yes_no", "prompt": "Should the park open later?"}
    )
    opened = await service.advance_phase(admin, consultation.id, Phase.OPEN)
    assert opened.phase == Phase.OPEN and opened.frozen_hash
    await service.advance_phase(admin, consultation.id, Phase.CLOSED)
    # "certified" is reached only through certification, which stores the signed package first.
    with pytest.raises(WrongPhase, match="certified from its results page"):
        await service.advance_phase(admin, consultation.id, Phase.CERTIFIED)
    assert (await service.get(consultation.id)).phase == Phase.CLOSED
    count = (
        await db_session.exec(
            select(func.count())
            .select_from(PhaseChange)
            .where(PhaseChange.process_id == consultation.id)
        )
    ).one()
    assert count == 2
