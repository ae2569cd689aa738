"""What a cast reads, in one prebuilt statement, and the checks it makes on what it read.

Casting is the app's hottest path (a city's turnout peaks in the last hours of a vote). The
statement that reads a district's ballot, the process phase, the voter's right and their account
is therefore built once per shape and run with bound parameters: SQLAlchemy compiles it once and
asyncpg prepares it once per connection, instead of building a query object per request. The same
statement serves the ballot pages' ORM session (``ballots.service.prepare_cast``) and the plain
connection of the JSON cast API (``web.cast_api``), and both turn its row into a ``PreparedCast``
with ``prepare``, so the two paths cannot check differently.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ballots import formats
from ballots.verification import RIGHT_COLUMNS, right_from_row, with_right
from pb.accounts import User, WebSession
from pb.errors import Conflict, NotEligible, NotFound
from pb.processes import District, Phase, Process, ProcessKind, WrongPhase, voting_phase
from pb.settings import Settings
from proposals.service import ProposalService

__all__ = [
    "BallotSpec",
    "PreparedCast",
    "check_open",
    "config_for",
    "context_statement",
    "prepare",
    "session_context_statement",
    "spec_for",
]

_SPEC_COLUMNS = (
    Process.id,
    Process.slug,
    Process.kind,
    Process.phase,
    Process.ballot_config,
    Process.frozen_hash,
    Process.created_at,
    District.name,
    District.budget,
)
SPEC_WIDTH = len(_SPEC_COLUMNS)
RIGHT_WIDTH = len(RIGHT_COLUMNS)
# After the spec and the right: the voter's account (NULLs if it is gone).
_ACCOUNT_COLUMNS = (User.is_active, User.password_hash)


def _context_query(columns: Sequence[Any], user_id: Any, *, by_slug: bool, session: bool) -> Any:
    """The ballot (process and district), optionally the web session, then the right and the
    account of ``user_id``, selecting ``columns``."""
    query = (
        select(*columns).select_from(Process).join(District, col(District.process_id) == Process.id)
    )
    if session:
        query = query.outerjoin(WebSession, col(WebSession.id) == sa.bindparam("session_id"))
    query = with_right(query, Process.id, user_id).outerjoin(User, col(User.id) == user_id)
    where = (
        Process.slug == sa.bindparam("slug")
        if by_slug
        else Process.id == sa.bindparam("process_id", type_=sa.Integer)
    )
    return query.where(where, District.id == sa.bindparam("district_id", type_=sa.Integer))


_CONTEXT_COLUMNS = (*_SPEC_COLUMNS, *RIGHT_COLUMNS, *_ACCOUNT_COLUMNS)


@functools.cache
def context_statement() -> Any:
    """The one query of a cast (parameters ``process_id``, ``district_id`` and ``user_id``):
    spec columns, then the right's, then the account's."""
    user_id = sa.bindparam("user_id", type_=sa.Integer)
    return _context_query(_CONTEXT_COLUMNS, user_id, by_slug=False, session=False)


@functools.cache
def session_context_statement(*, by_slug: bool = False) -> Any:
    """``context_statement`` found through a web session (parameters ``session_id``, the token's
    hash, ``process_id`` or ``slug``, and ``district_id``): the session's data and expiry, then
    the columns of ``context_statement()`` for the session's user. One round trip for everything
    a cast reads."""
    columns = (WebSession.data, WebSession.expires_at, *_CONTEXT_COLUMNS)
    return _context_query(columns, col(WebSession.user_id), by_slug=by_slug, session=True)


@dataclass(frozen=True)
class BallotSpec:
    """What casting needs about one district's ballot, from one query plus a short-lived cache."""

    process_id: int
    slug: str
    kind: str
    phase: str
    revote: bool
    district_id: int
    district_name: str
    config: formats.BallotConfig
    costs: Mapping[str, int]


@dataclass(frozen=True)
class PreparedCast:
    """A checked online ballot, ready to store: who (pseudonym only), where, and what."""

    process_id: int
    district_id: int
    district_name: str
    voter: str
    content: str
    replace: bool


def config_for(config: dict[str, Any], budget: int) -> formats.BallotConfig:
    """The ballot configuration of one district (knapsack: the district's budget by default)."""
    data = {k: v for k, v in config.items() if k != "revote"}
    if data.get("format") == "knapsack" and "budget" not in data:
        data["budget"] = budget
    try:
        return formats.config_from_dict(data)
    except (ValueError, TypeError) as exc:
        raise Conflict(f"The ballot of this process is misconfigured: {exc}.") from None


def check_open(process: Process | BallotSpec) -> None:
    """``Conflict`` for a consultation, ``WrongPhase`` outside the voting phase."""
    if process.kind != ProcessKind.BUDGETING:
        raise Conflict("This process is a consultation: it has questions, not ballots.")
    if Phase(process.phase) is not voting_phase(process.kind):
        raise WrongPhase(f"Voting is not open: the process is in the {process.phase} phase.")


