"""Stored tallies, sign-offs and certified packages.

A ``ProcessResult`` is the one result of a process: its status (``tallying`` while the count runs,
``tallied`` when every district is counted, ``failed`` with a reason, ``certified`` once the
package is built), the frozen rule it used and the software that counted. ``DistrictResult``
holds each district's canonical input (JSON), its SHA-256 and the outcome. Sign-offs and the
certified package are separate rows; the database's unique constraints make "one result per
process", "one sign-off per person" and "one package per process" hold under races too.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from pb.models import IdMixin, TZDateTime, utcnow

__all__ = [
    "CertifiedPackage",
    "DistrictResult",
    "ProcessResult",
    "ResultStatus",
    "SignOff",
]


class ResultStatus(StrEnum):
    TALLYING = "tallying"
    TALLIED = "tallied"
    FAILED = "failed"
    CERTIFIED = "certified"


class ProcessResult(IdMixin, table=True):
    __tablename__ = "process_result"

    process_id: int = Field(foreign_key="process.id", ondelete="CASCADE", unique=True)
    status: str = Field(default=ResultStatus.TALLYING, max_length=20)
    districts_total: int = Field(default=0)
    districts_done: int = Field(default=0)
    error: str = Field(default="", sa_type=sa.Text)
    rule_id: str = Field(default="", max_length=80)
    rule_params: str = Field(default="{}", sa_type=sa.Text)
    tie_break: str = Field(default="", max_length=200)
    software_version: str = Field(default="", max_length=80)
    frozen_hash: str | None = Field(default=None, max_length=64)
    # How many different administrators must sign off before the result is certified.
    required_signoffs: int = Field(default=2)
    # Where the vote took place, for the META of the published .pb files (pabulib needs both).
    country: str = Field(default="", max_length=80)
    unit: str = Field(default="", max_length=120)
    started_at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime)
    tallied_at: datetime | None = Field(default=None, sa_type=TZDateTime)
    tallied_by: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    certified_at: datetime | None = Field(default=None, sa_type=TZDateTime)

    @property
    def rule_params_dict(self) -> dict[str, Any]:
        return json.loads(self.rule_params or "{}")

    @property
    def is_public(self) -> bool:
        return self.status in (ResultStatus.TALLIED, ResultStatus.CERTIFIED)


class DistrictResult(IdMixin, table=True):
    __tablename__ = "district_result"
    __table_args__ = (sa.UniqueConstraint("process_id", "district_id"),)

    process_id: int = Field(foreign_key="process.id", ondelete="CASCADE", index=True)
    district_id: int = Field(foreign_key="district.id", ondelete="CASCADE")
    # Canonical JSON of the tally's input (``results.canonical.election_json``) and its SHA-256.
    input_json: str = Field(sa_type=sa.Text)
    input_sha256: str = Field(max_length=64)
    # ``Outcome.to_dict()`` as canonical JSON: rule, params, tie-break, selection, rounds.
    outcome_json: str = Field(sa_type=sa.Text)
    num_voters: int = Field(default=0)
    # Ballots per channel, JSON ``{"online": 120, "paper": 31}``.
    channels: str = Field(default="{}", sa_type=sa.Text)
    tallied_at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime)

    @property
    def outcome(self) -> dict[str, Any]:
        return json.loads(self.outcome_json)

    @property
    def channels_dict(self) -> dict[str, int]:
        return json.loads(self.channels or "{}")


class SignOff(IdMixin, table=True):
    """One administrator's approval of the tallied result, for the two-person rule."""

    __tablename__ = "result_signoff"
    __table_args__ = (sa.UniqueConstraint("process_id", "user_id"),)

    process_id: int = Field(foreign_key="process.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user.id", ondelete="RESTRICT")
    # The result signed: the SHA-256 over the districts' input and outcome digests.
    result_sha256: str = Field(max_length=64)
    signed_at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime)


class CertifiedPackage(IdMixin, table=True):
    """The signed zip published at certification; never updated."""

    __tablename__ = "certified_package"

    process_id: int = Field(foreign_key="process.id", ondelete="CASCADE", unique=True)
    kind: str = Field(max_length=20)
    content: bytes = Field(sa_type=sa.LargeBinary)
    sha256: str = Field(max_length=64)
    manifest_sha256: str = Field(max_length=64)
    public_key: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime)
