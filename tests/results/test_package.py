"""The signed package: build, read back, and every kind of tampering caught by ``pb verify``."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import replace
from fractions import Fraction

import pytest
from click.testing import CliRunner

import tally
from pb.cli import main
from pb.settings import Settings
from results import signing
from results.certify import build_budgeting_package
from results.package import PackageError, build_package, read_package
from results.verify import RECOUNTERS, verify_package
from tally import pabulib

from .sample import flip, process_data, results_json, rezip, unzip

SETTINGS = Settings(env="test", secret_key="k" * 20 + "0123456789abcdefghij")
OTHER = Settings(env="test", secret_key="z" * 20 + "0123456789abcdefghij")


@pytest.fixture(scope="module")
def package() -> bytes:
    return build_budgeting_package(process_data(), SETTINGS)[0]


def test_a_fresh_package_verifies(package: bytes) -> None:
    report = verify_package(package, signing.public_key_hex(SETTINGS))
    assert report.problems == []
    assert report.kind == "budgeting"
    names = set(unzip(package))
    assert {
        "manifest.json",
        "manifest.sig",
        "results.json",
        "results.csv",
        "config.json",
        "audit.json",
        "certificate.html",
        "certificate.pdf",
        "ballots/north.pb",
        "ballots/north.receipts.csv",
        "ballots/south.pb",
        "ballots/south.receipts.csv",
    } == names


def test_every_changed_byte_is_caught(package: bytes) -> None:
    files = unzip(package)
    for name in files:
        changed = dict(files, **{name: flip(files[name])})
        problems = verify_package(rezip(changed)).problems
        assert problems, f"a changed byte in {name} went unnoticed"
        assert any(name in p for p in problems), (name, problems)


def test_a_package_signed_by_another_key_is_refused(package: bytes) -> None:
    problems = verify_package(package, signing.public_key_hex(OTHER)).problems
    assert problems and "wrong signature" in problems[0]
    with pytest.raises(PackageError, match="wrong signature"):
        read_package(package, signing.public_key_hex(OTHER))


def test_missing_file_and_extra_file(package: bytes) -> None:
    files = unzip(package)
    del files["ballots/south.pb"]
    problems = verify_package(rezip(files)).problems
    assert "missing file: ballots/south.pb" in problems
    files = unzip(package)
    files["extra.txt"] = b"hello"
    assert "extra.txt: not listed in manifest.json" in verify_package(rezip(files)).problems


def test_not_a_zip() -> None:
    assert verify_package(b"PK\x03\x04 not really").problems == [
        "not a zip file (the package is damaged or is something else)"
    ]


def test_an_unknown_rule_is_named() -> None:
    """A correctly signed package that declares a rule this pb does not know."""
    files = unzip(build_budgeting_package(process_data(), SETTINGS)[0])
    doc = results_json(files)
    doc["rule_id"] = "quantum-voting"
    files["results.json"] = json.dumps(doc).encode()
    data_files = {k: v for k, v in files.items() if not k.startswith("manifest.")}
    resigned = build_package(data_files, {"kind": "budgeting"}, SETTINGS)
    problems = verify_package(resigned).problems
    assert any("unknown rule 'quantum-voting'" in p for p in problems), problems


def test_a_forged_count_is_caught_even_when_signed() -> None:
    """Someone with the key who changes the winners still fails the re-count."""
    files = unzip(build_budgeting_package(process_data(), SETTINGS)[0])
    doc = results_json(files)
    north = doc["districts"][0]
    north["selected"] = ["2", "3"]
    files["results.json"] = json.dumps(doc).encode()
    data_files = {k: v for k, v in files.items() if not k.startswith("manifest.")}
    problems = verify_package(build_package(data_files, {"kind": "budgeting"}, SETTINGS)).problems
    assert any(p.startswith("North: ") for p in problems), problems


def test_pb_files_pass_pabulib_checker_and_pabutools_agrees(package: bytes) -> None:
    from pabulib import Checker
    from pabutools.election import Cardinality_Sat
    from pabutools.election.pabulib import parse_pabulib_from_string
    from pabutools.rules import greedy_utilitarian_welfare

    files = unzip(package)
    doc = results_json(files)
    for district in doc["districts"]:
        text = files[district["file"]].decode()
        with contextlib.redirect_stdout(io.StringIO()):
            found = Checker().process_files([text])[1]["results"]
        assert found.get("errors", {}) == {}, found
        instance, profile = parse_pabulib_from_string(text)
        chosen = greedy_utilitarian_welfare(instance, profile, sat_class=Cardinality_Sat)
        assert sorted(p.name for p in chosen) == sorted(district["selected"])
        # our own reader gives back the very ballots counted
        assert pabulib.read(text).num_voters == district["num_voters"]


def test_receipts_map_every_voter(package: bytes) -> None:
    files = unzip(package)
    lines = files["ballots/north.receipts.csv"].decode().splitlines()
    assert lines[0] == "voter_id,receipt_sha256"
    assert [line.split(",")[0] for line in lines[1:]] == [str(i) for i in range(1, 7)]
    assert len({line.split(",")[1] for line in lines[1:]}) == 6


def test_ballots_are_shuffled_each_time() -> None:
    orders = {
        unzip(build_budgeting_package(process_data(), SETTINGS)[0])["ballots/north.receipts.csv"]
        for _ in range(8)
    }
    assert len(orders) > 1


def test_build_package_checks_its_input() -> None:
    with pytest.raises(ValueError, match="kind"):
        build_package({"a.txt": b"x"}, {"kind": "poll"}, SETTINGS)
    with pytest.raises(ValueError, match="cannot be used"):
        build_package({"../a.txt": b"x"}, {"kind": "budgeting"}, SETTINGS)
    with pytest.raises(ValueError, match="cannot be used"):
        build_package({"manifest.json": b"x"}, {"kind": "budgeting"}, SETTINGS)
    with pytest.raises(ValueError, match="reserved"):
        build_package({"a.txt": b"x"}, {"kind": "budgeting", "files": {}}, SETTINGS)


def test_read_package_gives_back_manifest_and_files() -> None:
    data = build_package(
        {"a.txt": b"x", "b/c.txt": b"y"}, {"kind": "consultation", "n": 1}, SETTINGS
    )
    manifest, files = read_package(data, signing.public_key_hex(SETTINGS))
    assert manifest["kind"] == "consultation" and manifest["n"] == 1
    assert files == {"a.txt": b"x", "b/c.txt": b"y"}


def test_recount_is_dispatched_by_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    data = build_package({"answers.json": b"{}"}, {"kind": "consultation"}, SETTINGS)
    monkeypatch.setitem(RECOUNTERS, "consultation", "tests.results.test_package:_fake_recount")
    assert verify_package(data).problems == ["answers.json: fake difference"]
    monkeypatch.setitem(RECOUNTERS, "consultation", "no_such_module:recount")
    problems = verify_package(data).problems
    assert problems == [
        "this pb cannot re-count 'consultation' packages (no_such_module:recount is not installed)"
    ]


def _fake_recount(manifest: dict, files: dict[str, bytes]) -> list[str]:
    return [f"{name}: fake difference" for name in files]


def test_equal_shares_packages_verify_too() -> None:
    data = build_budgeting_package(process_data(rule="equalshares/add1"), SETTINGS)[0]
    assert verify_package(data).problems == []


def test_cli_verify_ok_and_failures(tmp_path, package: bytes) -> None:
    runner = CliRunner()
    good = tmp_path / "good.zip"
    good.write_bytes(package)
    result = runner.invoke(main, ["verify", str(good)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: good.zip")
    key = signing.public_key_hex(SETTINGS)
    assert runner.invoke(main, ["verify", str(good), "--public-key", key]).exit_code == 0
    pem = tmp_path / "key.pem"
    pem.write_text(signing.public_key_pem(key))
    assert runner.invoke(main, ["verify", str(good), "--public-key", str(pem)]).exit_code == 0

    files = unzip(package)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(rezip(dict(files, **{"results.csv": flip(files["results.csv"])})))
    result = runner.invoke(main, ["verify", str(bad)])
    assert result.exit_code == 1
    assert "results.csv: changed" in result.output

    wrong = runner.invoke(
        main, ["verify", str(good), "--public-key", signing.public_key_hex(OTHER)]
    )
    assert wrong.exit_code == 1 and "wrong signature" in wrong.output

    assert runner.invoke(main, ["verify", str(good), "--public-key", "nope"]).exit_code == 2
    missing = runner.invoke(main, ["verify", str(tmp_path / "none.zip")])
    assert missing.exit_code == 2 and "cannot read" in missing.output


def test_signing_key_from_settings_is_used() -> None:
    seed = "11" * 32
    s = replace(SETTINGS, signing_key=seed)
    assert signing.public_key_hex(s) != signing.public_key_hex(SETTINGS)
    data = build_package({"a": b"1"}, {"kind": "budgeting"}, s)
    assert read_package(data, signing.public_key_hex(s))[1] == {"a": b"1"}


def test_fraction_budgets_survive_the_round_trip() -> None:
    from results.canonical import election_from_json, election_json, normalize

    e = tally.Election(
        budget=Fraction(2838616_34, 100),
        projects=(tally.Project("a", 5, "A"),),
        ballots=(tally.Ballot(("a",)),),
    )
    assert election_from_json(election_json(e)) == normalize(e)


def test_certificate_names_method_winners_digests_and_signers(package: bytes) -> None:
    files = unzip(package)
    html = files["certificate.html"].decode()
    manifest = json.loads(files["manifest.json"])
    for name in ("results.json", "ballots/north.pb", "config.json"):
        assert manifest["files"][name]["sha256"] in html
    assert "<code>greedy</code>" in html and "Ada Admin" in html
    assert "Park benches" in html and "Skate park" in html and "Library hours" not in html
    assert signing.fingerprint(signing.public_key_hex(SETTINGS)) in html
    pdf = files["certificate.pdf"]
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")


def test_signing_key_setting_is_checked() -> None:
    from pb.errors import ConfigError

    with pytest.raises(ConfigError, match="PB_SIGNING_KEY must be 64 hexadecimal digits"):
        Settings(env="test", signing_key="not-a-key")
    env = {"PB_ENV": "test", "PB_SIGNING_KEY": "ab" * 32}
    loaded = Settings.from_env(env)
    assert loaded.signing_key == "ab" * 32
    assert "ab" * 32 not in repr(loaded)


def test_cumulative_ballots_publish_with_their_points() -> None:
    from results.canonical import input_sha256, normalize
    from results.contents import DistrictData
    from tally.model import BallotConstraints, VoteType

    from .sample import receipt

    base = process_data()
    cast = [(("1", "2"), (2, 3)), (("1",), (5,)), (("3", "2"), (1, 4)), (("2",), (5,))]
    e = normalize(
        tally.Election(
            budget=100,
            projects=base.districts[0].election.projects,
            ballots=tuple(tally.Ballot(p, pts) for p, pts in cast),
            vote_type=VoteType.CUMULATIVE,
            constraints=BallotConstraints(max_sum_points=5),
        )
    )
    district = DistrictData(
        "north", "North", 100, e, tally.run("greedy", e, ""), input_sha256(e),
        {"online": 4, "paper": 0},
        [(receipt("c", i), {"projects": list(p), "points": list(pts)}) for i, (p, pts) in enumerate(cast)],
    )  # fmt: skip
    data = build_budgeting_package(replace(base, districts=[district]), SETTINGS)[0]
    assert verify_package(data).problems == []
    text = unzip(data)["ballots/north.pb"].decode()
    assert "vote;points" in text and "2,1;3,2" in text  # most points first
    from pabulib import Checker

    with contextlib.redirect_stdout(io.StringIO()):
        found = Checker().process_files([text])[1]["results"]
    assert found.get("errors", {}) == {} and found.get("warnings", {}) == {}


def test_every_single_changed_byte_of_the_zip_is_caught() -> None:
    """Not only file contents: timestamps, flags and offsets in the zip's own records too."""
    from results.package import check_package

    small = build_package(
        {"a.txt": b"alpha", "b/c.json": b"{}"}, {"kind": "consultation"}, SETTINGS
    )
    assert check_package(small).problems == []
    missed = [i for i in range(len(small)) if not check_package(flip(small, i)).problems]
    assert missed == []


@pytest.mark.parametrize("position", [0.1, 0.3, 0.5, 0.7, 0.9])
def test_a_changed_byte_in_the_archive_itself_is_caught(package: bytes, position: float) -> None:
    problems = verify_package(flip(package, int(len(package) * position))).problems
    assert problems, position
