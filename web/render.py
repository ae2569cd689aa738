"""Rendering helpers shared by controllers and the error handler.

A page is a full HTML document (``pages/…`` extending ``base.html``); when htmx asks for part of a
page (``HX-Request`` set, not a boosted link or a history restore) the same data is rendered with
the page's partial instead, and any flash messages ride along as an out-of-band swap into
``#messages``. Controllers pass the request's ``Viewer`` (the ``viewer`` dependency) so the header
shows the right navigation.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request
from litestar.response import Redirect, Response, Template
from litestar_htmx import HTMXTemplate

from web.auth import ANONYMOUS, Viewer, current_viewer
from web.nav import nav_items
from web.session import pop_flashes

__all__ = ["is_htmx", "login_url", "page", "redirect_after_post", "safe_next", "template_context"]

HTMX_WRAPPER = "partials/htmx.html"


def is_htmx(request: Request) -> bool:
    """Whether the request wants a fragment rather than a whole page."""
    headers = request.headers
    if headers.get("hx-request") != "true":
        return False
    return (
        headers.get("hx-boosted") != "true" and headers.get("hx-history-restore-request") != "true"
    )


def template_context(
    request: Request, viewer: Viewer | None = None, **context: Any
) -> dict[str, Any]:
    """What every template may use: viewer, navigation, flash messages, language, current path."""
    viewer = viewer or current_viewer(request) or ANONYMOUS
    state = request.app.state
    return {
        "viewer": viewer,
        "nav": nav_items(viewer.roles, state.get("nav_paths")),
        "flashes": pop_flashes(request),
        "lang": state.settings.lang,
        "current_path": request.url.path,
        # False when the session was never read (no route matched, e.g. a 404): the header then
        # shows neither "Sign in" nor "Signed in as" rather than a guess.
        "show_account": "session" in request.scope,
        **context,
    }


def page(
    request: Request,
    template: str,
    *,
    partial: str | None = None,
    viewer: Viewer | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    """The full page ``template``, or ``partial`` alone for an htmx request."""
    ctx = template_context(request, viewer, **context)
    all_headers = {"Vary": "HX-Request", **(headers or {})}
    if partial is not None and is_htmx(request):
        return HTMXTemplate(
            template_name=HTMX_WRAPPER,
            context={**ctx, "partial_template": partial},
            status_code=status_code,
            headers=all_headers,
        )
    return Template(
        template_name=template, context=ctx, status_code=status_code, headers=all_headers
    )


def redirect_after_post(request: Request, location: str) -> Response[Any]:
    """POST/redirect/GET: 303 for a browser form, ``HX-Redirect`` for htmx."""
    if request.headers.get("hx-request") == "true":
        return Response(content=None, status_code=200, headers={"HX-Redirect": location})
    return Redirect(path=location, status_code=303)


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go to after signing in; anything pointing elsewhere becomes ``default``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in value):
        return default
    return value


def login_url(next_path: str | None = None) -> str:
    """``/login``, remembering where to come back to."""
    target = safe_next(next_path, "")
    if not target or target == "/":
        return "/login"
    return "/login?next=" + quote(target, safe="/")
