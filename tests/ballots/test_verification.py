"""Residents roll import, voting codes, verification and voter rights."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from ballots import verification as v
from ballots.models import RollEntry, Verification, VerificationAttempt, VotingCode
from pb.audit import AuditEntry
from pb.errors import Conflict, Forbidden, InvalidInput, NotEligible, Throttled
from tests.ballots.voting_city import build_city, import_default_roll, roll_csv, verify

pytestmark = pytest.mark.usefixtures("backend")


async def count(session, model) -> int:  # type: ignore[no-untyped-def]
    return int((await session.exec(select(func.count()).select_from(model))).one())


async def test_roll_import_stores_only_keyed_hashes(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await build_city(db_session, settings)
    report = await v.import_roll(db_session, settings, city.admin, city.process.id, roll_csv())
    assert report.stored and report.accepted == 4 and not report.rejected
    rows = (await db_session.exec(select(RollEntry))).all()
    assert len(rows) == 4
    for row in rows:
        stored = " ".join([row.reference_hash, row.birth_hash, row.postcode_hash])
        for plain in ("R-00", "1980", "RV1", "rv1"):
            assert plain not in stored
        assert len(row.reference_hash) == 64
    two = [r for r in rows if len(r.district_ids) == 2]
    assert len(two) == 1 and two[0].district_ids == {city.north.id, city.south.id}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"ref,birth,postcode,districts\nR1,1980-01-01,X,north\n", "header"),
        (
            "reference,birth_date,postcode,districts\nR1,1980-01-01,Zürich,north\n".encode(
                "latin-1"
            ),
            "UTF-8",
        ),
        (b"", "empty"),
        (b"reference,birth_date,postcode,districts\n", "no residents"),
    ],
)
async def test_broken_roll_files_store_nothing(db_session, settings, data, problem) -> None:  # type: ignore[no-untyped-def]
    city = await build_city(db_session, settings)
    report = await v.import_roll(db_session, settings, city.admin, city.process.id, data)
    assert not report.stored and problem in report.error
    assert await count(db_session, RollEntry) == 0


async def test_one_bad_line_rejects_the_whole_file_with_a_report(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await build_city(db_session, settings)
    data = (
        b"reference,birth_date,postcode,districts\n"
        b"R1,1980-01-01,AB1,north\n"
        b"R2,01/02/1980,AB2,north\n"
        b"R3,1980-01-01,AB3,east\n"
        b"R1,1980-01-01,AB1,north\n"
        b"R5,1980-01-01,AB5\n"
        b"R6,1980-02-30,AB6,south\n"
    )
    report = await v.import_roll(db_session, settings, city.admin, city.process.id, data)
    assert not report.stored
    assert report.accepted == 1
    reasons = {x.line: (x.status, x.reason) for x in report.lines}
    assert reasons[3][0] == "rejected" and "YYYY-MM-DD" in reasons[3][1]
    assert reasons[4][0] == "rejected" and "unknown district 'east'" in reasons[4][1]
    assert reasons[5] == ("duplicate", "reference already on line 2")
    assert reasons[6][0] == "rejected" and "4 columns" in reasons[6][1]
    assert reasons[7][0] == "rejected"
    assert await count(db_session, RollEntry) == 0


async def test_reimporting_a_reference_is_a_duplicate(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await build_city(db_session, settings)
    await import_default_roll(db_session, settings, city)
    again = b"reference,birth_date,postcode,districts\nr-001,1980-05-17,X,north\nR-9,1980-05-17,X,north\n"
    report = await v.import_roll(db_session, settings, city.admin, city.process.id, again)
    assert not report.stored
    assert [x.status for x in report.lines] == ["duplicate", "accepted"]
    assert await count(db_session, RollEntry) == 4


async def test_only_admins_import(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await build_city(db_session, settings)
    with pytest.raises(Forbidden):
        await v.import_roll(db_session, settings, city.official, city.process.id, roll_csv())


async def test_roll_verification_gives_districts_and_a_stable_pseudonym(
    db_session, settings
) -> None:  # type: ignore[no-untyped-def]
    city = await build_city(db_session, settings)
    await import_default_roll(db_session, settings, city)
    user = city.voters[0]
    with pytest.raises(NotEligible, match="not verified"):
        await v.voter_right(db_session, settings, city.process.id, user.id)
    await verify(db_session, settings, city, user, "R-002")
    right = await v.voter_right(db_session, settings, city.process.id, user.id)
    assert right.districts == {city.north.id, city.south.id}
    again = await v.voter_right(db_session, settings, city.process.id, user.id)
    assert again.pseudonym == right.pseudonym and str(user.id) != right.pseudonym
    assert len(right.pseudonym) == 64
    entry = (await db_session.exec(select(Verification))).one()
    assert right.pseudonym == v.pseudonym(settings, city.process.id, f"roll:{entry.roll_entry_id}")
    actions = (await db_session.exec(select(AuditEntry.action))).all()
    assert "voter.verified" in actions and "roll.imported" in actions


async def test_wrong_details_fail_and_are_throttled(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await build_city(db_session, settings)
    await import_default_roll(db_session, settings, city)
    user = city.voters[0]
    for _ in range(v.MAX_FAILURES_PER_ACCOUNT):
        with pytest.raises(NotEligible, match="No entry"):
            await v.verify_with_roll(
                db_session, settings, user, city.process.id,
                reference="R-001", birth_date="1980-05-18", postcode="RV1 2AB", ip="1.2.3.4",
            )  # fmt: skip
    with pytest.raises(Throttled):
        await verify(db_session, settings, city, user, "R-001")
    failures = await count(db_session, VerificationAttempt)
    assert failures == v.MAX_FAILURES_PER_ACCOUNT
    # Another account is not throttled by this one's failures.
    await verify(db_session, settings, city, city.voters[1], "R-001")


async def test_bad_birth_date_is_invalid_input(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await build_city(db_session, settings)
    await import_default_roll(db_session, settings, city)
    with pytest.raises(InvalidInput):
        await v.verify_with_roll(
            db_session, settings, city.voters[0], city.process.id,
            reference="R-001", birth_date="17/05/1980", postcode="RV1 2AB", ip="1.2.3.4",
        )  # fmt: skip


async def test_one_roll_entry_verifies_one_account(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await build_city(db_session, settings)
    await import_default_roll(db_session, settings, city)
    await verify(db_session, settings, city, city.voters[0], "R-001")
    with pytest.raises(Conflict, match="another account"):
        await verify(db_session, settings, city, city.voters[1], "R-001")
    with pytest.raises(Conflict, match="already verified"):
        await verify(db_session, settings, city, city.voters[0], "R-003")


async def test_under_age_resident_is_verified_but_not_eligible(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await build_city(db_session, settings)
    await import_default_roll(db_session, settings, city)
    await verify(db_session, settings, city, city.voters[0], "R-004")
    with pytest.raises(NotEligible, match="under the minimum age.*2031-01-01"):
        await v.voter_right(db_session, settings, city.process.id, city.voters[0].id)


async def test_codes_are_unambiguous_hashed_and_single_use(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    city = await build_city(db_session, settings)
    codes = await v.generate_codes(
        db_session, settings, city.admin, city.process.id, city.south.id, 50
    )
    assert len(set(codes)) == 50
    for code in codes:
        raw = code.replace("-", "")
        assert len(raw) == v.CODE_LENGTH and not set(raw) & set("01OI")
    stored = (await db_session.exec(select(VotingCode.code_hash))).all()
    assert len(stored) == 50 and not any(c.replace("-", "") in " ".join(stored) for c in codes)
    await v.verify_with_code(
        db_session, settings, city.voters[0], city.process.id, code=codes[0].lower(), ip="x"
    )
    right = await v.voter_right(db_session, settings, city.process.id, city.voters[0].id)
    assert right.districts == {city.south.id}
    with pytest.raises(Conflict, match="already been used"):
        await v.verify_with_code(
            db_session, settings, city.voters[1], city.process.id, code=codes[0], ip="x"
        )
    with pytest.raises(NotEligible, match="not valid"):
        await v.verify_with_code(
            db_session, settings, city.voters[1], city.process.id, code="ABCD-EFGH", ip="x"
        )


@pytest.mark.parametrize("count_", [0, -1, 100_001])
async def test_code_count_is_bounded(db_session, settings, count_) -> None:  # type: ignore[no-untyped-def]
    city = await build_city(db_session, settings)
    with pytest.raises(InvalidInput):
        await v.generate_codes(
            db_session, settings, city.admin, city.process.id, city.south.id, count_
        )


def test_new_codes_use_every_symbol_at_every_position() -> None:
    assert len(set(v.CODE_ALPHABET)) == 32  # 5 bits a symbol: no modulo bias
    codes = [v.new_code() for _ in range(3000)]
    assert {len(c) for c in codes} == {v.CODE_LENGTH}
    assert len(set(codes)) == len(codes)
    for position in range(v.CODE_LENGTH):
        # Each symbol is missing from a position with probability about 32 * e^-94.
        assert {c[position] for c in codes} == set(v.CODE_ALPHABET)
    # Neighbouring symbols come from different bits: they agree about 1 time in 32.
    same = sum(c[0] == c[1] for c in codes)
    assert 30 < same < 170


def test_receipt_pair_hash_matches_the_code() -> None:
    code, digest = v.receipt_pair()
    assert v.receipt_hash(code) == digest
    assert v.receipt_hash(code.lower().replace("-", " ")) == digest
    assert v.receipt_pair()[0] != code


async def test_roll_and_codes_work_for_a_consultation(db_session, settings) -> None:  # type: ignore[no-untyped-def]
    from pb.processes import Phase, ProcessService

    city = await build_city(db_session, settings)
    processes = ProcessService(db_session, settings)
    consultation = await processes.create(
        city.admin, {"name": "Park survey", "kind": "consultation", "min_age": 12}
    )
    park = await processes.add_district(city.admin, consultation.id, {"name": "North", "budget": 0})
    # Opened directly: what a consultation asks is the consultations package's business.
    consultation.phase = Phase.OPEN
    db_session.add(consultation)
    await db_session.flush()
    data = b"reference,birth_date,postcode,districts\nC-1,2010-01-01,RV1 2AB,north\n"
    report = await v.import_roll(db_session, settings, city.admin, consultation.id, data)
    assert report.stored
    user = city.voters[0]
    await v.verify_with_roll(
        db_session, settings, user, consultation.id,
        reference="C-1", birth_date="2010-01-01", postcode="RV1 2AB", ip="x",
    )  # fmt: skip
    right = await v.voter_right(db_session, settings, consultation.id, user.id)
    assert right.districts == {park.id} and right.process_id == consultation.id
    # The same person verified in the budgeting process has an unrelated pseudonym there.
    await import_default_roll(db_session, settings, city)
    await verify(db_session, settings, city, user, "R-001")
    other = await v.voter_right(db_session, settings, city.process.id, user.id)
    assert other.pseudonym != right.pseudonym
