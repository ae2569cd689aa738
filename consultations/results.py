"""Exact results of a consultation, computed from its definition and its anonymised responses.

The same function serves the results page, the exports and the recount of a certified package:
``compute_results(definition, responses)`` takes plain JSON data (what the package holds), so a
recount needs nothing but the package. Counting uses ``tally.consultation``: plurality for yes/no
and single choice, approval for multiple choice, instant-runoff and Schulze for rankings. Options
are passed to the tally by their labels (unique within a question), so the rounds' explanations
read naturally; ties the rule cannot separate go to the option listed first in the question.

Percentages are shares of the respondents who answered the question (blank answers and residents
not asked are not counted). Every figure is an ``int`` or a ``Fraction``; rounding happens only
at display (``percent``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from tally.consultation import Approval, Choice, QuestionResult, Ranking, run_question
from tally.model import to_jsonable

__all__ = [
    "ConsultationResults",
    "OptionRow",
    "QuestionResults",
    "ScalePoint",
    "compute_results",
    "definition_of",
    "percent",
]


def percent(share: Fraction | int | None, digits: int = 1) -> str:
    """``Fraction(200, 3)`` → ``"66.7 %"``: rounded half up, only for display."""
    if share is None:
        return "—"
    scale = 10**digits
    scaled = Fraction(share) * scale
    rounded = (scaled.numerator * 2 + scaled.denominator) // (2 * scaled.denominator)
    whole, frac = divmod(rounded, scale)
    return f"{whole}.{frac:0{digits}d} %" if digits else f"{whole} %"


def average_text(value: Fraction | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    return percent(value, digits).removesuffix(" %")


def _share(part: int, whole: int) -> Fraction:
    return Fraction(100 * part, whole) if whole else Fraction(0)


@dataclass(frozen=True)
class OptionRow:
    id: int
    label: str
    count: int
    share: Fraction  # out of 100


@dataclass(frozen=True)
class ScalePoint:
    point: int
    label: str
    count: int
    share: Fraction


@dataclass(frozen=True)
class QuestionResults:
    """The results of one question; which fields are filled depends on ``kind``."""

    id: int
    number: int
    kind: str
    prompt: str
    answered: int
    options: tuple[OptionRow, ...] = ()
    count: QuestionResult | None = None
    instant_runoff: QuestionResult | None = None
    schulze: QuestionResult | None = None
    distribution: tuple[ScalePoint, ...] = ()
    average: Fraction | None = None
    texts: tuple[str, ...] = ()
    hidden: int = 0
    district_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "number": self.number,
            "kind": self.kind,
            "prompt": self.prompt,
            "district_id": self.district_id,
            "answered": self.answered,
        }
        if self.options:
            data["options"] = [
                {"id": o.id, "label": o.label, "count": o.count, "percentage": to_jsonable(o.share)}
                for o in self.options
            ]
        if self.count is not None:
            data["count"] = self.count.to_dict()
        if self.instant_runoff is not None:
            data["instant_runoff"] = self.instant_runoff.to_dict()
        if self.schulze is not None:
            data["schulze"] = self.schulze.to_dict()
        if self.distribution:
            data["distribution"] = [
                {
                    "point": p.point,
                    "label": p.label,
                    "count": p.count,
                    "percentage": to_jsonable(p.share),
                }
                for p in self.distribution
            ]
            data["average"] = to_jsonable(self.average)
        if self.kind == "text":
            data["texts"] = list(self.texts)
            data["hidden"] = self.hidden
        return data


@dataclass(frozen=True)
class ConsultationResults:
    process: Mapping[str, Any]
    responses: int
    questions: tuple[QuestionResults, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "process": dict(self.process),
            "responses": self.responses,
            "questions": [q.to_dict() for q in self.questions],
        }

    def question(self, question_id: int) -> QuestionResults:
        return next(q for q in self.questions if q.id == question_id)


def definition_of(
    process: Any, questions: Sequence[Any], options: Mapping[int, Sequence[Any]]
) -> dict[str, Any]:
    """The consultation's questions as JSON data: what the results and a recount start from."""
    return {
        "process": {"id": process.id, "slug": process.slug, "name": process.name},
        "questions": [
            {
                "id": q.id,
                "number": number,
                "kind": q.kind,
                "prompt": q.prompt,
                "required": q.required,
                "config": q.config_dict,
                "district_id": q.district_id,
                "condition": (
                    {"question_id": q.condition_question_id, "option_id": q.condition_option_id}
                    if q.condition_question_id is not None
                    else None
                ),
                "options": [{"id": o.id, "label": o.label} for o in options.get(q.id, [])],
            }
            for number, q in enumerate(questions, start=1)
        ],
    }


