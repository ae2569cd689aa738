"""The ballot page's cast, ``POST /processes/{slug}/vote/{district}/cast``, as a lean route.

The same path as the JSON API (``web.controllers.cast_api``): one statement reads the session,
the ballot, the phase, the voter's right and account (``read_cast``), ``prepare`` makes the
checks every cast makes, and the worker's ``CastBatcher`` stores the ballot with its audit entry.
Like the API it does without the session middleware, the viewer with their roles and the
request's ORM session; the CSRF check (the form's ``_csrf_token`` field or the ``x-csrftoken``
header htmx sends), the security headers and the error handler are the same as on every page.

An htmx post gets the receipt fragment; a plain post is redirected to the receipt page, the code
riding in a short-lived cookie scoped to that page (never in the server-side session, so the
server never stores a receipt next to an account). An invalid ballot shows the ballot page
again with the message: only then are the viewer (from the session data already read) and the
ballot's projects loaded.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.datastructures import Cookie, State
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from ballots import formats
from ballots.cast_context import prepare
from ballots.service import ballot_form
from pb.errors import InvalidBallot
from web.auth import load_viewer
from web.controllers.cast_api import SESSION_COOKIE, CastRead, cast_batcher, read_cast
from web.controllers.voting import RECEIPT_COOKIE, RECEIPT_MAX_AGE, public_process, render_ballot
from web.db import request_session
from web.render import is_htmx, page

__all__ = ["vote_cast"]


@post(
    "/processes/{slug:str}/vote/{district_id:int}/cast",
    name="vote_cast",
    opt={"skip_session": True},
)
async def vote_cast(
    request: Request, slug: FromPath[str], district_id: FromPath[int]
) -> Response[Any] | Template:
    """Cast (or, where allowed, replace) the signed-in, verified resident's ballot."""
    state: State = request.app.state
    posted = formats.FormBallot.from_items((await request.form()).multi_items())
    read = await read_cast(state, request.cookies.get(SESSION_COOKIE), district_id, slug=slug)
    try:
        prepared = prepare(state.settings, read.spec, read.right, posted)
    except InvalidBallot as exc:  # raised before anything is written
        return await _ballot_again(request, read, posted, exc)
    result = await cast_batcher(state).store(prepared)
    if is_htmx(request):
        return page(
            request,
            "pages/voting/receipt.html",
            partial="partials/voting/receipt.html",
            process={"slug": slug},
            receipt={"code": result.receipt, "district": result.district_name},
        )
    path = f"/processes/{slug}/receipt"
    return Redirect(
        path=path,
        status_code=303,
        cookies=[
            Cookie(
                key=RECEIPT_COOKIE,
                value=f"{result.receipt}.{result.district_id}",
                path=path,
                max_age=RECEIPT_MAX_AGE,
                httponly=True,
                secure=state.settings.cookie_secure,
                samesite="strict",
            )
        ],
    )


async def _ballot_again(
    request: Request, read: CastRead, posted: formats.FormBallot, exc: InvalidBallot
) -> Template:
    """The ballot page with the refusal, as the resident filled it in."""
    settings = request.app.state.settings
    # The page's header shows who is signed in: the viewer from the session data read above.
    request.scope["session"] = read.session
    viewer = await load_viewer(request)
    db_session = request_session(request)
    process = await public_process(db_session, settings, read.spec.slug)
    form = await ballot_form(db_session, settings, process.id, read.spec.district_id)
    try:
        raw: Any = posted.raw(form.config, list(form.costs))
    except InvalidBallot:
        raw = []
    return render_ballot(
        request, viewer, form, raw, errors={"__form__": exc.message}, status_code=422
    )
