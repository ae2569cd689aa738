"""The printable certificate of a result, as a standalone HTML page and as a PDF (fpdf2).

Both say the same things: the process, the counting method with its parameters and tie-break,
per district the budget, ballots per channel, winners, money used and left, the SHA-256 of every
data file in the package, the audit-log head, the signing key's fingerprint and who signed off.
The PDF embeds Source Sans Pro (the ``font-source-sans-pro`` package, SIL Open Font License),
which covers the Latin, Greek and Cyrillic scripts, so names such as "Łódź" or "Київ" print as
they are; a character the font lacks is shown as its closest form or "?" (the HTML keeps every
character).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from jinja2 import Environment, select_autoescape

from pb.processes import format_money
from results.contents import ProcessData
from results.signing import fingerprint
from tally import TieBreak

__all__ = ["certificate_html", "certificate_pdf", "summary"]

_FONT = "SourceSansPro"


def summary(p: ProcessData, digests: dict[str, str], public_key: str) -> dict[str, Any]:
    """The facts printed on the certificate."""
    districts = []
    for d in p.districts:
        names = {pr.id: pr.name for pr in d.election.projects}
        costs = {pr.id: pr.cost for pr in d.election.projects}
        districts.append(
            {
                "name": d.name,
                "budget": format_money(d.budget, p.currency),
                "ballots": d.election.num_voters,
                "channels": d.channels,
                "winners": [
                    (pid, names.get(pid, pid), format_money(int(costs[pid]), p.currency))
                    for pid in d.outcome.selected
                ],
                "used": format_money(int(d.outcome.total_cost), p.currency),
                "left": format_money(int(d.outcome.leftover), p.currency),
                "input_sha256": d.input_sha256,
            }
        )
    return {
        "name": p.name,
        "rule_id": p.rule_id,
        "rule_params": p.rule_params,
        "tie_break": str(TieBreak.parse(p.tie_break)),
        "frozen_hash": p.frozen_hash or "",
        "software_version": p.software_version,
        "certified_at": p.certified_at.strftime("%Y-%m-%d %H:%M UTC"),
        "districts": districts,
        "digests": sorted(digests.items()),
        "audit_head": p.audit_head,
        "key_fingerprint": fingerprint(public_key),
        "public_key": public_key,
        "signers": p.signers,
    }


_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Certificate of results: {{ s.name }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; color: #111; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { border: 1px solid #999; padding: .25rem .5rem; text-align: left; vertical-align: top; }
code { font-size: .85em; word-break: break-all; }
</style>
</head>
<body>
<main>
<h1>Certificate of results</h1>
<p><strong>{{ s.name }}</strong>, certified {{ s.certified_at }}.</p>
<h2>Counting method</h2>
<dl>
<dt>Rule</dt><dd><code>{{ s.rule_id }}</code></dd>
<dt>Parameters</dt><dd>{% if s.rule_params %}<code>{{ s.rule_params | tojson }}</code>{% else %}none (the rule defaults){% endif %}</dd>
<dt>Tie-break</dt><dd><code>{{ s.tie_break }}</code></dd>
<dt>Frozen configuration (SHA-256)</dt><dd><code>{{ s.frozen_hash }}</code></dd>
<dt>Software</dt><dd>{{ s.software_version }}</dd>
</dl>
{% for d in s.districts %}
<h2>{{ d.name }}</h2>
<p>Budget {{ d.budget }}. Ballots: {{ d.ballots }}{% for ch, n in d.channels | dictsort %}; {{ ch }} {{ n }}{% endfor %}.
Money used {{ d.used }}, left {{ d.left }}.</p>
<table>
<caption>Selected projects in {{ d.name }}</caption>
<thead><tr><th scope="col">Project</th><th scope="col">Cost</th></tr></thead>
<tbody>
{% for pid, name, cost in d.winners %}<tr><td>{{ name }} ({{ pid }})</td><td>{{ cost }}</td></tr>
{% else %}<tr><td colspan="2">No project selected.</td></tr>{% endfor %}
</tbody>
</table>
<p>Input SHA-256: <code>{{ d.input_sha256 }}</code></p>
{% endfor %}
<h2>Files and digests</h2>
<table>
<caption>SHA-256 of each data file in the package</caption>
<thead><tr><th scope="col">File</th><th scope="col">SHA-256</th></tr></thead>
<tbody>
{% for name, digest in s.digests %}<tr><td>{{ name }}</td><td><code>{{ digest }}</code></td></tr>
{% endfor %}
</tbody>
</table>
<p>Audit log head at certification: <code>{{ s.audit_head }}</code></p>
<p>Signed with the Ed25519 key <code>{{ s.public_key }}</code> (fingerprint {{ s.key_fingerprint }}).
Check the package with <code>pb verify PACKAGE.zip</code>.</p>
<h2>Signed off by</h2>
<ul>
{% for signer in s.signers %}<li>{{ signer.name }}, {{ signer.signed_at }}</li>
{% endfor %}
</ul>
</main>
</body>
</html>
"""

