"""Close, count, sign off, certify and verify: the whole path on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from click.testing import CliRunner
from sqlmodel import func, select

import tally
from ballots.export import load_election
from ballots.verification import receipt_hash
from pb.audit import AuditEntry
from pb.cli import main
from pb.errors import Conflict, Forbidden, NotFound
from pb.processes import Phase, ProcessService, WrongPhase
from results.canonical import normalize, outcome_json
from results.models import CertifiedPackage, DistrictResult, ProcessResult, SignOff
from results.service import ResultService, run_tally, tally_process

from .city import voted_city
from .sample import flip, rezip, unzip

pytestmark = pytest.mark.usefixtures("backend")


async def count(session, model) -> int:  # type: ignore[no-untyped-def]
    return int((await session.exec(select(func.count()).select_from(model))).one())


async def test_end_to_end_count_certify_and_verify(session_factory, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with session_factory() as s:
        voted = await voted_city(s, settings)
        await s.commit()
    city, pid = voted.city, voted.process_id

    # Results are hidden and counting is refused while the vote is open.
    async with session_factory() as s:
        with pytest.raises(NotFound):
            await ResultService(s, settings).view(pid)
        with pytest.raises(WrongPhase, match="after voting has closed"):
            await ResultService(s, settings).start_tally(city.admin, pid)
        assert await count(s, ProcessResult) == 0

    # Only an admin closes; closing starts the count, run_tally finishes it.
    async with session_factory() as s:
        with pytest.raises(Forbidden):
            await ResultService(s, settings).close_voting(city.official, pid)
        await s.rollback()
    async with session_factory() as s:
        result = await ResultService(s, settings).close_voting(city.admin, pid)
        assert result.status == "tallying" and result.districts_total == 2
        await s.commit()
    result = await run_tally(session_factory, settings, pid)
    assert result.status == "tallied"

    async with session_factory() as s:
        view = await ResultService(s, settings).view(pid)
        assert view.result.districts_done == 2
        n, so = city.projects["north"], city.projects["south"]
        by_slug = {d.slug: row for d, row in view.districts}
        assert by_slug["north"].outcome["selected"] == [n[0], n[2]]
        assert by_slug["south"].outcome["selected"] == [so[0], so[1]]
        assert by_slug["north"].channels_dict == {"online": 2, "paper": 0}
        assert view.result.rule_id == "greedy" and view.result.software_version.startswith("pb ")
        # the stored outcome is what the tally gives on the database's ballots
        e = normalize(await load_election(s, pid, city.north.id))
        assert by_slug["north"].outcome_json == outcome_json(tally.run("greedy", e, ""))
        first = {slug: (r.input_sha256, r.outcome_json) for slug, r in by_slug.items()}

    # Counting again gives the identical result.
    await tally_process(session_factory, settings, city.admin, pid)
    async with session_factory() as s:
        view = await ResultService(s, settings).view(pid)
        again = {d.slug: (r.input_sha256, r.outcome_json) for d, r in view.districts}
        assert again == first
        assert await count(s, DistrictResult) == 2

    # Two-person sign-off: the same admin twice is refused; the second admin certifies.
    async with session_factory() as s:
        _, certified = await ResultService(s, settings).sign_off(city.admin, pid)
        assert not certified
        await s.commit()
    async with session_factory() as s:
        with pytest.raises(Conflict, match="already signed off"):
            await ResultService(s, settings).sign_off(city.admin, pid)
        await s.rollback()
    async with session_factory() as s:
        _, certified = await ResultService(s, settings).sign_off(voted.admin2, pid)
        assert certified
        await s.commit()
    async with session_factory() as s:
        process = await ProcessService(s, settings).get(pid)
        assert process.phase == Phase.CERTIFIED
        package = await ResultService(s, settings).package(pid)
        content, public_key = package.content, package.public_key
        audit_before = await count(s, AuditEntry)
        # Certifying twice, or counting after certification, changes nothing.
        with pytest.raises(Conflict, match="already certified"):
            await ResultService(s, settings).sign_off(city.admin, pid)
        with pytest.raises(Conflict, match="certified"):
            await ResultService(s, settings).start_tally(city.admin, pid)
        await s.rollback()
    async with session_factory() as s:
        assert await count(s, CertifiedPackage) == 1
        assert await count(s, SignOff) == 2
        assert await count(s, AuditEntry) == audit_before
        actions = (await s.exec(select(AuditEntry.action))).all()
        for action in (
            "results.tally_started",
            "results.tallied",
            "results.signed_off",
            "results.certified",
        ):
            assert action in actions

    # pb verify: OK, then one changed byte in each file in turn fails.
    path = tmp_path / "package.zip"
    path.write_bytes(content)
    runner = CliRunner()
    ok = runner.invoke(main, ["verify", str(path), "--public-key", public_key])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("OK: package.zip (budgeting")
    files = unzip(content)
    for name in files:
        path.write_bytes(rezip(dict(files, **{name: flip(files[name])})))
        failed = runner.invoke(main, ["verify", str(path)])
        assert failed.exit_code == 1, name
        assert name in failed.output, (name, failed.output)

    # The same with one byte flipped in place inside the original zip, for each file.
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        entries = zf.infolist()
    for info in entries:
        start = info.header_offset + 30 + len(info.filename.encode())
        path.write_bytes(flip(content, start + info.compress_size // 2))
        failed = runner.invoke(main, ["verify", str(path)])
        assert failed.exit_code == 1 and info.filename in failed.output, info.filename

    # Every receipt is in its district's published receipts file; the .pb files pass the checks.
    results = json.loads(files["results.json"])
    for district in results["districts"]:
        published = files[district["receipts"]].decode()
        for receipt in voted.receipts[district["slug"]]:
            assert receipt_hash(receipt) in published
        _check_pb(files[district["file"]].decode(), district["selected"])


def _check_pb(text: str, selected: list[str]) -> None:
    from pabulib import Checker
    from pabutools.election import Cardinality_Sat
    from pabutools.election.pabulib import parse_pabulib_from_string
    from pabutools.rules import greedy_utilitarian_welfare

    with contextlib.redirect_stdout(io.StringIO()):
        found = Checker().process_files([text])[1]["results"]
    assert found.get("errors", {}) == {}, found
    instance, profile = parse_pabulib_from_string(text)
    chosen = greedy_utilitarian_welfare(instance, profile, sat_class=Cardinality_Sat)
    assert sorted(p.name for p in chosen) == sorted(selected)


async def test_a_failed_count_is_recorded_and_can_be_rerun(
    session_factory, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    async with session_factory() as s:
        voted = await voted_city(s, settings, tag="f")
        await ResultService(s, settings).close_voting(voted.city.admin, voted.process_id)
        await s.commit()

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ValueError("rule exploded")

    monkeypatch.setattr("results.service._count", boom)
    with pytest.raises(ValueError):
        await run_tally(session_factory, settings, voted.process_id)
    async with session_factory() as s:
        result = await ResultService(s, settings).result(voted.process_id)
        assert result is not None and result.status == "failed" and "exploded" in result.error
        with pytest.raises(NotFound):
            await ResultService(s, settings).view(voted.process_id)
        with pytest.raises(WrongPhase, match="not finished"):
            await ResultService(s, settings).sign_off(voted.city.admin, voted.process_id)
        await s.rollback()
    monkeypatch.undo()
    result = await tally_process(session_factory, settings, voted.city.admin, voted.process_id)
    assert result.status == "tallied"


async def test_one_signoff_when_configured(session_factory, settings) -> None:  # type: ignore[no-untyped-def]
    async with session_factory() as s:
        voted = await voted_city(s, settings, tag="o")
        await ResultService(s, settings).close_voting(voted.city.admin, voted.process_id)
        await s.commit()
    await run_tally(session_factory, settings, voted.process_id)
    async with session_factory() as s:
        service = ResultService(s, settings)
        from pb.errors import InvalidInput

        with pytest.raises(InvalidInput):
            await service.set_publication(
                voted.city.admin, voted.process_id, required_signoffs=0, country="", unit=""
            )
        await service.set_publication(
            voted.city.admin,
            voted.process_id,
            required_signoffs=1,
            country="Spain",
            unit="Riverton",
        )
        _, certified = await service.sign_off(voted.city.admin, voted.process_id)
        assert certified
        package = await service.package(voted.process_id)
        pb_text = unzip(package.content)["ballots/north.pb"].decode()
        assert "country;Spain" in pb_text and "unit;Riverton" in pb_text


async def test_a_running_count_cannot_start_twice_unless_stale(session_factory, settings) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from pb.models import utcnow

    async with session_factory() as s:
        voted = await voted_city(s, settings, tag="t")
        await ResultService(s, settings).close_voting(voted.city.admin, voted.process_id)
        await s.commit()
    async with session_factory() as s:
        with pytest.raises(Conflict, match="already running"):
            await ResultService(s, settings).start_tally(voted.city.admin, voted.process_id)
        await s.rollback()
    async with session_factory() as s:
        result = await ResultService(s, settings).result(voted.process_id)
        assert result is not None
        result.started_at = utcnow() - timedelta(hours=1)  # the server stopped mid-count
        s.add(result)
        await s.commit()
    result = await tally_process(session_factory, settings, voted.city.admin, voted.process_id)
    assert result.status == "tallied"
