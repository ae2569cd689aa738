"""Tables of the voting domain. Writes go through ``ballots.verification`` and ``ballots.service``.

Privacy by construction:

- ``RollEntry`` holds no plaintext: the reference number, birth date and postcode are keyed HMACs
  (key derived from the settings' secret key), salted with the process id.
- ``VotingCode`` holds only a keyed hash of each code; the codes themselves are shown once.
- ``Verification`` links an account to the roll entry or code that made it eligible.
- ``Ballot`` holds no account id: its ``voter_pseudonym`` is a keyed HMAC of the process and the
  roll entry or code, so one verified resident has one ballot per district (unique constraint),
  and an online vote and a paper ballot for the same roll entry collide. Without the secret key a
  copy of the database cannot link a ballot to a verification.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from pb.models import IdMixin, TZDateTime, utcnow

__all__ = [
    "CHANNELS",
    "Ballot",
    "RollEntry",
    "Verification",
    "VerificationAttempt",
    "VotingCode",
]

CHANNELS = ("online", "paper")


class RollEntry(IdMixin, table=True):
    """One resident on a process's roll; identifying fields only as keyed HMACs (hex)."""

    __tablename__ = "roll_entry"
    __table_args__ = (sa.UniqueConstraint("process_id", "reference_hash"),)

    process_id: int = Field(foreign_key="process.id", ondelete="CASCADE", index=True)
    reference_hash: str = Field(max_length=64)
    birth_hash: str = Field(max_length=64)
    postcode_hash: str = Field(max_length=64)
    # JSON list of district ids this resident may vote in, ascending.
    districts: str = Field(default="[]", sa_type=sa.Text)
    imported_at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime)

    @property
    def district_ids(self) -> frozenset[int]:
        return frozenset(int(d) for d in json.loads(self.districts or "[]"))


class VotingCode(IdMixin, table=True):
    """A one-time voting code for one district; only its keyed hash is stored."""

    __tablename__ = "voting_code"

    process_id: int = Field(foreign_key="process.id", ondelete="CASCADE", index=True)
    district_id: int = Field(foreign_key="district.id", ondelete="CASCADE", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    batch: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime)


class Verification(IdMixin, table=True):
    """An account verified for one process, by exactly one roll entry or one code.

    ``eligible_from`` is set only when the resident was under the process's minimum age when
    verifying: the day they reach it (no other trace of the birth date is kept).
    """

    __tablename__ = "verification"
    __table_args__ = (
        sa.UniqueConstraint("process_id", "user_id"),
        sa.CheckConstraint(
            "(roll_entry_id IS NULL) <> (voting_code_id IS NULL)", name="one_source"
        ),
    )

    process_id: int = Field(foreign_key="process.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    roll_entry_id: int | None = Field(
        default=None, foreign_key="roll_entry.id", ondelete="CASCADE", unique=True
    )
    voting_code_id: int | None = Field(
        default=None, foreign_key="voting_code.id", ondelete="CASCADE", unique=True
    )
    eligible_from: date | None = Field(default=None)
    verified_at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime)


class VerificationAttempt(SQLModel, table=True):
    """One verification attempt; failures in the window count towards throttling."""

    __tablename__ = "verification_attempt"
    __table_args__ = (
        sa.Index("ix_verification_attempt_user_at", "user_id", "at"),
        sa.Index("ix_verification_attempt_ip_at", "ip", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    process_id: int = Field(foreign_key="process.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    ip: str = Field(max_length=64)
    succeeded: bool
    at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime, nullable=False)


class Ballot(IdMixin, table=True):
    """One cast ballot: no account id, only the voter's keyed pseudonym.

    ``content`` is the canonical JSON of the validated ballot; ``receipt_hash`` the SHA-256 (hex)
    of the receipt code the voter was shown once.
    """

    __tablename__ = "ballot"
    __table_args__ = (
        sa.UniqueConstraint("process_id", "district_id", "voter_pseudonym"),
        sa.CheckConstraint("channel IN ('online', 'paper')", name="channel_known"),
    )

    process_id: int = Field(foreign_key="process.id", ondelete="CASCADE", index=True)
    district_id: int = Field(foreign_key="district.id", ondelete="CASCADE")
    voter_pseudonym: str = Field(max_length=64)
    channel: str = Field(default="online", max_length=10)
    content: str = Field(sa_type=sa.Text)
    receipt_hash: str = Field(max_length=64, unique=True)
    cast_at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime)