# The projects and costs of a ballot, per (database, process, district, frozen configuration
# hash, process creation time). The configuration is frozen when voting opens; projects are
# re-read at least every few seconds.
_PROJECTS_TTL = 5.0
CostsKey = tuple[URL, int, int, str, str]
_projects_cache: dict[CostsKey, tuple[float, dict[str, int]]] = {}


def _costs_key(url: URL, row: Sequence[Any], district_id: int) -> CostsKey:
    """The cache key of the ballot in a context row."""
    return (url, int(row[0]), district_id, row[5] or "", str(row[6]))


async def spec_for(
    row: Sequence[Any],
    district_id: int,
    url: URL,
    open_session: Callable[[], AbstractAsyncContextManager[AsyncSession]],
) -> BallotSpec:
    """The ballot spec of a context row, its projects from the cache or, when the cache cannot
    serve them, read on a session from ``open_session`` (``NotFound`` for no row)."""
    if row is None:
        raise NotFound("No such ballot in this process.")
    key = _costs_key(url, row, district_id)
    costs = _cached_costs(key, row)
    if costs is None:
        async with open_session() as session:
            costs = await _load_costs(session, key)
    return _spec_from_row(row, district_id, costs)


def _cached_costs(key: CostsKey, row: Sequence[Any]) -> dict[str, int] | None:
    """The cached projects of a frozen ballot; None when the caller must read them.

    When the entry is stale, only the first caller is sent to read them again: the entry's
    clock restarts at once, so the casts arriving meanwhile keep the projects read a few
    seconds ago instead of all reading them at the same moment.
    """
    hit = _projects_cache.get(key)
    if not row[5] or hit is None:
        return None
    now = time.monotonic()
    if now - hit[0] < _PROJECTS_TTL:
        return hit[1]
    _projects_cache[key] = (now, hit[1])
    return None


async def _load_costs(session: AsyncSession, key: CostsKey) -> dict[str, int]:
    """Read the ballot's projects and costs, and cache them."""
    projects = await ProposalService(session, Settings(), None).ballot_projects(key[1], key[2])
    costs = {str(p.id): int(p.official_cost or 0) for p in projects}
    if len(_projects_cache) > 256:
        _projects_cache.clear()
    _projects_cache[key] = (time.monotonic(), costs)
    return costs


def _spec_from_row(row: Sequence[Any], district_id: int, costs: Mapping[str, int]) -> BallotSpec:
    """The ballot spec from a context row (``Conflict`` for a consultation or a misconfigured
    ballot)."""
    pid, pslug, kind, phase, config_text, frozen, _created, name, budget = row[:SPEC_WIDTH]
    if kind != ProcessKind.BUDGETING:
        raise Conflict("This process is a consultation: it has questions, not ballots.")
    parsed = _configs.get((frozen, budget)) if frozen else None
    if parsed is None:
        data = json.loads(config_text or "{}")
        parsed = (config_for(data, budget), bool(data.get("revote", True)))
        if frozen:
            if len(_configs) > 256:
                _configs.clear()
            _configs[(frozen, budget)] = parsed
    return BallotSpec(
        process_id=pid,
        slug=pslug,
        kind=kind,
        phase=phase,
        revote=parsed[1],
        district_id=district_id,
        district_name=name,
        config=parsed[0],
        costs=costs,
    )


# Parsed ballot configurations (and the re-voting rule) of frozen processes, by the frozen
# configuration's hash and the district's budget: a frozen configuration never changes.
_configs: dict[tuple[str, int], tuple[formats.BallotConfig, bool]] = {}


def right_part(row: Sequence[Any]) -> Sequence[Any]:
    """The ``RIGHT_COLUMNS`` values of a context row read with the voter."""
    return row[SPEC_WIDTH : SPEC_WIDTH + RIGHT_WIDTH]


def account_part(row: Sequence[Any]) -> tuple[bool | None, str | None]:
    """The voter's ``(is_active, password_hash)`` from a context row read with the voter."""
    is_active, password_hash = row[SPEC_WIDTH + RIGHT_WIDTH :]
    return is_active, password_hash


def prepare(
    settings: Settings, spec: BallotSpec, right_row: Sequence[Any], raw_ballot: object
) -> PreparedCast:
    """Every check of a cast on what was read: phase, eligibility, the ballot itself."""
    check_open(spec)
    right = right_from_row(settings, spec.process_id, right_row)
    if spec.district_id not in right.districts:
        raise NotEligible(f"You are not registered to vote in {spec.district_name}.")
    if isinstance(raw_ballot, formats.FormBallot):
        raw_ballot = raw_ballot.raw(spec.config, spec.costs)
    valid = formats.validate_ballot(spec.config, spec.costs, raw_ballot)
    return PreparedCast(
        process_id=spec.process_id,
        district_id=spec.district_id,
        district_name=spec.district_name,
        voter=right.pseudonym,
        content=ballot_content(valid),
        replace=spec.revote,
    )


def ballot_content(valid: formats.ValidBallot) -> str:
    """Canonical JSON of a checked ballot: what is stored and published."""
    body: dict[str, Any] = {"format": valid.format, "projects": list(valid.projects)}
    if valid.points:
        body["points"] = list(valid.points)
    return json.dumps(body, sort_keys=True, separators=(",", ":"))
