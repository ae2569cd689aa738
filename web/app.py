"""The Litestar application: ``create_app(settings)`` wires templates, htmx, CSRF, sessions,
the database and the error handler around the controllers.

A request passes the session middleware (server-side session loaded from the database), the CSRF
check (Litestar's double-submit token: a cookie plus the same token in the ``_csrf_token`` form
field or the ``x-csrftoken`` header, which ``base.html`` hands to htmx through ``hx-headers``),
then the controller. The controller's ``db_session`` is one transaction: committed after the
handler succeeds and its response is rendered, rolled back if anything raises.
"""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import MutableScopeHeaders, State
from litestar.di import Provide
from litestar.logging.config import LoggingConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncEngine

import pb
from pb.db import create_engine, make_session_factory
from pb.sessions import DatabaseStore
from pb.settings import Settings
from web.auth import provide_current_user, provide_viewer
from web.controllers import route_handlers
from web.db import DatabaseSessionMiddleware, provide_db_session
from web.errors import exception_handlers
from web.session import SessionConfig

__all__ = ["HTMX_CONFIG", "create_app"]

log = logging.getLogger("pb.web")

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

CSRF_COOKIE = "pb_csrf"
CSRF_HEADER = "x-csrftoken"
SESSION_STORE = "sessions"

# htmx settings (rendered into <meta name="htmx-config">): swap 4xx and 5xx answers too, because
# the server sends a useful fragment with them (form errors, the error message for #messages);
# no inline indicator styles (pb.css has them) and no eval, so a strict CSP holds.
HTMX_CONFIG: dict[str, Any] = {
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[23]..", "swap": True},
        {"code": "4..", "swap": True, "error": False},
        {"code": "5..", "swap": True, "error": True},
        {"code": "...", "swap": False},
    ],
    "includeIndicatorStyles": False,
    "allowEval": False,
    "allowScriptTags": False,
    "selfRequestsOnly": True,
}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


class SecurityHeadersMiddleware:
    """Adds browser hardening headers to every answer (a strict CSP on our own HTML pages)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_schema = scope["path"].startswith("/schema")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                if not is_schema:
                    headers["X-Frame-Options"] = "DENY"
                    if (headers.get("content-type") or "").startswith("text/html"):
                        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
            await send(message)

        await self.app(scope, receive, send_with_headers)


def provide_settings(state: State) -> Settings:
    """Dependency ``settings``."""
    return state.settings  # type: ignore[no-any-return]


def _configure_templates(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.globals["htmx_config"] = json.dumps(HTMX_CONFIG, separators=(",", ":"))
    env.globals["pb_version"] = pb.__version__
    env.trim_blocks = True
    env.lstrip_blocks = True


def create_app(settings: Settings | None = None, *, engine: AsyncEngine | None = None) -> Litestar:
    """The web app for ``settings`` (default: from the environment).

    Pass ``engine`` to share one engine (tests); the app then leaves disposing it to the caller.
    Otherwise the engine is created at start-up and disposed at shutdown.
    """
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own_engine = engine is None
        if own_engine:
            _use_engine(app, create_engine(settings))
            await _remove_expired_sessions(app)
            # Everything loaded so far (modules, templates, routes) lives as long as the worker:
            # keep it out of the garbage collector's full passes, which otherwise scan it all.
            gc.freeze()
        db_engine: AsyncEngine = app.state.engine
        try:
            yield
        finally:
            if own_engine:
                await db_engine.dispose()

    csrf_config = CSRFConfig(
        secret=settings.secret_key,
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=settings.cookie_secure,
        # htmx gets the token from the page (<meta>, hx-headers), never from the cookie.
        cookie_httponly=True,
        cookie_samesite="lax",
        exclude=["^/healthz$"],
    )
    session_config = SessionConfig(
        store=SESSION_STORE,
        max_age=settings.session_max_age,
        renew_after=max(60, settings.session_max_age // 20),
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
        exclude=["^/static/", "^/healthz$", "^/schema"],
    )
    template_config = TemplateConfig(
        directory=TEMPLATES_DIR,
        engine=JinjaTemplateEngine,
        engine_callback=_configure_templates,
    )
    openapi_config = OpenAPIConfig(
        title="pb",
        version=pb.__version__,
        description="Participatory budgeting and consultation engine.",
        path="/schema",
        render_plugins=[ScalarRenderPlugin()],
    )
    app = Litestar(
        route_handlers=[
            *route_handlers,
            create_static_files_router(path="/static", directories=[STATIC_DIR]),
        ],
        dependencies={
            "db_session": Provide(provide_db_session),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "viewer": Provide(provide_viewer),
            "current_user": Provide(provide_current_user),
        },
        middleware=[
            session_config.middleware,
            DatabaseSessionMiddleware,
            SecurityHeadersMiddleware,
        ],
        csrf_config=csrf_config,
        template_config=template_config,
        plugins=[HTMXPlugin()],
        exception_handlers=exception_handlers,
        openapi_config=openapi_config,
        lifespan=[lifespan],
        # The root logger (INFO) also carries our own "pb.*" messages: errors with their
        # reference ids, e-mails written to the log in development. web.errors logs every
        # unexpected exception once, so Litestar's own exception logging stays off.
        logging_config=LoggingConfig(log_exceptions="never"),
        state=State({"settings": settings}),
        debug=False,
    )
    app.state.nav_paths = frozenset(route.path for route in app.routes)
    if engine is not None:
        _use_engine(app, engine)
    return app


async def _remove_expired_sessions(app: Litestar) -> None:
    """Housekeeping at start-up. Only on an engine the app owns: a shared engine's pool may
    belong to another event loop (tests run the lifespan in a separate thread)."""
    try:
        removed = await app.state.session_store.delete_expired()
    except Exception as exc:  # not migrated yet, or the database is down: serve anyway
        log.warning("could not remove expired web sessions: %s", exc)
        return
    if removed:
        log.info("removed %d expired web sessions", removed)


def _use_engine(app: Litestar, engine: AsyncEngine) -> None:
    """Point the app (state, session store) at ``engine``."""
    factory = make_session_factory(engine)
    store = DatabaseStore(factory)
    app.state.engine = engine
    app.state.session_factory = factory
    app.state.session_store = store
    app.stores.register(SESSION_STORE, store, allow_override=True)
