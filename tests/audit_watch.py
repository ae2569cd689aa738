"""Watch an engine: every committed transaction that changes the domain must append to the audit log.

Installed on the app's engines by the web fixtures, so every web test also checks that the app
never changes a proposal, a ballot, a process, a user… without an audit entry in the same
transaction. Tables that hold no domain state (sessions, throttling counters, the inbox's read
marks) are left out, and so are the count's per-district progress rows, whose end state the
``results.tallied`` entry records with the digest of every district's input and result.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

NOT_DOMAIN = {"web_session", "login_attempt", "verification_attempt", "notification"}
COUNT_PROGRESS = {"district_result", "process_result"}
_DML = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


def watch_audit(engine: AsyncEngine, violations: list[str]) -> None:
    """Append to ``violations`` a line for each unaudited committed change made through ``engine``."""
    touched: dict[int, set[str]] = {}  # per DBAPI connection: tables changed since BEGIN

    def key(conn: Any) -> int:
        return id(conn.connection.dbapi_connection) if conn.connection is not None else id(conn)

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        match = _DML.match(statement)
        if match is not None and cursor.rowcount != 0:  # not an ON CONFLICT that did nothing
            touched.setdefault(key(conn), set()).add(match.group(1).lower())

    def on_commit(conn: Any) -> None:
        tables = touched.pop(key(conn), set())
        domain = tables - NOT_DOMAIN - {"audit_entry"}
        if domain and "audit_entry" not in tables and not domain <= COUNT_PROGRESS:
            violations.append(f"changed {sorted(domain)} without an audit entry")

    def on_rollback(conn: Any) -> None:
        touched.pop(key(conn), None)

    sync = engine.sync_engine
    event.listen(sync, "after_cursor_execute", on_execute)
    event.listen(sync, "commit", on_commit)
    event.listen(sync, "rollback", on_rollback)
