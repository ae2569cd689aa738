"""Consultation operations: the question builder, answering, results and moderation.

Every write runs on the caller's session and is one transaction with its audit entry; the caller
commits. The builder works only while the consultation is a draft. Answering works only while it
is open, for residents the voting package verifies (``ballots.verification.voter_right``), and
replaces the resident's earlier response; results are computed only once it is closed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from consultations.models import (
    ConsultationAnswer,
    ConsultationOption,
    ConsultationQuestion,
    ConsultationResponse,
)
from consultations.questions import (
    QuestionKind,
    QuestionSpec,
    RawAnswer,
    normalize_config,
    validate_answers,
    validate_options,
)
from consultations.results import ConsultationResults, compute_results, definition_of
from pb import audit
from pb.accounts import AccountService, Role, User
from pb.errors import Conflict, Forbidden, InvalidInput, NotEligible, NotFound
from pb.models import utcnow
from pb.processes import Phase, Process, ProcessKind, WrongPhase
from pb.settings import Settings

__all__ = [
    "ConsultationService",
    "Receipt",
    "TextAnswer",
    "VoterRightLike",
    "question_input",
]

MAX_PROMPT = 500
MAX_HELP = 2000
MAX_REASON = 500


class VoterRightLike(Protocol):
    process_id: int
    districts: frozenset[int]
    pseudonym: str


VoterRightFn = Callable[[AsyncSession, Settings, int, int], Awaitable[VoterRightLike]]


async def _default_voter_right(
    session: AsyncSession, settings: Settings, process_id: int, user_id: int
) -> VoterRightLike:
    try:
        from ballots.verification import voter_right
    except ImportError:
        raise NotEligible("Resident verification is not available on this site yet.") from None
    return await voter_right(session, settings, process_id, user_id)


def _receipt_pair() -> tuple[str, str]:
    """A receipt code for the resident and its SHA-256, from the voting package when present."""
    try:
        from ballots.verification import receipt_pair
    except ImportError:
        code = secrets.token_urlsafe(16)
        return code, hashlib.sha256(code.encode("utf-8")).hexdigest()
    return receipt_pair()


def _receipt_digest(code: str) -> str:
    """The stored hash of a receipt code as the resident types it."""
    try:
        from ballots.verification import receipt_hash
    except ImportError:
        return hashlib.sha256(code.strip().encode("utf-8")).hexdigest()
    return receipt_hash(code)


@dataclass(frozen=True)
class Receipt:
    """What the resident is shown once: the code, and its hash as published in the results."""

    code: str
    sha256: str
    replaced: bool


@dataclass(frozen=True)
class TextAnswer:
    id: int
    question_id: int
    text: str
    is_hidden: bool
    hidden_reason: str


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _optional_id(value: Any, what: str, field: str) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    raise InvalidInput(f"Choose {what} from the list.", field=field)


def _parse_labels(value: Any) -> dict[str, str]:
    """Scale labels as ``{"1": "Poor", "5": "Excellent"}`` or lines ``1 = Poor``."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    labels: dict[str, str] = {}
    for line in str(value or "").splitlines():
        if not line.strip():
            continue
        point, sep, text = line.partition("=")
        if not sep or not point.strip().isdecimal():
            raise InvalidInput(
                "Write each scale label on its own line as “1 = Not at all”.", field="labels"
            )
        labels[point.strip()] = text.strip()
    return labels


@dataclass(frozen=True)
class QuestionInput:
    kind: QuestionKind
    prompt: str
    help_text: str
    required: bool
    options: list[str]
    config: dict[str, Any]
    district_id: int | None
    condition_question_id: int | None
    condition_option_id: int | None


