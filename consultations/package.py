"""Exports, the certified package of a consultation, and its recount for ``pb verify``.

A package holds ``definition.json`` (the questions and options as asked), ``responses.json``
(every response without identity, sorted by receipt hash; hidden free-text answers are
``null``), ``results.json`` (the exact results) and one ``questions/qNN.csv`` per question. The
recount recomputes the results and every CSV from the first two files and lists each difference,
so anyone holding the package can check the published figures without the database.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from consultations.results import ConsultationResults, QuestionResults, compute_results
from tally.model import to_jsonable

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from pb.accounts import User
    from pb.settings import Settings

__all__ = [
    "DEFINITION",
    "RESPONSES",
    "RESULTS",
    "certify",
    "json_bytes",
    "package_files",
    "question_csv",
    "question_file",
    "recount",
]

DEFINITION = "definition.json"
RESPONSES = "responses.json"
RESULTS = "results.json"


def json_bytes(value: Any) -> bytes:
    """Stable JSON: sorted keys, one space indent, UTF-8, final newline."""
    return (json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode()


def question_file(number: int, ext: str) -> str:
    return f"questions/q{number:02d}.{ext}"


def question_csv(q: QuestionResults) -> bytes:
    """One question's figures as CSV; percentages are exact (decimal or ``p/q``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if q.kind == "text":
        writer.writerow(["answer"])
        writer.writerows([text] for text in q.texts)
    elif q.kind == "scale":
        writer.writerow(["point", "label", "count", "percentage"])
        for p in q.distribution:
            writer.writerow([p.point, p.label, p.count, to_jsonable(p.share)])
    elif q.kind == "ranked":
        assert q.instant_runoff is not None and q.schulze is not None
        irv = {label: i for i, label in enumerate(q.instant_runoff.ranking, start=1)}
        sch = {label: i for i, label in enumerate(q.schulze.ranking, start=1)}
        writer.writerow(
            ["option", "first_preferences", "percentage", "instant_runoff_place", "schulze_place"]
        )
        for o in q.options:
            writer.writerow([o.label, o.count, to_jsonable(o.share), irv[o.label], sch[o.label]])
    else:
        writer.writerow(["option", "count", "percentage"])
        for o in q.options:
            writer.writerow([o.label, o.count, to_jsonable(o.share)])
    return out.getvalue().encode("utf-8")


def package_files(
    definition: Mapping[str, Any], responses: list[dict[str, Any]], results: ConsultationResults
) -> dict[str, bytes]:
    files = {
        DEFINITION: json_bytes(definition),
        RESPONSES: json_bytes(responses),
        RESULTS: json_bytes(results.to_dict()),
    }
    for q in results.questions:
        files[question_file(q.number, "csv")] = question_csv(q)
    return files


def recount(manifest: dict[str, Any], files: dict[str, bytes]) -> list[str]:
    """Recompute the results from ``definition.json`` and ``responses.json``; list differences."""
    problems: list[str] = []
    loaded: dict[str, Any] = {}
    for name in (DEFINITION, RESPONSES, RESULTS):
        if name not in files:
            problems.append(f"{name} is missing from the package")
            continue
        try:
            loaded[name] = json.loads(files[name].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(f"{name} is not valid JSON: {exc}")
    if problems:
        return problems
    try:
        results = compute_results(loaded[DEFINITION], loaded[RESPONSES])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return [f"the responses cannot be counted: {exc}"]
    recomputed = json.loads(json_bytes(results.to_dict()))
    published = loaded[RESULTS]
    if not isinstance(published, dict):
        return [f"{RESULTS} is not a JSON object"]
    if published.get("responses") != recomputed["responses"]:
        problems.append(
            f"number of responses: the package says {published.get('responses')!r}, "
            f"the recount finds {recomputed['responses']}"
        )
    if manifest.get("responses") not in (None, recomputed["responses"]):
        problems.append(
            f"the manifest says {manifest.get('responses')!r} responses, "
            f"the recount finds {recomputed['responses']}"
        )
    mine = {q["id"]: q for q in recomputed["questions"]}
    theirs = {q.get("id"): q for q in published.get("questions", []) if isinstance(q, dict)}
    for qid, q in mine.items():
        other = theirs.get(qid)
        if other is None:
            problems.append(f"question {q['number']} is missing from {RESULTS}")
            continue
        for key in sorted(set(q) | set(other)):
            if q.get(key) != other.get(key):
                problems.append(
                    f"question {q['number']}: {key} differs from the recount "
                    f"(package {_short(other.get(key))}, recount {_short(q.get(key))})"
                )
    for qid in set(theirs) - set(mine):
        problems.append(f"{RESULTS} has a question {qid!r} that the definition does not")
    if published.get("process") != recomputed["process"]:
        problems.append(f"{RESULTS} names another process than {DEFINITION}")
    for q in results.questions:
        name = question_file(q.number, "csv")
        if name not in files:
            problems.append(f"{name} is missing from the package")
        elif files[name] != question_csv(q):
            problems.append(f"{name} differs from the recount")
    return problems


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def certify(session: AsyncSession, settings: Settings, actor: User, process_id: int) -> str:
    """Build and store the signed package of a closed consultation, mark it certified, and
    return the package's SHA-256.

    One transaction: the package row, the phase change and their audit entries commit together.
    The database modules are imported here so that ``recount`` (used by ``pb verify``) stays
    light.
    """
    from consultations.models import ConsultationPackage
    from consultations.service import ConsultationService
    from pb import audit
    from pb.errors import Conflict
    from pb.processes import Phase, ProcessService, WrongPhase

    service = ConsultationService(session, settings)
    await service.require_admin(actor)
    process = await service.process(process_id)
    if process.phase != Phase.CLOSED:
        raise WrongPhase("Only a closed consultation can be certified.")
    if await session.get(ConsultationPackage, process_id) is not None:
        raise Conflict("This consultation already has a certified package.")
    try:
        from results.package import build_package
    except ImportError:
        raise Conflict("Certified packages are not available on this site.") from None
    definition = await service.definition(process_id)
    responses = await service.anonymised_responses(process_id)
    results = compute_results(definition, responses)
    files = package_files(definition, responses, results)
    extra = {
        "kind": "consultation",
        "process": {"id": process.id, "slug": process.slug, "name": process.name},
        "responses": results.responses,
    }
    content = build_package(files, extra, settings)
    digest = hashlib.sha256(content).hexdigest()
    session.add(
        ConsultationPackage(
            process_id=process_id, sha256=digest, content=content, actor_id=actor.id
        )
    )
    await session.flush()
    await ProcessService(session, settings).advance_phase(actor, process_id, Phase.CERTIFIED)
    await audit.append(
        session,
        "consultation.certified",
        actor_id=actor.id,
        subject=f"process:{process_id}",
        data={"package_sha256": digest, "responses": results.responses},
    )
    return digest
