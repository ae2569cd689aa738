"""Liveness and readiness for load balancers and monitoring."""

from __future__ import annotations

import logging
from typing import Any

import anyio
from litestar import get
from litestar.datastructures import State
from litestar.response import Response
from sqlalchemy import text

from web.errors import problem

log = logging.getLogger("pb.web")

DATABASE_TIMEOUT_SECONDS = 5


@get("/healthz", name="health", tags=["operations"], summary="Health check")
async def healthz(state: State) -> Response[dict[str, Any]]:
    """``{"status": "ok", "database": "ok"}`` when the database answers; a 503 problem otherwise."""
    try:
        with anyio.fail_after(DATABASE_TIMEOUT_SECONDS):
            async with state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("health check: database unavailable: %s", exc)
        return problem(
            503,
            "Service unavailable",
            "The database is not reachable.",
            headers={"Retry-After": "5"},
        )
    return Response({"status": "ok", "database": "ok"}, headers={"Cache-Control": "no-store"})
