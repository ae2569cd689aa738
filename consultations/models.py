"""Consultation tables: questions, options, anonymous responses, answers and certified packages.

A response carries no account: only ``voter_pseudonym`` (a keyed HMAC from the voting package,
stable per verified resident and process) and the SHA-256 of the receipt code shown once to the
resident. The database enforces one response per pseudonym per process; replacing a response
before the close updates that row and rewrites its answers in the same transaction.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from pb.models import IdMixin, TimestampMixin, TZDateTime, utcnow

__all__ = [
    "ConsultationAnswer",
    "ConsultationOption",
    "ConsultationPackage",
    "ConsultationQuestion",
    "ConsultationResponse",
]


class ConsultationQuestion(IdMixin, TimestampMixin, table=True):
    """One question, in ``position`` order; targeted to one district or to everyone."""

    __tablename__ = "consultation_question"

    process_id: int = Field(foreign_key="process.id", ondelete="CASCADE", index=True)
    position: int = Field(default=0)
    kind: str = Field(max_length=20)
    prompt: str = Field(max_length=500)
    help_text: str = Field(default="", sa_type=sa.Text)
    required: bool = Field(default=True)
    # Kind-specific settings, canonical JSON (see consultations.questions.normalize_config).
    config: str = Field(default="{}", sa_type=sa.Text)
    district_id: int | None = Field(
        default=None, foreign_key="district.id", ondelete="SET NULL", index=True
    )
    # "Show only when question Q's answer includes option O" (one level, Q is earlier).
    condition_question_id: int | None = Field(
        default=None, foreign_key="consultation_question.id", ondelete="SET NULL"
    )
    # No foreign key: options reference their question, and a cycle of keys cannot be created
    # table by table. The service clears the condition when the option goes.
    condition_option_id: int | None = Field(default=None)

    @property
    def config_dict(self) -> dict[str, Any]:
        return json.loads(self.config or "{}")


class ConsultationOption(IdMixin, table=True):
    __tablename__ = "consultation_option"
    __table_args__ = (sa.UniqueConstraint("question_id", "label"),)

    question_id: int = Field(foreign_key="consultation_question.id", ondelete="CASCADE", index=True)
    position: int = Field(default=0)
    label: str = Field(max_length=200)


class ConsultationResponse(IdMixin, TimestampMixin, table=True):
    """One resident's response, without identity: the last word on "one response each"."""

    __tablename__ = "consultation_response"
    __table_args__ = (sa.UniqueConstraint("process_id", "voter_pseudonym"),)

    process_id: int = Field(foreign_key="process.id", ondelete="CASCADE", index=True)
    voter_pseudonym: str = Field(max_length=128)
    receipt_hash: str = Field(max_length=64, unique=True)


class ConsultationAnswer(IdMixin, table=True):
    """One answer of a response; ``value`` is canonical JSON (see consultations.questions)."""

    __tablename__ = "consultation_answer"
    __table_args__ = (sa.UniqueConstraint("response_id", "question_id"),)

    response_id: int = Field(foreign_key="consultation_response.id", ondelete="CASCADE", index=True)
    question_id: int = Field(foreign_key="consultation_question.id", ondelete="CASCADE", index=True)
    value: str = Field(sa_type=sa.Text)
    # Free-text answers hidden by a moderator (abusive): kept, counted, never published.
    is_hidden: bool = Field(default=False)
    hidden_reason: str = Field(default="", max_length=500)


class ConsultationPackage(SQLModel, table=True):
    """The certified results package of a consultation (a signed zip), kept for download."""

    __tablename__ = "consultation_package"

    process_id: int = Field(foreign_key="process.id", ondelete="CASCADE", primary_key=True)
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_type=sa.LargeBinary)
    actor_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZDateTime, nullable=False)
