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

NOT_DOMAIN = {"audit_entry", "web_session", "login_attempt", "verification_attempt", "notification"}
COUNT_PROGRESS = {"district_result", "process_result"}
_DML = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


def watch_audit(engine: AsyncEngine, violations: list[str]) -> None:
    """Append to ``violations`` a line for each unaudited committed change made through ``engine``."""
    pending: dict[int, tuple[set[str], list[bool]]] = {}

    def key(conn: Any) -> int:
        return id(conn.connection.dbapi_connection) if conn.connection is not None else id(conn)

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        match = _DML.match(statement)
        if match is None or cursor.rowcount == 0:  # e.g. ON CONFLICT DO NOTHING that did nothing
            return
        tables, audited = pending.setdefault(key(conn), (set(), [False]))
        table = match.group(1).lower()
        if table == "audit_entry":
            audited[0] = True
        elif table not in NOT_DOMAIN:
            tables.add(table)

    def on_commit(conn: Any) -> None:
        tables, audited = pending.pop(key(conn), (set(), [False]))
        if tables and not audited[0] and not tables <= COUNT_PROGRESS:
            violations.append(f"changed {sorted(tables)} without an audit entry")

    def on_rollback(conn: Any) -> None:
        pending.pop(key(conn), None)

    sync = engine.sync_engine
    event.listen(sync, "after_cursor_execute", on_execute)
    event.listen(sync, "commit", on_commit)
    event.listen(sync, "rollback", on_rollback)
