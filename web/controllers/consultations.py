"""Consultation pages: the admin question builder, the resident's answer page, results,
moderation of free-text answers, exports and certification.

The builder answers htmx requests with the builder fragment and plain forms with a redirect; it
is read-only once the consultation opens. The answer page is a plain form that works without
JavaScript: a ranking is one "rank" select per option. The receipt is kept in the session only
until the receipt page shows it, once.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Response, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from consultations.charts import ChartBar, bar_chart
from consultations.models import ConsultationPackage
from consultations.package import (
    certify,
    json_bytes,
    question_csv,
    question_file,
)
from consultations.questions import (
    KIND_LABELS,
    QuestionKind,
    QuestionSpec,
    RawAnswer,
    applies_to,
    field_name,
)
from consultations.results import QuestionResults, average_text, percent
from consultations.service import ConsultationService
from pb.accounts import Role, User
from pb.errors import DomainError, InvalidInput, NotEligible, NotFound
from pb.processes import PHASE_LABELS, Phase, Process, ProcessService
from pb.settings import Settings
from web.auth import Viewer, requires_role
from web.controllers.proposals import FORM_ERROR, acting_user, errors_for
from web.render import is_htmx, page, redirect_after_post
from web.session import flash

__all__ = [
    "ConsultationAdminController",
    "ConsultationController",
    "ConsultationModerationController",
]

_RECEIPT_KEY = "consultation_receipt"
BUILDER_FIELDS = (
    "kind",
    "prompt",
    "help_text",
    "required",
    "options",
    "min",
    "max",
    "top_k",
    "rule",
    "points",
    "labels",
    "max_length",
    "district_id",
    "condition",
)
MAX_FIELD = 12_000


# ------------------------------------------------------------------------------------ helpers
async def _form_values(request: Request, *names: str) -> dict[str, str]:
    form = await request.form()
    values: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        values[name] = value[:MAX_FIELD] if isinstance(value, str) else ""
    return values


def _builder_input(values: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {k: v for k, v in values.items() if k != "condition"}
    condition = values.get("condition", "")
    if condition:
        q, _, o = condition.partition(":")
        if not (q.isdecimal() and o.isdecimal()):
            raise InvalidInput("Choose the condition from the list.", field="condition")
        data["condition_question_id"], data["condition_option_id"] = q, o
    return data


def _question_values(question: Any, options: list[Any]) -> dict[str, str]:
    config = question.config_dict
    labels = config.get("labels", {})
    return {
        "kind": question.kind,
        "prompt": question.prompt,
        "help_text": question.help_text,
        "required": "1" if question.required else "",
        "options": "\n".join(o.label for o in options) if question.kind != "yes_no" else "",
        "min": str(config.get("min", "")),
        "max": str(config.get("max", "")),
        "top_k": str(config.get("top_k", "")),
        "rule": config.get("rule", "instant-runoff"),
        "points": str(config.get("points", "")),
        "labels": "\n".join(f"{k} = {v}" for k, v in labels.items()),
        "max_length": str(config.get("max_length", "")),
        "district_id": str(question.district_id or ""),
        "condition": (
            f"{question.condition_question_id}:{question.condition_option_id}"
            if question.condition_question_id
            else ""
        ),
    }


async def _answers_from_form(request: Request, specs: list[QuestionSpec]) -> dict[int, RawAnswer]:
    form = await request.form()
    answers: dict[int, RawAnswer] = {}
    for q in specs:
        name = field_name(q.id)
        if q.kind is QuestionKind.RANKED:
            answers[q.id] = {str(o): str(form.get(f"{name}_o{o}", "") or "")[:8] for o in q.options}
        elif q.kind is QuestionKind.MULTIPLE:
            answers[q.id] = [str(v)[:20] for v in form.getall(name, []) if isinstance(v, str)]
        else:
            value = form.get(name, "")
            answers[q.id] = value[:MAX_FIELD] if isinstance(value, str) else ""
    return answers


def _posted(answers: dict[int, RawAnswer]) -> dict[str, Any]:
    """What the resident sent, keyed for the template (to keep their answers after an error)."""
    kept: dict[str, Any] = {}
    for qid, raw in answers.items():
        kept[field_name(qid)] = raw
    return kept


def _chart(q: QuestionResults) -> Any:
    title = f"Question {q.number}: {q.prompt}"
    if q.kind == "scale":
        bars = [
            ChartBar(f"{p.point}{' – ' + p.label if p.label else ''}", p.count, p.share)
            for p in q.distribution
        ]
        return bar_chart(f"chart-q{q.id}", title, bars)
    if not q.options:
        return None
    top = max((o.count for o in q.options), default=0)
    bars = [
        ChartBar(o.label, o.count, o.share, leading=top > 0 and o.count == top) for o in q.options
    ]
    return bar_chart(f"chart-q{q.id}", title, bars)


async def _consultation(
    db_session: AsyncSession, settings: Settings, slug: str, viewer: Viewer
) -> Process:
    process = await ConsultationService(db_session, settings).process_by_slug(slug)
    if process.phase == Phase.DRAFT and not viewer.has(Role.ADMIN):
        raise NotFound("No such consultation.")
    return process


def _numbering(specs: list[QuestionSpec]) -> dict[str, Any]:
    """Question numbers over the whole list (as error messages count them) and option labels."""
    return {
        "numbers": {q.id: n for n, q in enumerate(specs, start=1)},
        "labels": {oid: label for q in specs for oid, label in q.option_labels.items()},
        "kind_labels": KIND_LABELS,
    }


def _closed(process: Process) -> bool:
    return process.phase in (Phase.CLOSED, Phase.CERTIFIED)


# --------------------------------------------------------------------------------- residents
class ConsultationController(Controller):
    """The resident's answer page, the receipt, the results and the open-data exports."""

    path = "/processes/{slug:str}/consultation"
    include_in_schema = False

    @get("/", name="consultation_answer")
    async def answer_page(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> Template:
        process = await _consultation(db_session, settings, slug, viewer)
        return await self._answer_page(request, db_session, settings, viewer, process)

    async def _answer_page(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        process: Process,
        *,
        posted: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        service = ConsultationService(db_session, settings)
        specs = await service.specs(process.id)
        problem = ""
        districts: frozenset[int] | None = None
        answered = False
        if process.phase == Phase.OPEN and viewer.is_authenticated:
            try:
                right = await service.voter_right(await acting_user(db_session, viewer), process.id)
                districts = frozenset(right.districts)
                answered = await service.has_responded(right.pseudonym, process.id)
            except NotEligible as exc:
                problem = exc.message
        asked = [q for q in specs if districts is None or applies_to(q, districts)]
        return page(
            request,
            "pages/consultations/answer.html",
            viewer=viewer,
            process=process,
            questions=asked,
            **_numbering(specs),
            can_answer=process.phase == Phase.OPEN and districts is not None,
            answered=answered,
            problem=problem,
            posted=posted or {},
            errors=errors or {},
            is_open=process.phase == Phase.OPEN,
            closed=_closed(process),
            status_code=status_code,
            form_action=f"/processes/{process.slug}/consultation",
            preview=False,
        )

    @post("/", name="consultation_submit")
    async def submit(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> Response[Any]:
        process = await _consultation(db_session, settings, slug, viewer)
        process_id = process.id  # the rollback below expires the loaded row
        service = ConsultationService(db_session, settings)
        specs = await service.specs(process_id)
        answers = await _answers_from_form(request, specs)
        try:
            receipt = await service.respond(
                await acting_user(db_session, viewer), process_id, answers
            )
        except DomainError as exc:
            await db_session.rollback()
            process = await service.process(process_id)
            errors = {exc.field or FORM_ERROR: exc.message}
            return await self._answer_page(
                request,
                db_session,
                settings,
                viewer,
                process,
                posted=_posted(answers),
                errors=errors,
                status_code=exc.status_code,
            )
        request.session[_RECEIPT_KEY] = {
            "slug": slug,
            "code": receipt.code,
            "sha256": receipt.sha256,
            "replaced": receipt.replaced,
        }
        return redirect_after_post(request, f"/processes/{slug}/consultation/receipt")

    @get("/receipt", name="consultation_receipt")
    async def receipt(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> Template:
        process = await _consultation(db_session, settings, slug, viewer)
        session = request.scope.get("session")
        receipt = session.pop(_RECEIPT_KEY, None) if isinstance(session, dict) else None
        if receipt is not None and receipt.get("slug") != slug:
            receipt = None
        return page(
            request,
            "pages/consultations/receipt.html",
            viewer=viewer,
            process=process,
            receipt=receipt,
            headers={"Cache-Control": "no-store"},
        )

    @get("/receipt-check", name="consultation_receipt_check")
    async def receipt_check_form(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> Template:
        process = await _consultation(db_session, settings, slug, viewer)
        return page(
            request,
            "pages/consultations/receipt_check.html",
            viewer=viewer,
            process=process,
            found=None,
            values={},
            errors={},
        )

    @post("/receipt-check", name="consultation_receipt_check_post")
    async def receipt_check(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> Template:
        """Anyone holding a receipt may check that the response with it is stored (and counts)."""
        process = await _consultation(db_session, settings, slug, viewer)
        values = await _form_values(request, "receipt")
        code = values["receipt"].strip()[:64]
        if not code:
            return page(
                request,
                "pages/consultations/receipt_check.html",
                viewer=viewer,
                process=process,
                found=None,
                values=values,
                errors={"receipt": "Enter the receipt code you were shown."},
                status_code=422,
            )
        found = await ConsultationService(db_session, settings).receipt_counted(process.id, code)
        return page(
            request,
            "pages/consultations/receipt_check.html",
            viewer=viewer,
            process=process,
            found=found,
            values=values,
            errors={},
        )

    @get("/results", name="consultation_results")
    async def results(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> Template:
        process = await _consultation(db_session, settings, slug, viewer)
        service = ConsultationService(db_session, settings)
        if not _closed(process):
            return page(
                request,
                "pages/consultations/results.html",
                viewer=viewer,
                process=process,
                results=None,
                status_code=409,
            )
        results = await service.results(process.id)
        package = await db_session.get(ConsultationPackage, process.id)
        return page(
            request,
            "pages/consultations/results.html",
            viewer=viewer,
            process=process,
            results=results,
            charts={q.id: _chart(q) for q in results.questions},
            percent=percent,
            average_text=average_text,
            package_sha256=package.sha256 if package else None,
            is_moderator=viewer.has(Role.MODERATOR, Role.ADMIN),
            is_admin=viewer.has(Role.ADMIN),
            question_file=question_file,
        )

    async def _closed_results(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: str,
    ) -> tuple[Process, ConsultationService]:
        """The consultation and its service; the service refuses results before the close."""
        process = await _consultation(db_session, settings, slug, viewer)
        return process, ConsultationService(db_session, settings)

    @get("/export/questions/{number:int}/csv", name="consultation_export_csv")
    async def export_csv(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
        number: FromPath[int],
    ) -> Response[bytes]:
        process, service = await self._closed_results(db_session, settings, viewer, slug)
        results = await service.results(process.id)
        q = next((q for q in results.questions if q.number == number), None)
        if q is None:
            raise NotFound("No such question.")
        return _download(question_csv(q), f"{slug}-q{number:02d}.csv", "text/csv; charset=utf-8")

    @get("/export/questions/{number:int}/json", name="consultation_export_json")
    async def export_json(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
        number: FromPath[int],
    ) -> Response[bytes]:
        process, service = await self._closed_results(db_session, settings, viewer, slug)
        results = await service.results(process.id)
        q = next((q for q in results.questions if q.number == number), None)
        if q is None:
            raise NotFound("No such question.")
        return _download(json_bytes(q.to_dict()), f"{slug}-q{number:02d}.json", "application/json")

    @get("/export/results.json", name="consultation_export_results")
    async def export_results(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> Response[bytes]:
        process, service = await self._closed_results(db_session, settings, viewer, slug)
        results = await service.results(process.id)
        return _download(json_bytes(results.to_dict()), f"{slug}-results.json", "application/json")

    @get("/export/responses.json", name="consultation_export_responses")
    async def export_responses(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> Response[bytes]:
        process, service = await self._closed_results(db_session, settings, viewer, slug)
        data = {
            "definition": await service.definition(process.id),
            "responses": await service.anonymised_responses(process.id),
        }
        return _download(json_bytes(data), f"{slug}-responses.json", "application/json")

    @get("/package.zip", name="consultation_package")
    async def package(
        self,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        slug: FromPath[str],
    ) -> Response[bytes]:
        process = await _consultation(db_session, settings, slug, viewer)
        stored = await db_session.get(ConsultationPackage, process.id)
        if stored is None:
            raise NotFound("This consultation has no certified package yet.")
        return _download(stored.content, f"{slug}-certified.zip", "application/zip")


def _download(content: bytes, filename: str, media_type: str) -> Response[bytes]:
    return Response(
        content=content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# ------------------------------------------------------------------------------------- admin
class ConsultationAdminController(Controller):
    """The question builder (htmx, or plain forms) and certification, for administrators."""

    path = "/admin/processes/{process_id:int}/consultation"
    guards = [requires_role(Role.ADMIN)]
    include_in_schema = False

    @get("/", name="consultation_builder")
    async def builder(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        process_id: FromPath[int],
    ) -> Template:
        return await self._builder(request, db_session, settings, viewer, process_id)

    async def _builder(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        process_id: int,
        *,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        editing: int | None = None,
        status_code: int = 200,
    ) -> Template:
        service = ConsultationService(db_session, settings)
        process = await service.process(process_id)
        questions = await service.questions(process_id)
        options = await service.options(process_id)
        districts = await ProcessService(db_session, settings).districts(process_id)
        conditions = [
            (f"{q.id}:{o.id}", f"Question {n}: “{q.prompt}” is answered “{o.label}”")
            for n, q in enumerate(questions, start=1)
            if q.kind in ("yes_no", "single", "multiple") and q.condition_question_id is None
            for o in options.get(q.id, [])
        ]
        edit_values = {}
        if editing is not None and values is None:
            question = next((q for q in questions if q.id == editing), None)
            if question is None:
                raise NotFound("No such question in this consultation.")
            edit_values = _question_values(question, options.get(question.id, []))
        return page(
            request,
            "pages/consultations/builder.html",
            partial="partials/consultations/builder.html",
            viewer=viewer,
            process=process,
            questions=questions,
            options=options,
            districts=districts,
            district_names={d.id: d.name for d in districts},
            conditions=conditions,
            kinds=list(QuestionKind),
            kind_labels=KIND_LABELS,
            locked=process.phase != Phase.DRAFT,
            values=values
            if values is not None
            else (edit_values or {"required": "1", "kind": "single"}),
            errors=errors or {},
            editing=editing,
            responses=await service.response_count(process_id),
            phase_labels=PHASE_LABELS,
            can_certify=process.phase == Phase.CLOSED,
            status_code=status_code,
        )

    async def _after_change(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        process_id: int,
        message: str,
    ) -> Response[Any]:
        flash(request, message, "success")
        if is_htmx(request):
            return await self._builder(request, db_session, settings, viewer, process_id)
        return redirect_after_post(request, f"/admin/processes/{process_id}/consultation")

    async def _failed(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        process_id: int,
        exc: DomainError,
        values: dict[str, str] | None,
        editing: int | None = None,
    ) -> Template:
        await db_session.rollback()
        field = exc.field
        if field == "condition_question_id" or field == "condition_option_id":
            field = "condition"
        return await self._builder(
            request,
            db_session,
            settings,
            viewer,
            process_id,
            values=values,
            errors={field or FORM_ERROR: exc.message},
            editing=editing,
            status_code=exc.status_code,
        )

    @get("/preview", name="consultation_preview")
    async def preview(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        process_id: FromPath[int],
    ) -> Template:
        service = ConsultationService(db_session, settings)
        process = await service.process(process_id)
        specs = await service.specs(process_id)
        return page(
            request,
            "pages/consultations/preview.html",
            partial="partials/consultations/answer_form.html",
            viewer=viewer,
            process=process,
            questions=specs,
            **_numbering(specs),
            posted={},
            errors={},
            preview=True,
            can_answer=False,
            form_action="#",
        )

    @post("/questions", name="consultation_question_add")
    async def add(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: FromPath[int],
    ) -> Response[Any]:
        values = await _form_values(request, *BUILDER_FIELDS)
        try:
            question = await ConsultationService(db_session, settings).add_question(
                current_user, process_id, _builder_input(values)
            )
        except DomainError as exc:
            return await self._failed(
                request, db_session, settings, viewer, process_id, exc, values
            )
        return await self._after_change(
            request,
            db_session,
            settings,
            viewer,
            process_id,
            f"Question “{question.prompt}” added.",
        )

    @get("/questions/{question_id:int}/edit", name="consultation_question_edit")
    async def edit_form(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        process_id: FromPath[int],
        question_id: FromPath[int],
    ) -> Template:
        return await self._builder(
            request, db_session, settings, viewer, process_id, editing=question_id
        )

    @post("/questions/{question_id:int}", name="consultation_question_update")
    async def update(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: FromPath[int],
        question_id: FromPath[int],
    ) -> Response[Any]:
        values = await _form_values(request, *BUILDER_FIELDS)
        try:
            question = await ConsultationService(db_session, settings).update_question(
                current_user, process_id, question_id, _builder_input(values)
            )
        except DomainError as exc:
            return await self._failed(
                request, db_session, settings, viewer, process_id, exc, values, question_id
            )
        return await self._after_change(
            request,
            db_session,
            settings,
            viewer,
            process_id,
            f"Question “{question.prompt}” saved.",
        )

    @post("/questions/{question_id:int}/move", name="consultation_question_move")
    async def move(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: FromPath[int],
        question_id: FromPath[int],
    ) -> Response[Any]:
        values = await _form_values(request, "direction")
        try:
            await ConsultationService(db_session, settings).move_question(
                current_user, process_id, question_id, values["direction"]
            )
        except DomainError as exc:
            return await self._failed(request, db_session, settings, viewer, process_id, exc, None)
        return await self._after_change(
            request, db_session, settings, viewer, process_id, "Question moved."
        )

    @post("/questions/{question_id:int}/delete", name="consultation_question_delete")
    async def delete(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: FromPath[int],
        question_id: FromPath[int],
    ) -> Response[Any]:
        try:
            await ConsultationService(db_session, settings).delete_question(
                current_user, process_id, question_id
            )
        except DomainError as exc:
            return await self._failed(request, db_session, settings, viewer, process_id, exc, None)
        return await self._after_change(
            request, db_session, settings, viewer, process_id, "Question deleted."
        )

    @post("/certify", name="consultation_certify")
    async def certify(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: FromPath[int],
    ) -> Response[Any]:
        try:
            digest = await certify(db_session, settings, current_user, process_id)
        except DomainError as exc:
            return await self._failed(request, db_session, settings, viewer, process_id, exc, None)
        process = await ConsultationService(db_session, settings).process(process_id)
        flash(request, f"Results certified. Package SHA-256 {digest[:12]}…", "success")
        return redirect_after_post(request, f"/processes/{process.slug}/consultation/results")


# -------------------------------------------------------------------------------- moderation
class ConsultationModerationController(Controller):
    """Moderators hide abusive free-text answers (with a reason) before results are certified."""

    path = "/moderation/consultations/{process_id:int}"
    guards = [requires_role(Role.MODERATOR, Role.ADMIN)]
    include_in_schema = False

    @get("/", name="consultation_moderation")
    async def queue(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: FromPath[int],
    ) -> Template:
        return await self._queue(request, db_session, settings, viewer, current_user, process_id)

    async def _queue(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        user: User | None,
        process_id: int,
        *,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        service = ConsultationService(db_session, settings)
        process = await service.process(process_id)
        questions = {q.id: q for q in await service.questions(process_id)}
        answers = await service.text_answers(user, process_id)
        return page(
            request,
            "pages/consultations/moderation.html",
            viewer=viewer,
            process=process,
            questions=questions,
            answers=answers,
            can_moderate=process.phase == Phase.CLOSED,
            errors=errors or {},
            status_code=status_code,
        )

    @post("/answers/{answer_id:int}", name="consultation_moderate")
    async def moderate(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        process_id: FromPath[int],
        answer_id: FromPath[int],
    ) -> Response[Any]:
        values = await _form_values(request, "action", "reason")
        try:
            if values["action"] not in ("hide", "show"):
                raise InvalidInput("Choose to hide or show the answer.", field="action")
            await ConsultationService(db_session, settings).moderate_text(
                current_user,
                process_id,
                answer_id,
                hide=values["action"] == "hide",
                reason=values["reason"],
            )
        except DomainError as exc:
            await db_session.rollback()
            return await self._queue(
                request,
                db_session,
                settings,
                viewer,
                await acting_user(db_session, viewer),
                process_id,
                errors=errors_for(exc),
                status_code=exc.status_code,
            )
        flash(
            request,
            "Answer hidden." if values["action"] == "hide" else "Answer shown again.",
            "success",
        )
        return redirect_after_post(request, f"/moderation/consultations/{process_id}")