def question_input(values: Mapping[str, Any]) -> QuestionInput:
    """Check the builder's form (or a dict from code) and return the cleaned question."""
    try:
        kind = QuestionKind(_text(values, "kind") or str(values.get("kind", "")))
    except ValueError:
        raise InvalidInput("Choose the kind of question.", field="kind") from None
    prompt = _text(values, "prompt")
    if len(prompt) < 3:
        raise InvalidInput("Write the question (at least 3 characters).", field="prompt")
    if len(prompt) > MAX_PROMPT:
        raise InvalidInput(
            f"The question can have at most {MAX_PROMPT} characters.", field="prompt"
        )
    help_text = _text(values, "help_text")
    if len(help_text) > MAX_HELP:
        raise InvalidInput(
            f"The help text can have at most {MAX_HELP} characters.", field="help_text"
        )
    raw_options = values.get("options", [])
    if isinstance(raw_options, str):
        raw_options = raw_options.splitlines()
    options = validate_options(kind, list(raw_options))
    required = values.get("required", False)
    required = required in (True, "1", "on", "true", "yes")
    config_in = {
        key: values.get(key)
        for key in ("min", "max", "top_k", "rule", "points", "max_length")
        if values.get(key) not in (None, "")
    }
    if kind is QuestionKind.SCALE:
        config_in["labels"] = _parse_labels(values.get("labels", {}))
    config = normalize_config(kind, config_in, len(options))
    condition_q = _optional_id(
        values.get("condition_question_id"), "a question", "condition_question_id"
    )
    condition_o = _optional_id(
        values.get("condition_option_id"), "an answer", "condition_option_id"
    )
    if (condition_q is None) != (condition_o is None):
        raise InvalidInput(
            "A condition needs both the earlier question and the answer that shows this one.",
            field="condition_option_id",
        )
    return QuestionInput(
        kind=kind,
        prompt=prompt,
        help_text=help_text,
        required=required,
        options=options,
        config=config,
        district_id=_optional_id(values.get("district_id"), "a district", "district_id"),
        condition_question_id=condition_q,
        condition_option_id=condition_o,
    )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class ConsultationService:
    """Operations on one site's consultations, on the request's session."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        *,
        voter_right: VoterRightFn | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self._voter_right = voter_right or _default_voter_right

    # ---- reads ------------------------------------------------------------------------------

    async def process(self, process_id: int) -> Process:
        process = await self.session.get(Process, process_id)
        if process is None or process.kind != ProcessKind.CONSULTATION:
            raise NotFound("No such consultation.")
        return process

    async def process_by_slug(self, slug: str) -> Process:
        result = await self.session.exec(select(Process).where(Process.slug == slug))
        process = result.first()
        if process is None or process.kind != ProcessKind.CONSULTATION:
            raise NotFound("No such consultation.")
        return process

    async def questions(self, process_id: int) -> list[ConsultationQuestion]:
        stmt = (
            select(ConsultationQuestion)
            .where(ConsultationQuestion.process_id == process_id)
            .order_by(ConsultationQuestion.position, ConsultationQuestion.id)
        )
        return list((await self.session.exec(stmt)).all())

    async def options(self, process_id: int) -> dict[int, list[ConsultationOption]]:
        stmt = (
            select(ConsultationOption)
            .join(ConsultationQuestion, ConsultationQuestion.id == ConsultationOption.question_id)
            .where(ConsultationQuestion.process_id == process_id)
            .order_by(ConsultationOption.position, ConsultationOption.id)
        )
        grouped: dict[int, list[ConsultationOption]] = {}
        for option in (await self.session.exec(stmt)).all():
            grouped.setdefault(option.question_id, []).append(option)
        return grouped

    async def specs(self, process_id: int) -> list[QuestionSpec]:
        options = await self.options(process_id)
        return [
            QuestionSpec(
                id=q.id,
                kind=QuestionKind(q.kind),
                prompt=q.prompt,
                required=q.required,
                options=tuple(o.id for o in options.get(q.id, [])),
                option_labels={o.id: o.label for o in options.get(q.id, [])},
                config=q.config_dict,
                district_id=q.district_id,
                condition_question_id=q.condition_question_id,
                condition_option_id=q.condition_option_id,
            )
            for q in await self.questions(process_id)
        ]

    async def question(self, process_id: int, question_id: int) -> ConsultationQuestion:
        question = await self.session.get(ConsultationQuestion, question_id)
        if question is None or question.process_id != process_id:
            raise NotFound("No such question in this consultation.")
        return question

    async def response_count(self, process_id: int) -> int:
        stmt = (
            select(sa.func.count())
            .select_from(ConsultationResponse)
            .where(ConsultationResponse.process_id == process_id)
        )
        return int((await self.session.exec(stmt)).one())

    # ---- builder ----------------------------------------------------------------------------

    async def _require_role(self, actor: User | None, *roles: Role, what: str) -> None:
        if actor is None:
            raise Forbidden(f"Only {what} can do this.")
        held = await AccountService(self.session, self.settings).roles_of(actor.id)
        if not any(role in held for role in roles):
            raise Forbidden(f"Only {what} can do this.")

    async def require_admin(self, actor: User | None) -> None:
        await self._require_role(actor, Role.ADMIN, what="an administrator")

    async def _editable(self, actor: User | None, process_id: int) -> Process:
        await self.require_admin(actor)
        process = await self.process(process_id)
        if process.phase != Phase.DRAFT:
            raise WrongPhase(
                "The questions are locked since the consultation opened; they can no longer change."
            )
        return process

    async def _check_targets(
        self, process_id: int, data: QuestionInput, question_id: int | None, position: int
    ) -> None:
        if data.district_id is not None:
            from pb.processes import District

            district = await self.session.get(District, data.district_id)
            if district is None or district.process_id != process_id:
                raise InvalidInput("Choose a district of this consultation.", field="district_id")
        if data.condition_question_id is None:
            return
        if data.condition_question_id == question_id:
            raise InvalidInput(
                "A question cannot depend on its own answer.", field="condition_question_id"
            )
        base = await self.session.get(ConsultationQuestion, data.condition_question_id)
        if base is None or base.process_id != process_id:
            raise InvalidInput(
                "Choose an earlier question of this consultation.", field="condition_question_id"
            )
        if (base.position, base.id) >= (position, question_id or 2**62):
            raise InvalidInput(
                "A condition must refer to an earlier question.", field="condition_question_id"
            )
        if base.condition_question_id is not None:
            raise InvalidInput(
                "That question is itself conditional; conditions go one level deep only.",
                field="condition_question_id",
            )
        if QuestionKind(base.kind) not in (
            QuestionKind.YES_NO,
            QuestionKind.SINGLE,
            QuestionKind.MULTIPLE,
        ):
            raise InvalidInput(
                "A condition can refer to a yes/no, single or multiple choice question.",
                field="condition_question_id",
            )
        option = await self.session.get(ConsultationOption, data.condition_option_id)
        if option is None or option.question_id != base.id:
            raise InvalidInput(
                "Choose an answer of the question the condition refers to.",
                field="condition_option_id",
            )

    async def add_question(
        self, actor: User | None, process_id: int, values: Mapping[str, Any]
    ) -> ConsultationQuestion:
        await self._editable(actor, process_id)
        data = question_input(values)
        last = await self.session.exec(
            select(sa.func.max(ConsultationQuestion.position)).where(
                ConsultationQuestion.process_id == process_id
            )
        )
        position = (last.one() or 0) + 1
        await self._check_targets(process_id, data, None, position)
        question = ConsultationQuestion(
            process_id=process_id,
            position=position,
            kind=data.kind,
            prompt=data.prompt,
            help_text=data.help_text,
            required=data.required,
            config=_canonical(data.config),
            district_id=data.district_id,
            condition_question_id=data.condition_question_id,
            condition_option_id=data.condition_option_id,
        )
        self.session.add(question)
        await self.session.flush()
        for i, label in enumerate(data.options, start=1):
            self.session.add(ConsultationOption(question_id=question.id, position=i, label=label))
        await self.session.flush()
        await audit.append(
            self.session,
            "consultation.question_added",
            actor_id=actor.id if actor else None,
            subject=f"process:{process_id}",
            data={"question_id": question.id, **_summary(question, data.options)},
        )
        return question

    async def update_question(
        self, actor: User | None, process_id: int, question_id: int, values: Mapping[str, Any]
    ) -> ConsultationQuestion:
        await self._editable(actor, process_id)
        question = await self.question(process_id, question_id)
        data = question_input(values)
        await self._check_targets(process_id, data, question.id, question.position)
        existing = (await self.options(process_id)).get(question.id, [])
        before = _summary(question, [o.label for o in existing])
        dependants = await self._dependants(question.id)
        if dependants and QuestionKind(data.kind) != QuestionKind(question.kind):
            raise Conflict(
                "Another question depends on this one's answers; remove that condition before "
                "changing the kind.",
                field="kind",
            )
        # Options are matched by position, so a renamed option keeps its id (and any condition).
        kept = existing[: len(data.options)]
        removed = existing[len(data.options) :]
        needed = {d.condition_option_id for d in dependants}
        if any(o.id in needed for o in removed):
            raise Conflict(
                "Another question depends on an option you removed; remove that condition first.",
                field="options",
            )
        for option in removed:
            await self.session.delete(option)
        await self.session.flush()
        # Two passes so swapping two labels does not trip the unique (question, label) key.
        for option in kept:
            option.label = f"\u2060renaming-{option.id}"
            self.session.add(option)
        await self.session.flush()
        for option, label in zip(kept, data.options, strict=False):
            option.label = label
            self.session.add(option)
        for i, label in enumerate(data.options[len(kept) :], start=len(kept) + 1):
            self.session.add(ConsultationOption(question_id=question.id, position=i, label=label))
        question.kind = data.kind
        question.prompt = data.prompt
        question.help_text = data.help_text
        question.required = data.required
        question.config = _canonical(data.config)
        question.district_id = data.district_id
        question.condition_question_id = data.condition_question_id
        question.condition_option_id = data.condition_option_id
        question.updated_at = utcnow()
        self.session.add(question)
        await self.session.flush()
        await audit.append(
            self.session,
            "consultation.question_updated",
            actor_id=actor.id if actor else None,
            subject=f"process:{process_id}",
            data={
                "question_id": question.id,
                "before": before,
                "after": _summary(question, data.options),
            },
        )
        return question

    async def _dependants(self, question_id: int) -> list[ConsultationQuestion]:
        stmt = select(ConsultationQuestion).where(
            ConsultationQuestion.condition_question_id == question_id
        )
        return list((await self.session.exec(stmt)).all())

    async def move_question(
        self, actor: User | None, process_id: int, question_id: int, direction: str
    ) -> None:
        """Swap a question with its neighbour above (``up``) or below (``down``)."""
        await self._editable(actor, process_id)
        if direction not in ("up", "down"):
            raise InvalidInput("Move a question up or down.", field="direction")
        questions = await self.questions(process_id)
        index = next((i for i, q in enumerate(questions) if q.id == question_id), None)
        if index is None:
            raise NotFound("No such question in this consultation.")
        other_index = index - 1 if direction == "up" else index + 1
        if not 0 <= other_index < len(questions):
            raise InvalidInput(
                f"This question is already {'first' if direction == 'up' else 'last'}.",
                field="direction",
            )
        first, second = sorted((index, other_index))
        upper, lower = questions[first], questions[second]
        if lower.condition_question_id == upper.id:
            raise Conflict(
                f"“{lower.prompt}” depends on “{upper.prompt}” and must stay after it.",
                field="direction",
            )
        # Renumber everything so equal or sparse positions cannot make the swap a no-op.
        questions[first], questions[second] = lower, upper
        for position, q in enumerate(questions, start=1):
            if q.position != position:
                q.position = position
                self.session.add(q)
        await self.session.flush()
        await audit.append(
            self.session,
            "consultation.question_moved",
            actor_id=actor.id if actor else None,
            subject=f"process:{process_id}",
            data={
                "question_id": question_id,
                "direction": direction,
                "order": [q.id for q in questions],
            },
        )

    async def delete_question(self, actor: User | None, process_id: int, question_id: int) -> None:
        await self._editable(actor, process_id)
        question = await self.question(process_id, question_id)
        dependants = await self._dependants(question.id)
        if dependants:
            raise Conflict(
                f"“{dependants[0].prompt}” depends on this question; remove that condition first."
            )
        options = (await self.options(process_id)).get(question.id, [])
        summary = _summary(question, [o.label for o in options])
        for option in options:
            await self.session.delete(option)
        await self.session.delete(question)
        await self.session.flush()
        await audit.append(
            self.session,
            "consultation.question_deleted",
            actor_id=actor.id if actor else None,
            subject=f"process:{process_id}",
            data={"question_id": question_id, **summary},
        )

    # ---- answering --------------------------------------------------------------------------

    async def voter_right(self, user: User | None, process_id: int) -> VoterRightLike:
        if user is None or user.id is None:
            raise NotEligible("Sign in and verify your residence to answer.")
        return await self._voter_right(self.session, self.settings, process_id, user.id)

    async def has_responded(self, pseudonym: str, process_id: int) -> bool:
        stmt = select(ConsultationResponse.id).where(
            ConsultationResponse.process_id == process_id,
            ConsultationResponse.voter_pseudonym == pseudonym,
        )
        return (await self.session.exec(stmt)).first() is not None

    async def respond(
        self, user: User | None, process_id: int, answers: Mapping[int, RawAnswer]
    ) -> Receipt:
        """Record (or replace) the resident's response; all of it or nothing.

        The process row is read with a share lock so closing the consultation waits for
        responses in flight (and a response after the close sees the new phase). The response
        row is written with an upsert on its unique key, which also serialises concurrent
        submissions by the same resident: the last one wins, each one gets an answer.
        """
        process = await self._locked(process_id)
        if process.phase != Phase.OPEN:
            raise WrongPhase(
                "Answers are accepted only while the consultation is open "
                f"(it is now {process.phase_label.lower()})."
            )
        right = await self.voter_right(user, process_id)
        if right.process_id != process_id:
            raise NotEligible("Your verification is for another process.")
        values = validate_answers(await self.specs(process_id), answers, frozenset(right.districts))
        if not values:
            raise InvalidInput("Answer at least one question before sending.")
        code, digest = _receipt_pair()
        now = utcnow()
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(ConsultationResponse).values(
            process_id=process_id,
            voter_pseudonym=right.pseudonym,
            receipt_hash=digest,
            created_at=now,
            updated_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["process_id", "voter_pseudonym"],
            set_={"receipt_hash": stmt.excluded.receipt_hash, "updated_at": now},
        ).returning(ConsultationResponse.id, ConsultationResponse.created_at)
        response_id, created_at = (await self.session.exec(stmt)).one()
        replaced = created_at != now
        await self.session.exec(
            sa.delete(ConsultationAnswer).where(ConsultationAnswer.response_id == response_id)
        )
        for question_id, value in values.items():
            self.session.add(
                ConsultationAnswer(
                    response_id=response_id, question_id=question_id, value=_canonical(value)
                )
            )
        await self.session.flush()
        # No actor and no pseudonym: the log must not link a resident to a response.
        await audit.append(
            self.session,
            "consultation.response_replaced" if replaced else "consultation.response_recorded",
            subject=f"process:{process_id}",
            data={"receipt_hash": digest},
        )
        return Receipt(code=code, sha256=digest, replaced=replaced)

    async def _locked(self, process_id: int) -> Process:
        stmt = select(Process).where(Process.id == process_id).with_for_update(read=True)
        process = (await self.session.exec(stmt)).first()
        if process is None or process.kind != ProcessKind.CONSULTATION:
            raise NotFound("No such consultation.")
        await self.session.refresh(process)
        return process

    async def receipt_counted(self, process_id: int, code: str) -> bool:
        digest = _receipt_digest(code)
        stmt = select(ConsultationResponse.id).where(
            ConsultationResponse.process_id == process_id,
            ConsultationResponse.receipt_hash == digest,
        )
        return (await self.session.exec(stmt)).first() is not None

    # ---- results ----------------------------------------------------------------------------

    def _require_closed(self, process: Process) -> None:
        if process.phase not in (Phase.CLOSED, Phase.CERTIFIED):
            raise WrongPhase("Results are published when the consultation closes.")

    async def definition(self, process_id: int) -> dict[str, Any]:
        process = await self.process(process_id)
        return definition_of(
            process, await self.questions(process_id), await self.options(process_id)
        )

    async def anonymised_responses(self, process_id: int) -> list[dict[str, Any]]:
        """Every response as ``{"receipt_hash", "answers"}``, sorted by receipt hash.

        No pseudonym and no time: the order says nothing about who answered when. Hidden
        free-text answers appear as ``null`` with the question listed under ``hidden``.
        """
        process = await self.process(process_id)
        self._require_closed(process)
        stmt = select(ConsultationResponse.id, ConsultationResponse.receipt_hash).where(
            ConsultationResponse.process_id == process_id
        )
        receipts = dict((await self.session.exec(stmt)).all())
        answers_stmt = (
            select(ConsultationAnswer)
            .where(col(ConsultationAnswer.response_id).in_(list(receipts) or [-1]))
            .order_by(ConsultationAnswer.question_id)
        )
        by_response: dict[int, dict[str, Any]] = {
            rid: {"receipt_hash": digest, "answers": {}, "hidden": []}
            for rid, digest in receipts.items()
        }
        for answer in (await self.session.exec(answers_stmt)).all():
            entry = by_response[answer.response_id]
            if answer.is_hidden:
                entry["answers"][str(answer.question_id)] = None
                entry["hidden"].append(answer.question_id)
            else:
                entry["answers"][str(answer.question_id)] = json.loads(answer.value)
        return sorted(by_response.values(), key=lambda r: r["receipt_hash"])

    async def results(self, process_id: int) -> ConsultationResults:
        """Exact results of every question; refused before the consultation closes."""
        process = await self.process(process_id)
        self._require_closed(process)
        return compute_results(
            await self.definition(process_id), await self.anonymised_responses(process_id)
        )

    # ---- moderation of free text ------------------------------------------------------------

    async def text_answers(self, actor: User | None, process_id: int) -> list[TextAnswer]:
        await self._require_role(actor, Role.MODERATOR, Role.ADMIN, what="a moderator")
        process = await self.process(process_id)
        self._require_closed(process)
        stmt = (
            select(ConsultationAnswer)
            .join(ConsultationQuestion, ConsultationQuestion.id == ConsultationAnswer.question_id)
            .where(
                ConsultationQuestion.process_id == process_id,
                ConsultationQuestion.kind == QuestionKind.TEXT,
            )
            .order_by(
                ConsultationQuestion.position, ConsultationAnswer.question_id, ConsultationAnswer.id
            )
        )
        return [
            TextAnswer(a.id, a.question_id, json.loads(a.value), a.is_hidden, a.hidden_reason)
            for a in (await self.session.exec(stmt)).all()
        ]

    async def moderate_text(
        self, actor: User | None, process_id: int, answer_id: int, *, hide: bool, reason: str = ""
    ) -> ConsultationAnswer:
        """Hide an abusive free-text answer (with a reason) or show it again; logged."""
        await self._require_role(actor, Role.MODERATOR, Role.ADMIN, what="a moderator")
        process = await self.process(process_id)
        if process.phase != Phase.CLOSED:
            raise WrongPhase(
                "Free-text answers are moderated after the close and before certification."
            )
        reason = reason.strip()
        if hide and not reason:
            raise InvalidInput("Say why the answer is hidden.", field="reason")
        if len(reason) > MAX_REASON:
            raise InvalidInput(
                f"The reason can have at most {MAX_REASON} characters.", field="reason"
            )
        answer = await self.session.get(ConsultationAnswer, answer_id)
        question = (
            await self.session.get(ConsultationQuestion, answer.question_id) if answer else None
        )
        if answer is None or question is None or question.process_id != process_id:
            raise NotFound("No such answer in this consultation.")
        if question.kind != QuestionKind.TEXT:
            raise InvalidInput("Only free-text answers are moderated.")
        answer.is_hidden = hide
        answer.hidden_reason = reason if hide else ""
        self.session.add(answer)
        await self.session.flush()
        await audit.append(
            self.session,
            "consultation.text_hidden" if hide else "consultation.text_shown",
            actor_id=actor.id if actor else None,
            subject=f"process:{process_id}",
            data={"answer_id": answer.id, "question_id": question.id, "reason": reason},
        )
        return answer


def _summary(question: ConsultationQuestion, options: Sequence[str]) -> dict[str, Any]:
    return {
        "kind": question.kind,
        "prompt": question.prompt,
        "required": question.required,
        "config": question.config_dict,
        "options": list(options),
        "district_id": question.district_id,
        "condition": (
            [question.condition_question_id, question.condition_option_id]
            if question.condition_question_id
            else None
        ),
    }
