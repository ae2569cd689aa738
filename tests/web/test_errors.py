"""One error handler: HTML pages, htmx fragments, or RFC 9457 problems, never a stack trace."""

from __future__ import annotations

import logging
from typing import Annotated

import pytest
from litestar import Litestar, get
from litestar.params import QueryParameter

from pb.errors import Conflict, InvalidInput, Throttled
from tests.web.conftest import WebClient

JSON = {"Accept": "application/json"}
HTMX = {"HX-Request": "true"}


@get("/test-only/boom", include_in_schema=False)
async def boom() -> None:
    raise RuntimeError("secret internal detail 42")


@get("/test-only/conflict", include_in_schema=False)
async def conflict() -> None:
    raise Conflict("That name is taken.", field="name")


@get("/test-only/invalid", include_in_schema=False)
async def invalid() -> None:
    raise InvalidInput("Enter a number.", field="amount")


@get("/test-only/throttled", include_in_schema=False)
async def throttled() -> None:
    raise Throttled("Slow down.", retry_after=30)


@get("/api/test-only/count", include_in_schema=False)
async def count(n: Annotated[int, QueryParameter(ge=0)]) -> dict[str, int]:
    return {"n": n}


@pytest.fixture
def app(app: Litestar) -> Litestar:
    for handler in (boom, conflict, invalid, throttled, count):
        app.register(handler)
    return app


async def test_404_page(client: WebClient) -> None:
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in response.text
    assert '<main id="main"' in response.text


async def test_404_header_makes_no_claim_about_signing_in(client: WebClient, resident) -> None:
    await client.login("rita@example.org")
    response = await client.get("/no/such/page")
    assert "Sign in" not in response.text and "Signed in as" not in response.text


async def test_404_as_problem_for_api_and_json_clients(client: WebClient) -> None:
    for url, headers in (("/api/nothing", {}), ("/no/such/page", JSON)):
        response = await client.get(url, headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["status"] == 404
        assert body["title"] == "Page not found"
        assert body["type"] == "about:blank"
        assert body["detail"]


async def test_404_for_htmx_is_a_fragment_for_messages(client: WebClient) -> None:
    response = await client.get("/no/such/page", headers=HTMX)
    assert response.status_code == 404
    assert response.headers["hx-retarget"] == "#messages"
    assert "<html" not in response.text


async def test_405_page(client: WebClient) -> None:
    response = await client.http.put("/healthz")
    assert response.status_code == 405
    assert "Method not allowed" in response.text
    as_json = await client.http.put("/healthz", headers=JSON)
    assert as_json.json()["status"] == 405


async def test_500_page_has_reference_and_no_trace(client: WebClient, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="pb.web"):
        response = await client.get("/test-only/boom")

    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text and "RuntimeError" not in response.text
    reference = response.text.split("<code>", 1)[1].split("</code>", 1)[0]
    assert len(reference) == 12
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged and logged[0].exc_info is not None


async def test_500_as_problem(client: WebClient) -> None:
    response = await client.get("/test-only/boom", headers=JSON)
    assert response.status_code == 500
    body = response.json()
    assert body["status"] == 500
    assert body["reference"]
    assert "secret" not in response.text


async def test_500_for_htmx(client: WebClient) -> None:
    response = await client.get("/test-only/boom", headers=HTMX)
    assert response.status_code == 500
    assert response.headers["hx-retarget"] == "#messages"
    assert "Reference:" in response.text
    assert "secret" not in response.text


async def test_domain_error_as_page_fragment_and_problem(client: WebClient) -> None:
    page = await client.get("/test-only/conflict")
    fragment = await client.get("/test-only/conflict", headers=HTMX)
    problem = await client.get("/test-only/conflict", headers=JSON)

    assert page.status_code == 409
    assert "<h1>Conflict</h1>" in page.text and "That name is taken." in page.text
    assert fragment.status_code == 409
    assert fragment.headers["hx-retarget"] == "#messages"
    assert fragment.headers["hx-reswap"] == "innerHTML"
    assert "That name is taken." in fragment.text and "<html" not in fragment.text
    assert problem.status_code == 409
    assert problem.headers["content-type"].startswith("application/problem+json")
    assert problem.json() == {
        "type": "urn:pb:problem:conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "That name is taken.",
        "field": "name",
    }


async def test_invalid_input_and_throttled_problems(client: WebClient) -> None:
    invalid = await client.get("/test-only/invalid", headers=JSON)
    throttled = await client.get("/test-only/throttled")

    assert invalid.status_code == 422
    assert invalid.json()["field"] == "amount"
    assert invalid.json()["type"] == "urn:pb:problem:invalid-input"
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "30"
    assert "Slow down." in throttled.text


async def test_framework_validation_error_is_a_400_problem(client: WebClient) -> None:
    response = await client.get("/api/test-only/count?n=minus")
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400
    assert body["field"] == "n"
    assert body["errors"][0]["field"] == "n"
    assert (await client.get("/api/test-only/count?n=3")).json() == {"n": 3}
