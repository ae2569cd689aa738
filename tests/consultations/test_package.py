"""Exports, the certified package and its recount through ``pb verify``'s dispatcher."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from consultations.models import ConsultationPackage
from consultations.package import RESPONSES, RESULTS, certify, question_csv, recount
from pb.errors import Forbidden
from pb.processes import Phase, ProcessService, WrongPhase
from pb.settings import Settings
from tests.consultations.conftest import Survey, full_answers


async def _answered(db_session: Any, settings: Settings, survey: Survey, advance: Any) -> None:
    service = survey.service(db_session, settings)
    await advance(Phase.OPEN)
    await service.respond(survey.users["alice"], survey.process.id, full_answers(survey))
    bob = full_answers(survey, north=False)
    bob[survey.q["day"].id] = str(survey.o["day"]["Saturday"].id)
    await service.respond(survey.users["bob"], survey.process.id, bob)


def _files(content: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(files.pop("manifest.json"))
    files.pop("manifest.sig")
    return manifest, files


async def test_certify_builds_a_package_that_verifies(
    db_session: Any, settings: Settings, survey: Survey, advance: Any
) -> None:
    from results.verify import verify_package

    await _answered(db_session, settings, survey, advance)
    with pytest.raises(WrongPhase, match="closed"):
        await certify(db_session, settings, survey.users["admin"], survey.process.id)
    await advance(Phase.CLOSED)
    with pytest.raises(Forbidden):
        await certify(db_session, settings, survey.users["moderator"], survey.process.id)
    digest = await certify(db_session, settings, survey.users["admin"], survey.process.id)
    stored = await db_session.get(ConsultationPackage, survey.process.id)
    assert stored is not None and stored.sha256 == digest
    assert (
        await ProcessService(db_session, settings).get(survey.process.id)
    ).phase == Phase.CERTIFIED
    report = verify_package(stored.content)
    assert report.problems == [] and report.kind == "consultation"
    manifest, files = _files(stored.content)
    assert manifest["responses"] == 2
    assert "questions/q01.csv" in files and RESPONSES in files
    assert recount(manifest, files) == []
    # No pseudonyms or account data in the anonymised file.
    assert b"pseudonym" not in files[RESPONSES] and b"@survey.pb" not in files[RESPONSES]


async def test_recount_finds_every_change(
    db_session: Any, settings: Settings, survey: Survey, advance: Any
) -> None:
    await _answered(db_session, settings, survey, advance)
    await advance(Phase.CLOSED)
    await certify(db_session, settings, survey.users["admin"], survey.process.id)
    stored = await db_session.get(ConsultationPackage, survey.process.id)
    manifest, files = _files(stored.content)
    # A forged result: one more "Saturday".
    results = json.loads(files[RESULTS])
    day = next(q for q in results["questions"] if q["prompt"].startswith("Which day"))
    day["options"][0]["count"] += 1
    forged = {**files, RESULTS: json.dumps(results).encode()}
    problems = recount(manifest, forged)
    assert any("question 2: options differs" in p for p in problems), problems
    # A dropped response changes the count, the results and the manifest check.
    responses = json.loads(files[RESPONSES])[1:]
    fewer = {**files, RESPONSES: json.dumps(responses).encode()}
    problems = recount(manifest, fewer)
    assert any("number of responses" in p for p in problems)
    assert any("manifest says 2" in p for p in problems)
    # A tampered CSV and a broken file are reported, not raised.
    csv_changed = {**files, "questions/q02.csv": files["questions/q02.csv"] + b"x\r\n"}
    assert recount(manifest, csv_changed) == ["questions/q02.csv differs from the recount"]
    assert recount(manifest, {**files, RESPONSES: b"{"})[0].startswith(
        "responses.json is not valid"
    )
    bad_option = json.loads(files[RESPONSES])
    bad_option[0]["answers"][str(survey.q["day"].id)] = 999999
    problems = recount(manifest, {**files, RESPONSES: json.dumps(bad_option).encode()})
    assert problems and "unknown option" in problems[0]


async def test_question_csv_is_exact(
    db_session: Any, settings: Settings, survey: Survey, advance: Any
) -> None:
    await _answered(db_session, settings, survey, advance)
    await advance(Phase.CLOSED)
    results = await survey.service(db_session, settings).results(survey.process.id)
    day = question_csv(results.question(survey.q["day"].id)).decode()
    assert day.splitlines() == [
        "option,count,percentage",
        "Saturday,1,50",
        "Sunday,1,50",
        "Wednesday,0,0",
    ]
    ranked = question_csv(results.question(survey.q["priorities"].id)).decode().splitlines()
    assert ranked[0] == "option,first_preferences,percentage,instant_runoff_place,schulze_place"
    assert ranked[1] == "Trees,2,100,1,1"


async def test_pb_verify_command_on_a_consultation_package(
    db_session: Any, settings: Settings, survey: Survey, advance: Any, tmp_path: Any
) -> None:
    from click.testing import CliRunner

    from pb.cli import main

    await _answered(db_session, settings, survey, advance)
    await advance(Phase.CLOSED)
    await certify(db_session, settings, survey.users["admin"], survey.process.id)
    stored = await db_session.get(ConsultationPackage, survey.process.id)
    good = tmp_path / "consultation.zip"
    good.write_bytes(stored.content)
    result = CliRunner().invoke(main, ["verify", str(good)])
    assert result.exit_code == 0, result.output
    assert "OK: consultation.zip (consultation" in result.output
    # Change one count in results.json (keeping the zip well-formed): signature and recount fail.
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(io.BytesIO(stored.content)) as src, zipfile.ZipFile(forged, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == RESULTS:
                data = data.replace(b'"answered": 2', b'"answered": 3', 1)
            dst.writestr(info, data)
    result = CliRunner().invoke(main, ["verify", str(forged)])
    assert result.exit_code == 1
    assert "results.json: changed" in result.output and "do not trust" in result.output
