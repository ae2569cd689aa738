"""Demo consultations for ``pb demo``, built through the same services the pages use.

- *Riverton asks: summer 2026* is open, with one question of every kind (a conditional one and
  one for the North only), so a demo resident can verify with a code and answer.
- *Riverton asks: the river bank* is closed, answered by the demo residents (verified with voting
  codes), so its results page shows counts, a scale, instant-runoff rounds and Schulze.

Seeding twice changes nothing: an existing slug is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from consultations.service import ConsultationService
from pb.accounts import User
from pb.processes import Phase, Process, ProcessService
from pb.settings import Settings

__all__ = ["seed_consultations"]

OPEN_SLUG = "riverton-asks-summer-2026"
CLOSED_SLUG = "riverton-asks-river-bank"

QUESTIONS: tuple[dict[str, Any], ...] = (
    {"kind": "yes_no", "prompt": "Should the old depot become a park?", "required": "1"},
    {
        "kind": "single",
        "prompt": "Which day should the weekly market move to?",
        "options": "Saturday\nSunday\nWednesday",
        "required": "1",
    },
    {
        "kind": "multiple",
        "prompt": "Which sports facilities do you use?",
        "options": "Swimming pool\nRunning track\nTennis courts\nGym",
        "min": "1",
        "max": "2",
    },
    {
        "kind": "ranked",
        "prompt": "Rank the priorities for the river bank.",
        "options": "Trees\nBenches\nLights\nPlayground",
        "top_k": "3",
        "required": "1",
    },
    {
        "kind": "scale",
        "prompt": "How satisfied are you with the bus service?",
        "points": "5",
        "labels": "1 = Not at all\n3 = Neutral\n5 = Very satisfied",
        "required": "1",
    },
    {"kind": "text", "prompt": "Anything else you want to tell the council?", "max_length": "500"},
)


async def seed_consultations(
    session: AsyncSession, settings: Settings, users: Mapping[str, User]
) -> str:
    """Create the demo consultations; ``users`` maps role names and demo residents to users."""
    admin = users["admin"]
    made = []
    if await _absent(session, OPEN_SLUG):
        process, _, _ = await _consultation(
            session, settings, admin, OPEN_SLUG, "Riverton asks: summer 2026"
        )
        if "resident" in users:  # ready to answer: verified with a code nobody else has
            await _verify(session, settings, admin, process.id, [users["resident"]])
        made.append("one open (resident@demo.pb is verified)")
    if await _absent(session, CLOSED_SLUG):
        residents = [
            u
            for key, u in users.items()
            if key not in ("admin", "moderator", "valuator", "official")
        ]
        await _answered(session, settings, admin, residents)
        made.append("one closed with answers")
    return f"consultations: {', '.join(made)}" if made else "demo consultations already present"


async def _absent(session: AsyncSession, slug: str) -> bool:
    return (await session.exec(select(Process.id).where(Process.slug == slug))).first() is None


async def _consultation(
    session: AsyncSession, settings: Settings, admin: User, slug: str, name: str
) -> tuple[Process, dict[str, int], dict[str, int]]:
    processes = ProcessService(session, settings)
    process = await processes.create(
        admin,
        {
            "name": name,
            "slug": slug,
            "kind": "consultation",
            "description": "The council wants to hear from residents before deciding.",
        },
    )
    await processes.add_district(
        admin, process.id, {"name": "City-wide", "budget": 0, "is_citywide": True}
    )
    north = await processes.add_district(admin, process.id, {"name": "North", "budget": 0})
    service = ConsultationService(session, settings)
    ids: dict[str, int] = {}
    for spec in QUESTIONS:
        ids[spec["kind"]] = (await service.add_question(admin, process.id, spec)).id
    options = await service.options(process.id)
    labels = {o.label: o.id for opts in options.values() for o in opts}
    ids["why"] = (
        await service.add_question(
            admin,
            process.id,
            {
                "kind": "text",
                "prompt": "Why should the depot not become a park?",
                "condition_question_id": ids["yes_no"],
                "condition_option_id": labels["No"],
                "max_length": "300",
            },
        )
    ).id
    await service.add_question(
        admin,
        process.id,
        {
            "kind": "yes_no",
            "prompt": "Close North Street to cars on Sundays?",
            "district_id": north.id,
        },
    )
    await processes.advance_phase(admin, process.id, Phase.OPEN)
    return process, ids, labels


async def _verify(
    session: AsyncSession, settings: Settings, admin: User, process_id: int, people: list[User]
) -> None:
    """Verify ``people`` for the city-wide pool with fresh one-time codes (the voting package)."""
    from ballots.verification import generate_codes, verify_with_code

    citywide = (await ProcessService(session, settings).districts(process_id))[0]
    codes = await generate_codes(session, settings, admin, process_id, citywide.id, len(people))
    for person, code in zip(people, codes, strict=True):
        await verify_with_code(session, settings, person, process_id, code=code, ip="demo")


async def _answered(
    session: AsyncSession, settings: Settings, admin: User, residents: list[User]
) -> None:
    process, q, o = await _consultation(
        session, settings, admin, CLOSED_SLUG, "Riverton asks: the river bank"
    )
    processes = ProcessService(session, settings)
    await _verify(session, settings, admin, process.id, residents)
    service = ConsultationService(session, settings)
    rankings = [
        ("Trees", "Lights"),
        ("Benches", "Trees"),
        ("Lights", "Trees"),
        ("Trees",),
        ("Benches", "Lights"),
    ]
    for i, resident in enumerate(residents):
        ranking = rankings[i % len(rankings)]
        answers: dict[int, Any] = {
            q["yes_no"]: str(o["Yes" if i % 3 else "No"]),
            q["single"]: str(o[("Saturday", "Sunday", "Wednesday")[i % 3]]),
            q["multiple"]: [str(o["Swimming pool"]), str(o[("Gym", "Tennis courts")[i % 2]])],
            q["ranked"]: {str(o[label]): str(rank) for rank, label in enumerate(ranking, start=1)},
            q["scale"]: str(2 + i % 4),
            q["text"]: (
                "More evening buses, please.",
                "",
                "Keep the river bank dark at night for the bats.",
            )[i % 3],
        }
        if i % 3 == 0:
            answers[q["why"]] = "The depot should become housing."
        await service.respond(resident, process.id, answers)
    await processes.advance_phase(admin, process.id, Phase.CLOSED)