def compute_results(
    definition: Mapping[str, Any], responses: Sequence[Mapping[str, Any]]
) -> ConsultationResults:
    """Count every question of ``definition`` over ``responses`` (anonymised, see the service).

    Raises ``ValueError`` if a response names an option the question does not have.
    """
    questions = tuple(
        _question(q, [r["answers"].get(str(q["id"])) for r in responses], responses)
        for q in definition["questions"]
    )
    return ConsultationResults(definition["process"], len(responses), questions)


def _question(
    q: Mapping[str, Any], values: list[Any], responses: Sequence[Mapping[str, Any]]
) -> QuestionResults:
    kind = q["kind"]
    base = {
        "id": q["id"],
        "number": q["number"],
        "kind": kind,
        "prompt": q["prompt"],
        "district_id": q.get("district_id"),
    }
    if kind == "text":
        hidden = sum(1 for r in responses if q["id"] in r.get("hidden", ()))
        texts = tuple(v for v in values if isinstance(v, str) and v)
        return QuestionResults(**base, answered=len(texts) + hidden, texts=texts, hidden=hidden)
    if kind == "scale":
        points = int(q["config"].get("points", 5))
        labels = q["config"].get("labels", {})
        given = [v for v in values if v is not None]
        for v in given:
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= points:
                raise ValueError(f"question {q['number']}: {v!r} is not a point of the scale")
        n = len(given)
        distribution = tuple(
            ScalePoint(p, labels.get(str(p), ""), given.count(p), _share(given.count(p), n))
            for p in range(1, points + 1)
        )
        average = Fraction(sum(given), n) if n else None
        return QuestionResults(**base, answered=n, distribution=distribution, average=average)

    label_of = {o["id"]: o["label"] for o in q["options"]}
    labels = [o["label"] for o in q["options"]]

    def name(option_id: Any) -> str:
        if option_id not in label_of:
            raise ValueError(f"question {q['number']}: unknown option {option_id!r}")
        return label_of[option_id]

    if kind in ("yes_no", "single"):
        given = [name(v) for v in values if v is not None]
        result = run_question("plurality", labels, [Choice(v) for v in given], labels)
        rows = _rows(q, result.counts, len(given))
        return QuestionResults(**base, answered=len(given), options=rows, count=result)
    if kind == "multiple":
        sets = [frozenset(name(v) for v in value) for value in values if value is not None]
        result = run_question("approval", labels, [Approval(s) for s in sets], labels)
        rows = _rows(q, result.counts, len(sets))
        return QuestionResults(**base, answered=len(sets), options=rows, count=result)
    if kind == "ranked":
        rankings = [Ranking(tuple(name(v) for v in value)) for value in values if value]
        irv = run_question("instant-runoff", labels, rankings, labels)
        schulze = run_question("schulze", labels, rankings, labels)
        rows = _rows(q, irv.counts, len(rankings))
        return QuestionResults(
            **base, answered=len(rankings), options=rows, instant_runoff=irv, schulze=schulze
        )
    raise ValueError(f"question {q['number']}: unknown kind {kind!r}")


def _rows(q: Mapping[str, Any], counts: Mapping[str, Any], answered: int) -> tuple[OptionRow, ...]:
    return tuple(
        OptionRow(
            o["id"], o["label"], int(counts[o["label"]]), _share(int(counts[o["label"]]), answered)
        )
        for o in q["options"]
    )
