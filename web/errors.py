"""The one place where errors become HTTP answers.

Every error is answered in the form the client asked for:

- ``application/problem+json`` (RFC 9457: ``type``, ``title``, ``status``, ``detail``, ``field``)
  for ``/api/…`` paths and for clients that prefer JSON over HTML;
- for htmx requests, the ``partials/error.html`` fragment swapped into ``#messages``
  (``HX-Retarget``/``HX-Reswap``; ``base.html`` tells htmx to swap 4xx and 5xx answers);
- otherwise a full HTML page.

Domain errors (``pb.errors.DomainError``) carry their status and a message written for the
person; "sign in first" sends a browser to the sign-in page instead. Unexpected exceptions are
logged with a short reference id that is also shown to the person, never a stack trace.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from litestar import MediaType, Request
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Response
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from pb.errors import DomainError, InvalidInput, NotAuthenticated, Throttled
from web.render import is_htmx, login_url, template_context
from web.session import flash, session_expired

__all__ = [
    "CSRF_FAILURE_MESSAGE",
    "PROBLEM_JSON",
    "exception_handlers",
    "handle_domain_error",
    "handle_http_exception",
    "handle_unexpected",
    "wants_json",
]

log = logging.getLogger("pb.web")

PROBLEM_JSON = "application/problem+json"
CSRF_FAILURE_MESSAGE = "Your form expired; reload the page and try again."
SESSION_EXPIRED_MESSAGE = "Your session expired. Please sign in again."
# What Litestar's CSRF middleware says when a token is missing or wrong.
_CSRF_DETAIL = "CSRF token verification failed"

_STATUS_TITLES = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Service unavailable",
}


def wants_json(request: Request) -> bool:
    """JSON for the API and for clients that prefer it; HTML (the default) for browsers."""
    if request.url.path.startswith("/api/"):
        return True
    best = request.accept.best_match(["text/html", "application/json", PROBLEM_JSON], "text/html")
    return best in ("application/json", PROBLEM_JSON)


def _problem_type(name: str) -> str:
    slug = re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()
    return f"urn:pb:problem:{slug}"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    type_: str = "about:blank",
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[Any]:
    """An RFC 9457 problem document."""
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    if field:
        body["field"] = field
    body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _render(request: Request, template: str, context: dict[str, Any]) -> str:
    engine = request.app.template_engine
    assert engine is not None
    ctx = {"request": request, **context}
    return engine.get_template(template).render(**ctx)


def _html_error(
    request: Request,
    status: int,
    title: str,
    message: str,
    *,
    template: str = "pages/error.html",
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response[Any]:
    """The error as a full page, or as a fragment for ``#messages`` when htmx asked."""
    all_headers = {"Vary": "HX-Request", **(headers or {})}
    fragment = is_htmx(request)
    name = "partials/error.html" if fragment else template
    if fragment:
        all_headers.update({"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"})
    try:
        ctx = template_context(request, title=title, message=message, status=status, **context)
        body = _render(request, name, ctx)
    except Exception:  # an error page must never fail: fall back to plain text
        log.exception("error page %s could not be rendered", name)
        return Response(
            content=f"{title}\n\n{message}\n",
            status_code=status,
            media_type=MediaType.TEXT,
            headers=headers,
        )
    return Response(
        content=body, status_code=status, media_type=MediaType.HTML, headers=all_headers
    )


def _retry_headers(exc: Exception) -> dict[str, str]:
    if isinstance(exc, Throttled) and exc.retry_after:
        return {"Retry-After": str(exc.retry_after)}
    return {}


def handle_domain_error(request: Request, exc: DomainError) -> Response[Any]:
    """A refusal by the domain: its status, title and message, in the form the client wants."""
    headers = _retry_headers(exc)
    if wants_json(request):
        return problem(
            exc.status_code,
            exc.title,
            exc.message,
            type_=_problem_type(type(exc).__name__),
            field=exc.field,
            headers=headers,
        )
    if isinstance(exc, NotAuthenticated):
        return _to_login(request, exc)
    return _html_error(request, exc.status_code, exc.title, exc.message, headers=headers)


