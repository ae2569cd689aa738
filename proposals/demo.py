"""A demo city for ``pb demo``: two budgeting editions with proposals in every state.

``seed_city`` builds, through the same services the pages use (so the history and the audit log
look real):

- *Riverton 2026*, in the costing phase: proposals that are drafts, submitted, waiting for
  changes, approved, rejected, merged, hidden, withdrawn, feasible and unfeasible, with supports,
  comments (one hidden by flags) and valuator assignments;
- *Riverton 2025*, in the voting phase: prices published, feasible proposals on each district's
  ballot, and one that costs more than its district's budget.

Both have a city-wide pool and two districts (North, South) with budgets, and five categories.
Extra demo residents share the resident's demo password. Seeding twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from pb.accounts import AccountService, Role, User
from pb.processes import Category, District, Phase, Process, ProcessService
from pb.settings import Settings
from proposals.service import ProposalService

__all__ = ["DEMO_RESIDENTS", "seed_city"]

RESIDENT_PASSWORD = "demo-password-resident"
DEMO_RESIDENTS = (
    ("amara@demo.pb", "Amara Okafor"),
    ("jonas@demo.pb", "Jonas Weber"),
    ("lucia@demo.pb", "Lucía Fernández"),
    ("mei@demo.pb", "Mei Chen"),
)
CATEGORIES = (
    "Parks and green spaces",
    "Mobility",
    "Culture",
    "Education and youth",
    "Social care",
)
BALLOT = {"format": "approval", "min_selections": 1, "max_selections": 3}


def _proposal(
    title: str, summary: str, description: str, cost_eur: int, where: str = ""
) -> dict[str, Any]:
    return {
        "title": title,
        "summary": summary,
        "description": description,
        "estimated_cost": cost_eur * 100,
        "location": where,
    }


async def seed_city(session: AsyncSession, settings: Settings, users: Mapping[str, User]) -> str:
    """Create the demo processes; ``users`` maps role names (admin, moderator, valuator,
    resident) to demo accounts. Returns a one-line summary."""
    existing = await session.exec(select(Process.id).where(Process.slug == "riverton-2026"))
    if existing.first() is not None:
        return "demo city already present"
    people = dict(users)
    accounts = AccountService(session, settings)
    for email, name in DEMO_RESIDENTS:
        user = await accounts.get_by_email(email)
        if user is None:
            user = await accounts.create_user(
                email, RESIDENT_PASSWORD, {Role.RESIDENT}, display_name=name
            )
        people[email.split("@", 1)[0]] = user
    current = await _edition_2026(session, settings, people)
    previous = await _edition_2025(session, settings, people)
    return f"demo city loaded: {current} proposals in Riverton 2026, {previous} in Riverton 2025"


async def _setup(
    session: AsyncSession,
    settings: Settings,
    admin: User,
    *,
    name: str,
    slug: str,
    description: str,
) -> tuple[Process, dict[str, District], dict[str, Category]]:
    processes = ProcessService(session, settings)
    from tally import RULES

    rule = "greedy" if "greedy" in RULES else (sorted(RULES)[0] if RULES else "")
    process = await processes.create(
        admin,
        {
            "name": name,
            "slug": slug,
            "description": description,
            "currency": "EUR",
            "min_age": 16,
            "support_threshold": 2,
            "flag_threshold": 3,
            "ballot_config": BALLOT,
            "rule_id": rule,
            "tie_break": "lower-cost,more-supporters",
        },
    )
    districts = {
        "city": await processes.add_district(
            admin, process.id, {"name": "City-wide", "budget": 40_000_000, "is_citywide": True}
        ),
        "north": await processes.add_district(
            admin, process.id, {"name": "North", "budget": 15_000_000}
        ),
        "south": await processes.add_district(
            admin, process.id, {"name": "South", "budget": 12_000_000}
        ),
    }
    categories = {
        c.split()[0].lower(): await processes.add_category(admin, process.id, {"name": c})
        for c in CATEGORIES
    }
    await processes.advance_phase(admin, process.id, Phase.SUBMISSION)
    return process, districts, categories


async def _edition_2026(session: AsyncSession, settings: Settings, people: dict[str, User]) -> int:
    admin, valuator = people["admin"], people["valuator"]
    process, d, c = await _setup(
        session,
        settings,
        admin,
        name="Riverton Participatory Budget 2026",
        slug="riverton-2026",
        description=(
            "Residents of Riverton decide how to spend 670,000 EUR of next year's budget.\n\n"
            "Propose a project for your district or for the whole city, support the ideas you "
            "like, and vote in the spring."
        ),
    )
    as_ = {key: ProposalService(session, settings, user) for key, user in people.items()}

    async def make(
        who: str, district: str, category: str, data: dict[str, Any], *, submit: bool = True
    ) -> int:
        proposal = await as_[who].create(
            process.id,
            data | {"district_id": d[district].id, "category_id": c[category].id},
            submit=submit,
        )
        return proposal.id  # type: ignore[return-value]

    trees = await make(
        "resident",
        "north",
        "parks",
        _proposal(
            "Shade trees on Mill Street",
            "Plant twenty native shade trees along Mill Street, with drip irrigation.",
            "Mill Street has no shade between the primary school and the market. In July the "
            "pavement is too hot for children and older people to walk on.\n\nTwenty native trees "
            "with drip irrigation would make the walk bearable within a few years.",
            48_000,
            "Mill Street, from the school to the market",
        ),
    )
    trees_again = await make(
        "amara",
        "north",
        "parks",
        _proposal(
            "More trees for Mill Street",
            "Mill Street needs trees: it is the hottest street in the North district.",
            "Please plant trees on Mill Street. Children walk there to school every day and there is "
            "no shade at all.",
            30_000,
            "Mill Street",
        ),
    )
    bikes = await make(
        "jonas",
        "city",
        "mobility",
        _proposal(
            "Protected bike lane on River Road",
            "A two-way protected bike lane along River Road linking North and South.",
            "River Road is the only flat link between the districts but cyclists share it with "
            "buses. A kerb-separated two-way lane of 2.4 km would make it safe for everyone.",
            390_000,
            "River Road",
        ),
    )
    library = await make(
        "lucia",
        "south",
        "culture",
        _proposal(
            "Open-air reading corner at the South library",
            "Benches, shade sails and a book exchange in the library garden.",
            "The South library has a garden nobody uses. With benches, shade sails and a weatherproof "
            "book-exchange cabinet it could host readings and homework in the summer.",
            18_000,
            "South library garden",
        ),
    )
    playground = await make(
        "mei",
        "south",
        "education",
        _proposal(
            "Inclusive playground in Oak Square",
            "Replace the old playground with equipment children of all abilities can use.",
            "The Oak Square playground is twenty years old. A wheelchair-accessible carousel, a "
            "sensory wall and rubber flooring would let every child play together.",
            95_000,
            "Oak Square",
        ),
    )
    statue = await make(
        "jonas",
        "city",
        "culture",
        _proposal(
            "A golden statue of the mayor",
            "A four-metre golden statue of the mayor in front of the town hall.",
            "The mayor deserves a statue. It should be golden and visible from the river.",
            250_000,
            "Town hall square",
        ),
    )
    cafe = await make(
        "amara",
        "north",
        "social",
        _proposal(
            "Repair café in the North community centre",
            "Tools and a monthly repair café run by volunteers.",
            "A set of tools, a sewing machine and soldering stations so volunteers can help "
            "neighbours repair things once a month instead of throwing them away.",
            6_500,
            "North community centre",
        ),
    )
    tunnel = await make(
        "lucia",
        "city",
        "mobility",
        _proposal(
            "Car tunnel under the old town",
            "A road tunnel so that through traffic avoids the old town.",
            "Through traffic could go under the old town in a 900 m tunnel, leaving the streets "
            "above to people.",
            39_000_000,
            "Old town",
        ),
    )
    spam = await make(
        "mei",
        "south",
        "social",
        _proposal(
            "CHEAP WATCHES visit my shop",
            "Best prices in town for watches, call the number in the description.",
            "Visit my shop for the best watches in Riverton, call today and ask for the discount.",
            1,
            "Everywhere",
        ),
    )
    fountain = await make(
        "resident",
        "south",
        "parks",
        _proposal(
            "Drinking fountains in the South park",
            "Three drinking fountains along the running track in the South park.",
            "Runners and families have nowhere to fill a bottle in the South park. Three fountains "
            "connected to the mains along the track would fix that.",
            12_000,
            "South park",
        ),
    )
    benches = await make(
        "mei",
        "north",
        "social",
        _proposal(
            "Benches on the way to the clinic",
            "Six benches between the bus stop and the North clinic.",
            "Older patients walk 600 m from the bus stop to the clinic without anywhere to sit. "
            "Six benches, one every hundred metres, would help.",
            9_000,
            "Clinic Lane",
        ),
    )
    await make(
        "jonas",
        "north",
        "social",
        _proposal(
            "Public toilets at the market",
            "Two accessible public toilets next to the North market hall.",
            "Market visitors and stallholders have no public toilet nearby. Two accessible units "
            "with a baby-changing table would serve the market and the bus stop.",
            60_000,
            "North market hall",
        ),
    )  # waits for a moderator
    await make(
        "resident",
        "city",
        "education",
        _proposal(
            "Coding club for teenagers",
            "Weekly coding evenings for 12–18 year olds in the central library.",
            "Laptops and a mentor fee for a weekly coding club, open to every teenager in the city.",
            22_000,
            "Central library",
        ),
        submit=False,
    )  # a draft

    for who in ("amara", "jonas", "lucia", "mei"):
        await as_[who].support(trees)
    for who in ("resident", "lucia", "mei"):
        await as_[who].support(bikes)
    for who in ("resident", "amara"):
        await as_[who].support(library)
        await as_[who].support(playground)
        await as_[who].support(benches)
    for who in ("resident", "jonas"):
        await as_[who].support(cafe)
        await as_[who].support(tunnel)
    for who in ("jonas", "lucia"):
        await as_[who].support(fountain)

    await as_["amara"].comment(trees, {"body": "Yes! My children walk there every morning."})
    await as_["jonas"].comment(bikes, {"body": "Will the lane continue over the bridge?"})
    rude = await as_["lucia"].comment(bikes, {"body": "Cyclists are idiots and should stay home."})
    for who in ("resident", "amara", "mei"):
        await as_[who].flag_comment(rude.id, "Insulting")  # hidden after three flags
    for who in ("resident", "amara"):
        await as_[who].flag(spam, "Advertising")

    m = as_["moderator"]
    await m.hide(spam, "Advertising is not a proposal.")
    await m.merge(
        trees_again,
        trees,
        reason="Same trees on the same street: merged so the supports count once.",
    )
    await m.reject(
        statue, "Monuments to living people are not eligible, see the rules of the process."
    )
    await m.request_changes(library, "Please say how many benches and sails you have in mind.")
    for pid in (trees, bikes, playground, cafe, tunnel, benches):
        await m.approve(pid)
    await as_["resident"].withdraw(
        fountain, reason="The council is already installing fountains there."
    )

    processes = ProcessService(session, settings)
    await processes.advance_phase(admin, process.id, Phase.REVIEW)
    await processes.advance_phase(admin, process.id, Phase.COSTING)
    a = as_["admin"]
    for pid in (trees, bikes, playground, tunnel, cafe):
        await a.assign(pid, valuator.id)
    v = as_["valuator"]
    await v.cost(
        trees,
        {
            "feasible": True,
            "official_cost": 5_240_000,
            "duration_months": 4,
            "breakdown": [
                {"item": "20 trees with planting", "amount": 3_600_000},
                {"item": "Drip irrigation", "amount": 1_140_000},
                {"item": "Tree grates", "amount": 500_000},
            ],
        },
    )
    await v.cost(
        bikes,
        {
            "feasible": True,
            "official_cost": 41_500_000,
            "duration_months": 9,
            "breakdown": [
                {"item": "Kerbs and surfacing, 2.4 km", "amount": 33_000_000},
                {"item": "Signals at four junctions", "amount": 6_000_000},
                {"item": "Design and supervision", "amount": 2_500_000},
            ],
        },
    )
    await v.cost(
        tunnel,
        {
            "feasible": False,
            "unfeasible_reason": "A 900 m road tunnel costs about 120 million EUR, far beyond this "
            "budget, and the old town's foundations are protected.",
        },
    )
    await v.cost(
        playground,
        {
            "feasible": True,
            "official_cost": 10_200_000,
            "duration_months": 6,
            "breakdown": [
                {"item": "Equipment", "amount": 7_400_000},
                {"item": "Rubber flooring", "amount": 2_800_000},
            ],
        },
    )
    # The repair café and the benches stay approved, waiting for their costing.
    return 13


async def _edition_2025(session: AsyncSession, settings: Settings, people: dict[str, User]) -> int:
    admin = people["admin"]
    process, d, c = await _setup(
        session,
        settings,
        admin,
        name="Riverton Participatory Budget 2025",
        slug="riverton-2025",
        description="Last year's edition: the projects below are on the ballot.",
    )
    as_ = {key: ProposalService(session, settings, user) for key, user in people.items()}
    specs = [
        ("resident", "city", "mobility", "Night bus to the hospital", 18_000_000),
        ("amara", "city", "culture", "Summer concerts on the river bank", 6_000_000),
        ("jonas", "city", "parks", "Wildflower meadows on road verges", 4_500_000),
        ("lucia", "north", "education", "Science kits for North schools", 3_800_000),
        ("mei", "north", "parks", "Community garden behind the station", 7_200_000),
        ("resident", "north", "social", "Warm room for winter afternoons", 2_900_000),
        ("amara", "south", "mobility", "Safe crossing at Elm School", 5_500_000),
        ("jonas", "south", "parks", "Dog park in the South park", 4_100_000),
        ("lucia", "south", "culture", "Mural on the underpass", 1_600_000),
        ("mei", "south", "parks", "Covered ice rink", 25_000_000),  # more than South's budget
    ]
    ids = []
    for who, district, category, title, cost in specs:
        proposal = await as_[who].create(
            process.id,
            {
                "title": title,
                "summary": f"{title}: a project for {d[district].name}.",
                "description": f"{title}. Proposed by a resident and reviewed by the council.",
                "district_id": d[district].id,
                "category_id": c[category].id,
                "estimated_cost": cost,
                "location": d[district].name,
            },
            submit=True,
        )
        ids.append((proposal.id, cost))
    for pid, _ in ids:
        for who in ("resident", "amara", "jonas", "lucia", "mei"):
            if (await as_[who].get(pid)).proposer_id != people[who].id:
                await as_[who].support(pid)
    for pid, _ in ids:
        await as_["moderator"].approve(pid)
    processes = ProcessService(session, settings)
    await processes.advance_phase(admin, process.id, Phase.REVIEW)
    await processes.advance_phase(admin, process.id, Phase.COSTING)
    for pid, cost in ids:
        official = cost + cost // 20  # council estimates run five per cent above the residents'
        await as_["admin"].cost(
            pid,
            {
                "feasible": True,
                "official_cost": official,
                "duration_months": 6,
                "breakdown": [
                    {"item": "Works", "amount": official - official // 10},
                    {"item": "Design and supervision", "amount": official // 10},
                ],
            },
        )
    await as_["admin"].publish_prices(process.id)
    from tally import RULES

    if process.rule_id in RULES:
        await processes.advance_phase(admin, process.id, Phase.VOTING)
        # Demo residents are on the roll and verified, so they can vote at once.
        from ballots.demo import seed_voters

        voters = [people[k] for k in ("resident", "amara", "jonas", "lucia", "mei") if k in people]
        await seed_voters(session, settings, admin, process.id, voters)
    return len(ids)
