"""Question kinds, their configuration and the validation of a resident's answers (pure).

Nothing here touches the database: the service turns rows into ``QuestionSpec`` values, and the
recount of a certified package uses the same specs read back from its JSON. Every refusal is an
``InvalidInput`` whose ``field`` names the question (``q<id>``) and whose message says what to fix.

Answer values, once validated, are plain JSON data:

==========  ==================================================  ==============================
kind        what the resident gives                              stored value
==========  ==================================================  ==============================
yes_no      one of its two options ("Yes", "No")                 option id (int)
single      one option                                           option id (int)
multiple    between ``min`` and ``max`` options                  sorted list of option ids
ranked      up to ``top_k`` options, ranks 1, 2, … without gaps  list of option ids, best first
scale       a whole number from 1 to ``points``                  int
text        at most ``max_length`` characters                    str (stripped)
==========  ==================================================  ==============================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pb.errors import InvalidInput

__all__ = [
    "KIND_LABELS",
    "MAX_SCALE_POINTS",
    "MAX_TEXT_LENGTH",
    "AnswerValue",
    "QuestionKind",
    "QuestionSpec",
    "RawAnswer",
    "applies_to",
    "field_name",
    "normalize_config",
    "validate_answers",
    "validate_options",
]

MAX_SCALE_POINTS = 11
MAX_TEXT_LENGTH = 5000
MAX_OPTIONS = 50
MAX_OPTION_LABEL = 200


class QuestionKind(StrEnum):
    YES_NO = "yes_no"
    SINGLE = "single"
    MULTIPLE = "multiple"
    RANKED = "ranked"
    SCALE = "scale"
    TEXT = "text"


KIND_LABELS: dict[QuestionKind, str] = {
    QuestionKind.YES_NO: "Yes / no",
    QuestionKind.SINGLE: "Single choice",
    QuestionKind.MULTIPLE: "Multiple choice",
    QuestionKind.RANKED: "Ranking",
    QuestionKind.SCALE: "Scale",
    QuestionKind.TEXT: "Free text",
}

# Kinds whose options are written by the council (yes/no has fixed ones; scale and text none).
WITH_OPTIONS = frozenset({QuestionKind.SINGLE, QuestionKind.MULTIPLE, QuestionKind.RANKED})
YES_NO_LABELS = ("Yes", "No")

AnswerValue = int | list[int] | str
# A form gives one string, several strings (checkboxes) or ``{option id: rank}`` (ranking).
RawAnswer = str | Sequence[str] | Mapping[str, str] | None


@dataclass(frozen=True)
class QuestionSpec:
    """What validation needs to know about one question."""

    id: int
    kind: QuestionKind
    prompt: str
    required: bool = True
    options: tuple[int, ...] = ()
    option_labels: Mapping[int, str] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    district_id: int | None = None
    condition_question_id: int | None = None
    condition_option_id: int | None = None


def field_name(question_id: int) -> str:
    return f"q{question_id}"


# ------------------------------------------------------------------------------ configuration
def _whole(value: Any, what: str, field_: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise InvalidInput(f"{what} must be a whole number.", field=field_)
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("-").isdecimal():
            raise InvalidInput(f"{what} must be a whole number.", field=field_)
        value = int(text)
    if not isinstance(value, int):
        raise InvalidInput(f"{what} must be a whole number.", field=field_)
    if not low <= value <= high:
        raise InvalidInput(f"{what} must be from {low} to {high}.", field=field_)
    return value


def normalize_config(
    kind: QuestionKind | str, config: Mapping[str, Any], n_options: int
) -> dict[str, Any]:
    """The canonical configuration of a question of ``kind`` with ``n_options`` options.

    multiple: ``min``/``max`` selections (defaults 0 and all); ranked: ``top_k`` (default all)
    and ``rule`` (``instant-runoff`` or ``schulze``, both are always shown; this one is the
    headline); scale: ``points`` (2 to 11) and ``labels`` (text for some points); text:
    ``max_length`` (1 to 5000).
    """
    try:
        kind = QuestionKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in QuestionKind)
        raise InvalidInput(
            f"Unknown question kind {kind!r} (known: {known}).", field="kind"
        ) from None
    if kind is QuestionKind.MULTIPLE:
        high = max(n_options, 1)
        low = _whole(config.get("min", 0) or 0, "The minimum number of choices", "min", 0, high)
        top = _whole(
            config.get("max") or n_options or 1, "The maximum number of choices", "max", 1, high
        )
        if low > top:
            raise InvalidInput("The minimum number of choices is above the maximum.", field="min")
        return {"min": low, "max": top}
    if kind is QuestionKind.RANKED:
        high = max(n_options, 1)
        top_k = _whole(config.get("top_k") or n_options or 1, "Ranks to fill", "top_k", 1, high)
        rule = config.get("rule") or "instant-runoff"
        if rule not in ("instant-runoff", "schulze"):
            raise InvalidInput("The counting rule must be instant-runoff or schulze.", field="rule")
        return {"top_k": top_k, "rule": rule}
    if kind is QuestionKind.SCALE:
        points = _whole(
            config.get("points") or 5, "The number of points", "points", 2, MAX_SCALE_POINTS
        )
        labels_in = config.get("labels") or {}
        if not isinstance(labels_in, Mapping):
            raise InvalidInput("Scale labels must map points to text.", field="labels")
        labels: dict[str, str] = {}
        for key, text in labels_in.items():
            point = _whole(key, "A labelled point", "labels", 1, points)
            text = str(text or "").strip()
            if len(text) > 80:
                raise InvalidInput("A scale label can have at most 80 characters.", field="labels")
            if text:
                labels[str(point)] = text
        return {"points": points, "labels": dict(sorted(labels.items(), key=lambda kv: int(kv[0])))}
    if kind is QuestionKind.TEXT:
        length = _whole(
            config.get("max_length") or 500, "The maximum length", "max_length", 1, MAX_TEXT_LENGTH
        )
        return {"max_length": length}
    return {}


def validate_options(kind: QuestionKind | str, labels: Sequence[str]) -> list[str]:
    """The cleaned option labels of a question: stripped, non-empty, unique, at least two."""
    kind = QuestionKind(kind)
    if kind is QuestionKind.YES_NO:
        return list(YES_NO_LABELS)
    if kind not in WITH_OPTIONS:
        return []
    cleaned = [label.strip() for label in labels if label and label.strip()]
    if len(cleaned) < 2:
        raise InvalidInput("Give at least two options, one per line.", field="options")
    if len(cleaned) > MAX_OPTIONS:
        raise InvalidInput(f"A question can have at most {MAX_OPTIONS} options.", field="options")
    long = next((label for label in cleaned if len(label) > MAX_OPTION_LABEL), None)
    if long is not None:
        raise InvalidInput(
            f"An option can have at most {MAX_OPTION_LABEL} characters.", field="options"
        )
    seen: set[str] = set()
    for label in cleaned:
        if label.casefold() in seen:
            raise InvalidInput(f"The option “{label}” is listed twice.", field="options")
        seen.add(label.casefold())
    return cleaned


# ----------------------------------------------------------------------------------- answers
def applies_to(question: QuestionSpec, districts: frozenset[int]) -> bool:
    """Whether a resident allowed to answer for ``districts`` is asked ``question``."""
    return question.district_id is None or question.district_id in districts


def _selected(value: AnswerValue | None) -> set[int]:
    if value is None:
        return set()
    if isinstance(value, int):
        return {value}
    if isinstance(value, list):
        return set(value)
    return set()


def _is_blank(raw: RawAnswer) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    if isinstance(raw, Mapping):
        return all(not str(v).strip() for v in raw.values())
    return all(not str(v).strip() for v in raw)


def _option(q: QuestionSpec, text: str, number: int) -> int:
    name = field_name(q.id)
    if not text.strip().isdecimal() or int(text) not in q.options:
        raise InvalidInput(
            f"Question {number}: choose one of the options of this question.", field=name
        )
    return int(text)


def _answer(q: QuestionSpec, raw: RawAnswer, number: int) -> AnswerValue:
    """The stored value of a non-blank answer to ``q``, or ``InvalidInput``."""
    name = field_name(q.id)
    if q.kind in (QuestionKind.YES_NO, QuestionKind.SINGLE):
        values = (
            [raw]
            if isinstance(raw, str)
            else list(raw.values() if isinstance(raw, Mapping) else raw or [])
        )
        values = [v for v in values if str(v).strip()]
        if len(values) != 1:
            raise InvalidInput(f"Question {number}: choose exactly one option.", field=name)
        return _option(q, str(values[0]), number)
    if q.kind is QuestionKind.MULTIPLE:
        values = [raw] if isinstance(raw, str) else list(raw or [])
        chosen = [_option(q, str(v), number) for v in values if str(v).strip()]
        if len(set(chosen)) != len(chosen):
            raise InvalidInput(f"Question {number}: an option is chosen twice.", field=name)
        low, high = int(q.config.get("min", 0)), int(q.config.get("max", len(q.options)))
        if len(chosen) < max(low, 1):
            at_least = max(low, 1)
            raise InvalidInput(
                f"Question {number}: choose at least {at_least} option{'s' if at_least > 1 else ''}.",
                field=name,
            )
        if len(chosen) > high:
            raise InvalidInput(
                f"Question {number}: choose at most {high} option{'s' if high > 1 else ''}.",
                field=name,
            )
        return sorted(chosen)
    if q.kind is QuestionKind.RANKED:
        return _ranking(q, raw, number)
    if q.kind is QuestionKind.SCALE:
        points = int(q.config.get("points", 5))
        text = raw if isinstance(raw, str) else ""
        if not text.strip().lstrip("-").isdecimal() or not 1 <= int(text) <= points:
            raise InvalidInput(
                f"Question {number}: choose a whole number from 1 to {points}.", field=name
            )
        return int(text)
    # text
    text = raw if isinstance(raw, str) else ""
    text = text.replace("\r\n", "\n").strip()
    limit = int(q.config.get("max_length", 500))
    if len(text) > limit:
        raise InvalidInput(
            f"Question {number}: your answer has {len(text)} characters; the limit is {limit}.",
            field=name,
        )
    return text


def _ranking(q: QuestionSpec, raw: RawAnswer, number: int) -> list[int]:
    """A ranking from ``{option id: rank}`` (a form) or from a list of option ids, best first."""
    name = field_name(q.id)
    top_k = int(q.config.get("top_k", len(q.options)))
    if isinstance(raw, Mapping):
        ranks: dict[int, int] = {}
        for option_text, rank_text in raw.items():
            rank_text = str(rank_text).strip()
            if not rank_text:
                continue
            option = _option(q, str(option_text), number)
            if not rank_text.isdecimal() or not 1 <= int(rank_text) <= top_k:
                raise InvalidInput(f"Question {number}: ranks go from 1 to {top_k}.", field=name)
            ranks[option] = int(rank_text)
        used = sorted(ranks.values())
        if len(set(used)) != len(used):
            repeated = next(r for r in used if used.count(r) > 1)
            raise InvalidInput(
                f"Question {number}: rank {repeated} is given to more than one option; "
                "give each rank once.",
                field=name,
            )
        if used != list(range(1, len(used) + 1)):
            raise InvalidInput(
                f"Question {number}: use ranks 1, 2, 3… in order without gaps.", field=name
            )
        return [option for option, _ in sorted(ranks.items(), key=lambda kv: kv[1])]
    values = [raw] if isinstance(raw, str) else list(raw or [])
    order = [_option(q, str(v), number) for v in values]
    if len(set(order)) != len(order):
        raise InvalidInput(
            f"Question {number}: an option is ranked more than once; give each option one rank.",
            field=name,
        )
    if len(order) > top_k:
        raise InvalidInput(f"Question {number}: rank at most {top_k} options.", field=name)
    return order


def validate_answers(
    questions: Sequence[QuestionSpec],
    raw: Mapping[int, RawAnswer],
    districts: frozenset[int],
) -> dict[int, AnswerValue]:
    """Check a whole response; return ``{question id: value}`` for the answered questions.

    Questions are taken in order. A question for another district, or one whose condition is not
    met, must be left blank. Conditions refer to an earlier question; a required question is
    required only when it is asked. Answers naming an unknown question are refused.
    """
    by_id = {q.id: q for q in questions}
    unknown = [qid for qid in raw if qid not in by_id and not _is_blank(raw[qid])]
    if unknown:
        raise InvalidInput("The answers name a question that is not part of this consultation.")
    values: dict[int, AnswerValue] = {}
    for number, q in enumerate(questions, start=1):
        given = raw.get(q.id)
        blank = _is_blank(given)
        asked = applies_to(q, districts)
        if asked and q.condition_question_id is not None:
            asked = q.condition_option_id in _selected(values.get(q.condition_question_id))
        if not asked:
            if not blank:
                why = (
                    "is not asked in your district"
                    if not applies_to(q, districts)
                    else "applies only after another answer; leave it blank or change that answer"
                )
                raise InvalidInput(f"Question {number} {why}.", field=field_name(q.id))
            continue
        if blank:
            if q.required:
                raise InvalidInput(
                    f"Question {number} is required: “{q.prompt}”.", field=field_name(q.id)
                )
            continue
        value = _answer(q, given, number)
        if value == "" or value == []:
            if q.required:
                raise InvalidInput(
                    f"Question {number} is required: “{q.prompt}”.", field=field_name(q.id)
                )
            continue
        values[q.id] = value
    return values
