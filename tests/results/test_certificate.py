"""The certificate PDF prints every name as it is: the embedded font covers Latin, Greek and
Cyrillic, and the same facts give the same bytes."""

from __future__ import annotations

import re
import zlib
from typing import Any

from results.certificate import _printable, certificate_pdf

DISTRICT = "Łódź — Śródmieście"
WINNERS = [("p1", "Київ: парк", "1 000 zł"), ("p2", "Αθήνα: πλατεία", "2 000 zł")]


def facts() -> dict[str, Any]:
    return {
        "name": "Budżet obywatelski 2026",
        "certified_at": "2026-11-29 12:00 UTC",
        "rule_id": "equalshares/add1",
        "rule_params": "",
        "tie_break": "lower-cost,more-supporters,project-id",
        "frozen_hash": "ab" * 32,
        "software_version": "pb 0.1",
        "districts": [
            {
                "name": DISTRICT,
                "channels": {"online": 3, "paper": 1},
                "budget": "3 000 zł",
                "ballots": 4,
                "used": "3 000 zł",
                "left": "0 zł",
                "winners": WINNERS,
                "input_sha256": "cd" * 32,
            }
        ],
        "digests": [("results.json", "ef" * 32)],
        "audit_head": "01" * 32,
        "public_key": "23" * 32,
        "key_fingerprint": "45" * 8,
        "signers": [{"name": "Zofia Wójcik", "signed_at": "2026-11-29 12:00 UTC"}],
    }


def unicode_of_embedded_glyphs(pdf: bytes) -> set[int]:
    """Code points of the ToUnicode maps of the embedded (subset) fonts."""
    seen: set[int] = set()
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            text = zlib.decompress(raw).decode("latin-1")
        except zlib.error:
            text = raw.decode("latin-1")
        if "beginbfchar" in text or "beginbfrange" in text:
            seen.update(int(h, 16) for h in re.findall(r"<[0-9A-Fa-f]+> <([0-9A-Fa-f]{4})>", text))
    return seen


def test_names_in_other_scripts_are_embedded_as_they_are():
    pdf = certificate_pdf(facts())
    assert pdf.startswith(b"%PDF-") and b"/FontFile2" in pdf and b"SourceSansPro" in pdf
    glyphs = unicode_of_embedded_glyphs(pdf)
    for text in (DISTRICT, "Zofia Wójcik", "Budżet", *(name for _, name, _ in WINNERS)):
        missing = {ch for ch in text if ch != " " and ord(ch) not in glyphs}
        assert not missing, f"{text!r}: {missing} not printed"


def test_same_facts_same_bytes():
    assert certificate_pdf(facts()) == certificate_pdf(facts())


def test_characters_the_font_lacks_get_their_closest_form():
    cmap = {ord(c): 1 for c in "abcdefghijklmnopqrstuvwxyzŁ?"}
    assert _printable("Łódź", cmap) == "Łodz"  # ó and ź fall back to o and z
    assert _printable("ﬁ", cmap) == "fi"
    assert _printable("東京", cmap) == "??"
