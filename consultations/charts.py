"""Server-rendered SVG bar charts for consultation results, readable without JavaScript.

One horizontal bar per option (or scale point), its length the share of respondents, its value
written beside it. The SVG has ``role="img"`` with a ``<title>`` and a ``<desc>`` saying in words
what it shows, and the page repeats the figures in a table. Styling comes from classes in
``pb.css`` (the content security policy forbids inline styles); the leading option is marked
with a tick as well as a colour, so the chart does not rely on colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from markupsafe import Markup, escape

from consultations.results import percent

__all__ = ["ChartBar", "bar_chart"]

WIDTH = 640
ROW = 28
LABEL = 240
PAD = 8
VALUE_ROOM = 120


@dataclass(frozen=True)
class ChartBar:
    label: str
    count: int
    share: Fraction  # out of 100
    leading: bool = False


def _short(text: str, limit: int = 32) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(chart_id: str, title: str, bars: Sequence[ChartBar]) -> Markup:
    """Bars in the order given; lengths are shares out of 100 (not scaled to the longest)."""
    span = WIDTH - LABEL - VALUE_ROOM
    height = PAD * 2 + ROW * max(1, len(bars))
    desc = "; ".join(f"{b.label}: {b.count} ({percent(b.share)})" for b in bars) or "No answers."
    parts = [
        f'<svg class="chart consultation-chart" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="img" aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
    ]
    for i, bar in enumerate(bars):
        y = PAD + i * ROW
        share = min(max(Fraction(bar.share), Fraction(0)), Fraction(100))
        width = int(share / 100 * span)
        if bar.count and width == 0:
            width = 1  # a non-zero count stays visible
        cls = "chart-bar chart-bar-funded" if bar.leading else "chart-bar"
        label = _short(bar.label) + (" ✓" if bar.leading else "")
        value = f"{bar.count} · {percent(bar.share)}"
        parts.append(
            f'<text class="chart-label" x="{LABEL - 6}" y="{y + 18}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect class="{cls}" x="{LABEL}" y="{y + 4}" width="{width}" height="{ROW - 8}" rx="2"/>'
            f'<text class="chart-value" x="{LABEL + width + 6}" y="{y + 18}">{escape(value)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
