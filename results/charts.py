"""Server-rendered SVG charts for result pages, readable without JavaScript or images.

``district_chart`` draws one horizontal bar per project, longest for the most votes (or points),
funded projects filled and marked "funded" in the label, so the chart does not rely on colour.
The SVG has ``role="img"`` with a ``<title>`` and a ``<desc>`` that says in words what it shows,
and the page carries the same figures in a table. Styling comes from classes in ``pb.css`` (the
site's content security policy forbids inline styles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from html import escape

from tally.model import Number

__all__ = ["Bar", "budget_chart", "district_chart"]

WIDTH = 640
ROW = 28
LABEL = 250
PAD = 8


@dataclass(frozen=True)
class Bar:
    label: str
    value: Number
    selected: bool
    value_text: str


def _len(value: Number, top: Number, span: int) -> int:
    if top <= 0:
        return 0
    return max(1 if value > 0 else 0, int(Fraction(value) / Fraction(top) * span))


def _short(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def district_chart(chart_id: str, title: str, bars: Sequence[Bar], unit: str) -> str:
    """Bars sorted as given; ``unit`` is ``votes`` or ``points``."""
    top = max((b.value for b in bars), default=0)
    span = WIDTH - LABEL - 90
    height = PAD * 2 + ROW * max(1, len(bars))
    funded = [b.label for b in bars if b.selected]
    desc = (
        f"{len(bars)} projects by {unit}. Funded: {', '.join(funded) if funded else 'none'}. "
        + "; ".join(
            f"{b.label}: {b.value_text} {unit}{' (funded)' if b.selected else ''}" for b in bars
        )
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    for i, b in enumerate(bars):
        y = PAD + i * ROW
        w = _len(b.value, top, span)
        cls = "chart-bar chart-bar-funded" if b.selected else "chart-bar"
        label = _short(b.label) + (" ✓" if b.selected else "")
        parts.append(
            f'<text class="chart-label" x="{LABEL - 6}" y="{y + 18}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="{cls}" x="{LABEL}" y="{y + 4}" width="{w}" height="{ROW - 8}" rx="2"/>'
            f'<text class="chart-value" x="{LABEL + w + 6}" y="{y + 18}">{escape(b.value_text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def budget_chart(
    chart_id: str, title: str, used: int, budget: int, used_text: str, left_text: str
) -> str:
    """One bar: the share of the budget spent on funded projects, and what is left."""
    span = WIDTH - 2 * PAD
    w = _len(min(used, budget), budget, span) if budget else 0
    desc = f"{used_text} used of the budget, {left_text} left."
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} 56" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>'
        f'<rect class="chart-track" x="{PAD}" y="6" width="{span}" height="20" rx="2"/>'
        f'<rect class="chart-bar chart-bar-funded" x="{PAD}" y="6" width="{w}" height="20" rx="2"/>'
        f'<text class="chart-value" x="{PAD}" y="46">{escape(desc)}</text>'
        "</svg>"
    )
