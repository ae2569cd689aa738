"""Consultations: questions put to verified residents, anonymous responses, exact results.

``questions`` holds the pure rules for question kinds and answers, ``service`` the builder,
answering, results and moderation, ``results`` the exact counting (from ``tally.consultation``),
``charts`` the server-rendered SVG bars and ``package`` the exports, the certified package and
its recount for ``pb verify``.
"""

from consultations.questions import QuestionKind, QuestionSpec, validate_answers
from consultations.results import ConsultationResults, compute_results
from consultations.service import ConsultationService, Receipt

__all__ = [
    "ConsultationResults",
    "ConsultationService",
    "QuestionKind",
    "QuestionSpec",
    "Receipt",
    "compute_results",
    "validate_answers",
]