def _to_login(request: Request, exc: NotAuthenticated) -> Response[Any]:
    """Send a browser to the sign-in page, saying why, and come back afterwards."""
    message = SESSION_EXPIRED_MESSAGE if session_expired(request) else exc.message
    back = request.url.path if request.method == "GET" else None
    if back and request.url.query:
        back += "?" + request.url.query
    target = login_url(back)
    if isinstance(request.scope.get("session"), dict):
        flash(request, message, "warning")
    if request.headers.get("hx-request") == "true":
        return Response(content=None, status_code=401, headers={"HX-Redirect": target})
    return Response(content=None, status_code=HTTP_303_SEE_OTHER, headers={"Location": target})


def handle_http_exception(request: Request, exc: HTTPException) -> Response[Any]:
    """Framework errors: unknown page, wrong method, bad input, failed CSRF check, …"""
    status = exc.status_code
    if status >= HTTP_500_INTERNAL_SERVER_ERROR:
        return handle_unexpected(request, exc)
    title = _STATUS_TITLES.get(status, "Request not accepted")
    headers = dict(exc.headers or {})
    csrf_failed = isinstance(exc, PermissionDeniedException) and exc.detail == _CSRF_DETAIL
    if csrf_failed:
        detail = CSRF_FAILURE_MESSAGE
    elif isinstance(exc, NotFoundException):
        detail = "There is no page at this address."
    elif isinstance(exc, MethodNotAllowedException):
        detail = "This address does not accept that kind of request."
    elif isinstance(exc, ValidationException):
        detail = "The request could not be understood; check the values sent."
    else:
        detail = exc.detail or title
    if wants_json(request):
        extra: dict[str, Any] = {}
        field = None
        if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
            errors = [
                {"field": e.get("key"), "message": e.get("message"), "source": e.get("source")}
                for e in exc.extra
                if isinstance(e, dict)
            ]
            extra["errors"] = errors
            field = next((e["field"] for e in errors if e["field"]), None)
        return problem(status, title, detail, field=field, headers=headers or None, **extra)
    if csrf_failed and not is_htmx(request):
        # Plain on purpose: the page that failed is stale, so no forms, only the message.
        return Response(
            content=CSRF_FAILURE_MESSAGE,
            status_code=status,
            media_type=MediaType.TEXT,
            headers=headers,
        )
    template = "pages/404.html" if status == 404 else "pages/error.html"
    return _html_error(request, status, title, detail, template=template, headers=headers)


NUMBER_OUT_OF_RANGE = "A number in this request is too large."


def _number_out_of_range(exc: BaseException) -> bool:
    """Whether the database refused a number its integer columns cannot hold (an id or a count
    typed or forged far beyond anything stored): SQLite's ``OverflowError``, or a driver's
    "out of … range" data error (asyncpg, PostgreSQL)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OverflowError):
            return True
        # SQLAlchemy's DataError, or asyncpg's own where a query goes to the driver directly
        if type(current).__name__ == "DataError" and "range" in str(current):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


def handle_unexpected(request: Request, exc: Exception) -> Response[Any]:
    """A bug or an outage: log everything, show a reference id and nothing else.

    One refusal arrives here rather than as a domain error: a number too large for the
    database, from any path or form field; it is the client's mistake, so invalid input (422).
    """
    if _number_out_of_range(exc):
        return handle_domain_error(request, InvalidInput(NUMBER_OUT_OF_RANGE))
    reference = secrets.token_hex(6)
    log.error(
        "unhandled error %s on %s %s", reference, request.method, request.url.path, exc_info=exc
    )
    title = _STATUS_TITLES[500]
    detail = "The server could not complete this request. Please try again later."
    if wants_json(request):
        return problem(500, title, detail, reference=reference)
    return _html_error(request, 500, title, detail, template="pages/500.html", reference=reference)


exception_handlers: ExceptionHandlersMap = {
    DomainError: handle_domain_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