_ENV = Environment(autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)


def certificate_html(facts: dict[str, Any]) -> bytes:
    return _ENV.from_string(_HTML).render(s=facts).encode("utf-8")


def _printable(text: str, cmap: dict[int, int]) -> str:
    """``text`` with characters the font lacks replaced by their closest form (or ``?``)."""
    out = []
    for ch in str(text):
        if ord(ch) in cmap or ch in "\n\t":
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if ord(c) in cmap)
        out.append(base or "?")
    return "".join(out)


def certificate_pdf(facts: dict[str, Any]) -> bytes:
    from datetime import UTC, datetime

    import font_source_sans_pro as fonts
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_font(_FONT, "", fonts.font_files_ttf["SourceSansPro"])
    pdf.add_font(_FONT, "B", fonts.font_files_ttf["SourceSansProBold"])
    cmap = pdf.fonts[_FONT.lower()].cmap  # the bold face has the same characters
    pdf.set_creation_date(datetime(2000, 1, 1, tzinfo=UTC))  # same facts, same bytes
    pdf.set_title(f"Certificate of results: {facts['name']}")
    pdf.set_author("pb")
    pdf.set_lang("en")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.epw

    def line(text: str, size: int = 10, style: str = "", height: float = 5) -> None:
        pdf.set_font(_FONT, style, size)
        pdf.multi_cell(width, height, _printable(text, cmap), new_x="LMARGIN", new_y="NEXT")

    line("Certificate of results", 18, "B", 9)
    line(f"{facts['name']}, certified {facts['certified_at']}", 12, "", 7)
    pdf.ln(2)
    line("Counting method", 13, "B", 7)
    line(f"Rule: {facts['rule_id']}")
    line(f"Parameters: {facts['rule_params'] or 'none (the rule defaults)'}")
    line(f"Tie-break: {facts['tie_break']}")
    line(f"Frozen configuration (SHA-256): {facts['frozen_hash']}", 8)
    line(f"Software: {facts['software_version']}")
    for d in facts["districts"]:
        pdf.ln(2)
        line(d["name"], 13, "B", 7)
        channels = "; ".join(f"{k} {v}" for k, v in sorted(d["channels"].items()))
        line(
            f"Budget {d['budget']}. Ballots: {d['ballots']}"
            + (f" ({channels})" if channels else "")
        )
        line(f"Money used {d['used']}, left {d['left']}.")
        if d["winners"]:
            for pid, name, cost in d["winners"]:
                line(f"  - {name} ({pid}): {cost}")
        else:
            line("  No project selected.")
        line(f"Input SHA-256: {d['input_sha256']}", 8)
    pdf.ln(2)
    line("Files and digests (SHA-256)", 13, "B", 7)
    for name, digest in facts["digests"]:
        line(f"{name}: {digest}", 7, "", 4)
    pdf.ln(2)
    line(f"Audit log head at certification: {facts['audit_head']}", 8)
    line(f"Signed with the Ed25519 key {facts['public_key']}", 8)
    line(f"Key fingerprint: {facts['key_fingerprint']}", 8)
    line("Check the package with: pb verify PACKAGE.zip", 9)
    pdf.ln(2)
    line("Signed off by", 13, "B", 7)
    for signer in facts["signers"]:
        line(f"{signer['name']}, {signer['signed_at']}")
    return bytes(pdf.output())
