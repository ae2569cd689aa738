"""A consultation with one question of every kind, residents and a stand-in for verification.

``FakeRoll`` plays the voting package's ``voter_right`` so service tests choose each resident's
districts directly; tests of the real wiring verify residents with voting codes instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from consultations.models import ConsultationOption, ConsultationQuestion
from consultations.service import ConsultationService
from pb.accounts import AccountService, Role, User
from pb.errors import NotEligible
from pb.processes import District, Phase, Process, ProcessService
from pb.settings import Settings

PASSWORD = "Tulip-garden-42-quiet"


@dataclass(frozen=True)
class Right:
    process_id: int
    districts: frozenset[int]
    pseudonym: str


@dataclass
class FakeRoll:
    """``user id → districts``; anyone else is not eligible."""

    rights: dict[int, frozenset[int]] = field(default_factory=dict)

    async def __call__(
        self, session: Any, settings: Settings, process_id: int, user_id: int
    ) -> Right:
        if user_id not in self.rights:
            raise NotEligible("Not on the roll.")
        return Right(process_id, self.rights[user_id], f"pseudonym-{process_id}-{user_id}")


@dataclass
class Survey:
    users: dict[str, User]
    process: Process
    north: District
    south: District
    roll: FakeRoll
    q: dict[str, ConsultationQuestion]
    o: dict[str, dict[str, ConsultationOption]]

    def service(self, db_session: Any, settings: Settings) -> ConsultationService:
        return ConsultationService(db_session, settings, voter_right=self.roll)


QUESTIONS: list[tuple[str, dict[str, Any]]] = [
    ("park", {"kind": "yes_no", "prompt": "Should the old depot become a park?", "required": True}),
    (
        "day",
        {
            "kind": "single",
            "prompt": "Which day should the market move to?",
            "options": "Saturday\nSunday\nWednesday",
            "required": True,
        },
    ),
    (
        "sports",
        {
            "kind": "multiple",
            "prompt": "Which sports facilities do you use?",
            "options": "Pool\nTrack\nCourts\nGym",
            "min": "1",
            "max": "2",
            "required": False,
        },
    ),
    (
        "priorities",
        {
            "kind": "ranked",
            "prompt": "Rank the priorities for the river bank.",
            "options": "Trees\nBenches\nLights\nPlayground",
            "top_k": "3",
            "required": True,
        },
    ),
    (
        "satisfaction",
        {
            "kind": "scale",
            "prompt": "How satisfied are you with bus service?",
            "points": "5",
            "labels": "1 = Not at all\n5 = Very",
            "required": True,
        },
    ),
    (
        "comment",
        {
            "kind": "text",
            "prompt": "Anything else to tell the council?",
            "max_length": "40",
            "required": False,
        },
    ),
]


@pytest.fixture
async def survey(db_session: Any, settings: Settings) -> Survey:
    accounts = AccountService(db_session, settings)
    users = {}
    for name, roles in {
        "admin": {Role.ADMIN},
        "moderator": {Role.MODERATOR},
        "alice": set(),
        "bob": set(),
        "carol": set(),
        "dave": set(),
    }.items():
        users[name] = await accounts.create_user(f"{name}@survey.pb", PASSWORD, roles)
    processes = ProcessService(db_session, settings)
    admin = users["admin"]
    process = await processes.create(admin, {"name": "Riverton asks", "kind": "consultation"})
    north = await processes.add_district(admin, process.id, {"name": "North", "budget": 0})
    south = await processes.add_district(admin, process.id, {"name": "South", "budget": 0})
    roll = FakeRoll(
        {
            users["alice"].id: frozenset({north.id}),
            users["bob"].id: frozenset({south.id}),
            users["carol"].id: frozenset({north.id, south.id}),
        }
    )
    service = ConsultationService(db_session, settings, voter_right=roll)
    q: dict[str, ConsultationQuestion] = {}
    for key, values in QUESTIONS:
        q[key] = await service.add_question(admin, process.id, values)
    options = await service.options(process.id)
    o = {
        key: {opt.label: opt for opt in options.get(question.id, [])} for key, question in q.items()
    }
    # A conditional question, and one for the North only.
    q["why"] = await service.add_question(
        admin,
        process.id,
        {
            "kind": "text",
            "prompt": "Why not a park?",
            "required": True,
            "condition_question_id": q["park"].id,
            "condition_option_id": o["park"]["No"].id,
        },
    )
    q["north_only"] = await service.add_question(
        admin,
        process.id,
        {
            "kind": "yes_no",
            "prompt": "Close North Street to cars on Sundays?",
            "district_id": north.id,
            "required": True,
        },
    )
    o["north_only"] = {
        opt.label: opt for opt in (await service.options(process.id))[q["north_only"].id]
    }
    return Survey(users, process, north, south, roll, q, o)


@pytest.fixture
def advance(
    db_session: Any, settings: Settings, survey: Survey
) -> Callable[[Phase], Awaitable[None]]:
    async def to(phase: Phase) -> None:
        processes = ProcessService(db_session, settings)
        while (current := await processes.get(survey.process.id)).phase != phase:
            await processes.advance_phase(
                survey.users["admin"], survey.process.id, current.next_phase
            )

    return to


def full_answers(s: Survey, *, north: bool = True) -> dict[int, Any]:
    """A valid response for a North resident (or South when ``north`` is False)."""
    answers: dict[int, Any] = {
        s.q["park"].id: str(s.o["park"]["Yes"].id),
        s.q["day"].id: str(s.o["day"]["Sunday"].id),
        s.q["sports"].id: [str(s.o["sports"]["Pool"].id), str(s.o["sports"]["Gym"].id)],
        s.q["priorities"].id: {
            str(s.o["priorities"]["Trees"].id): "1",
            str(s.o["priorities"]["Lights"].id): "2",
        },
        s.q["satisfaction"].id: "4",
        s.q["comment"].id: "More buses at night.",
    }
    if north:
        answers[s.q["north_only"].id] = str(s.o["north_only"]["Yes"].id)
    return answers
