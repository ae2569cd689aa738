"""Submit → moderate → cost, in a real browser, as three different people.

A resident proposes a project with the form, a moderator approves it from the queue (the item
is replaced in place by htmx), and a valuator fills in the costing form, whose running total
updates as the lines are typed. Between the steps an administrator moves the process on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pb.accounts import AccountService, Role
from pb.processes import Phase, ProcessService
from pb.settings import Settings
from proposals.models import Proposal
from proposals.service import ProposalService
from tests.browser.conftest import LiveServer, in_thread, running_server
from tests.browser.steps import sign_in

pytestmark = pytest.mark.browser

PASSWORD = "flow browser password 1"
PEOPLE = {
    "alice@flow.test": ("Alice Resident", ()),
    "mo@flow.test": ("Mo Moderator", (Role.MODERATOR,)),
    "val@flow.test": ("Val Valuator", (Role.VALUATOR,)),
    "ada@flow.test": ("Ada Admin", (Role.ADMIN,)),
}


async def _seed(session: Any, settings: Settings) -> None:
    accounts = AccountService(session, settings)
    users = {
        email: await accounts.create_user(email, PASSWORD, roles, display_name=name)
        for email, (name, roles) in PEOPLE.items()
    }
    processes = ProcessService(session, settings)
    admin = users["ada@flow.test"]
    process = await processes.create(admin, {"name": "Flow city 2026"})
    await processes.add_district(admin, process.id, {"name": "North", "budget": 5_000_000})
    await processes.add_category(admin, process.id, {"name": "Parks"})
    await processes.advance_phase(admin, process.id, Phase.SUBMISSION)


@pytest.fixture(scope="module")
def flow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory.mktemp("flow"), _seed) as (server, _):
        yield server


def test_submit_moderate_cost(new_page: Callable[..., Any], flow_server: LiveServer) -> None:
    server, settings = flow_server, flow_server.settings

    def signed_in_page(email: str) -> Any:
        page = new_page()
        sign_in(page, server, email, PASSWORD)
        return page

    # 1. A resident makes a proposal.
    alice = signed_in_page("alice@flow.test")
    alice.goto(server.url + "/processes")
    alice.get_by_role("link", name="Flow city 2026").click()
    alice.get_by_role("link", name="Make a proposal").click()
    alice.get_by_label("Title").fill("Shade trees on Mill Street")
    alice.get_by_label("Summary").fill(
        "Twenty shade trees along Mill Street, to cool it in summer."
    )
    alice.get_by_label("Description").fill(
        "Mill Street has no shade between the school and the market; trees would help."
    )
    alice.get_by_label("District").select_option(label="North (budget 50,000 EUR)")
    alice.get_by_label("Category").select_option(label="Parks")
    alice.get_by_label("Estimated cost (EUR)").fill("abc")
    alice.get_by_role("button", name="Submit proposal").click()
    # Refused in place by htmx, with the field named.
    error = alice.locator("#error-estimated_cost")
    error.wait_for()
    assert "must be a number" in error.inner_text()
    alice.get_by_label("Estimated cost (EUR)").fill("12000")
    alice.get_by_role("button", name="Submit proposal").click()
    alice.wait_for_url(server.url + "/proposals/*")
    assert "Your proposal was submitted" in alice.locator("#messages").inner_text()
    assert alice.locator(".status").first.inner_text() == "submitted"
    proposal_url = alice.url
    proposal_id = int(proposal_url.rsplit("/", 1)[1])

    # 2. A moderator approves it from the queue; the item is updated in place.
    mo = signed_in_page("mo@flow.test")
    mo.get_by_role("navigation", name="Main").get_by_role("link", name="Moderation").click()
    item = mo.locator(f"#proposal-{proposal_id}")
    item.get_by_role("button", name="Approve").click()
    item = mo.locator(f"#proposal-{proposal_id}")
    item.locator(".flash-success").wait_for()
    assert "Proposal approved." in item.inner_text()
    assert mo.url.endswith("/moderation")  # no reload

    alice.goto(server.url + "/inbox")
    assert "is now approved" in alice.locator("main").inner_text()

    # An administrator opens costing and assigns the valuator (outside the browser).
    async def open_costing(session: Any) -> None:
        admin = await AccountService(session, settings).get_by_email("ada@flow.test")
        valuator = await AccountService(session, settings).get_by_email("val@flow.test")
        proposal = await session.get(Proposal, proposal_id)
        processes = ProcessService(session, settings)
        await processes.advance_phase(admin, proposal.process_id, Phase.REVIEW)
        await processes.advance_phase(admin, proposal.process_id, Phase.COSTING)
        await ProposalService(session, settings, admin).assign(proposal_id, valuator.id)

    in_thread(settings, open_costing)

    # 3. The valuator costs it; the form checks the breakdown as it is typed.
    val = signed_in_page("val@flow.test")
    val.get_by_role("navigation", name="Main").get_by_role("link", name="Costing").click()
    val.get_by_role("link", name="Shade trees on Mill Street").click()
    val.get_by_label("Yes, it can be carried out").check()
    val.get_by_label("Official cost (EUR)").fill("11500")
    val.get_by_label("Item 1", exact=True).fill("Trees and planting")
    val.get_by_label("Amount 1", exact=True).fill("9000")
    val.get_by_label("Item 2", exact=True).fill("Irrigation")
    val.get_by_label("Amount 2", exact=True).fill("2000")
    val.get_by_label("Duration (months)").fill("5")
    val.locator("#field-duration_months").blur()
    total = val.locator("#breakdown-total")
    total.filter(has_text="11,000 EUR").wait_for()
    assert "adds up to 1100000" in val.locator("#error-breakdown").inner_text()
    val.get_by_label("Amount 2", exact=True).fill("2500")
    val.locator("#field-amount_1").blur()
    total.filter(has_text="11,500 EUR").wait_for()
    val.get_by_role("button", name="Save costing").click()
    val.wait_for_url(server.url + "/costing?process=*")
    assert "saved: feasible" in val.locator("#messages").inner_text()

    async def stored(session: Any) -> tuple[str, int | None]:
        proposal = await session.get(Proposal, proposal_id)
        return proposal.status, proposal.official_cost

    assert in_thread(settings, stored) == ("feasible", 1_150_000)
