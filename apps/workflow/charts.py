"""Small server-rendered SVG charts: stacked bars, vertical (a series over days) or horizontal
(groups such as graphs, tools, operators). Labels are escaped; no JavaScript."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# One colour per decision type, the rest cycle through the palette.
COLOURS = {
    "approve": "#2e7d32",
    "accept": "#43a047",
    "edit": "#1565c0",
    "reject": "#c62828",
    "ignore": "#757575",
    "respond": "#6a1b9a",
    "response": "#8e24aa",
    "answer": "#00838f",
    "continue": "#ef6c00",
    "resolve": "#5d4037",
}
PALETTE = ("#546e7a", "#f9a825", "#ad1457", "#00695c", "#283593")


def colour(kind: str, types: Sequence[str]) -> str:
    if kind in COLOURS:
        return COLOURS[kind]
    others = [t for t in types if t not in COLOURS]
    return PALETTE[others.index(kind) % len(PALETTE)] if kind in others else PALETTE[0]


def legend(types: Sequence[str]) -> SafeString:
    items = "".join(
        f'<li><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="{colour(t, types)}"/></svg> {escape(t)}</li>'
        for t in types
    )
    return mark_safe(f'<ul class="legend">{items}</ul>')  # built from escaped parts


def vertical_bars(
    series: Sequence[tuple[str, dict[str, int]]],
    types: Sequence[str],
    *,
    title: str,
    height: int = 180,
) -> SafeString:
    """One stacked bar per ``(label, {type: count})``, left to right."""
    if not series:
        return mark_safe(f'<p class="muted">{escape(title)}: no data.</p>')
    top = max((sum(counts.values()) for _, counts in series), default=0) or 1
    bar, gap, left, bottom = 14, 4, 32, 28
    width = left + len(series) * (bar + gap) + 8
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="{left - 4}" y="12" text-anchor="end" class="axis">{top}</text>',
        f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end" class="axis">0</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" class="axis-line"/>',
    ]
    plot = height - bottom - 8
    step = max(1, len(series) // 10)
    for n, (label, counts) in enumerate(series):
        x = left + n * (bar + gap)
        y = float(height - bottom)
        for kind in types:
            value = counts.get(kind, 0)
            if not value:
                continue
            h = value / top * plot
            y -= h
            parts.append(
                f'<rect x="{x}" y="{y:.1f}" width="{bar}" height="{h:.1f}" fill="{colour(kind, types)}">'
                f"<title>{escape(label)}: {value} {escape(kind)}</title></rect>"
            )
        if n % step == 0:
            parts.append(
                f'<text x="{x + bar / 2}" y="{height - bottom + 14}" text-anchor="middle" class="axis">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # built from escaped parts


def horizontal_bars(
    groups: dict[str, dict[str, int]], types: Sequence[str], *, title: str, limit: int = 12
) -> SafeString:
    """One stacked bar per group (the busiest ``limit``), top to bottom, with its total."""
    rows = list(groups.items())[:limit]
    if not rows:
        return mark_safe(f'<p class="muted">{escape(title)}: no data.</p>')
    top = max(sum(c.values()) for _, c in rows) or 1
    label_w, bar_h, gap, plot_w = 150, 16, 6, 320
    height = len(rows) * (bar_h + gap) + 4
    width = label_w + plot_w + 50
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for n, (label, counts) in enumerate(rows):
        y = 2 + n * (bar_h + gap)
        shown = label if len(label) <= 22 else label[:21] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_h - 4}" text-anchor="end" class="axis">{escape(shown)}</text>'
        )
        x = float(label_w)
        for kind in types:
            value = counts.get(kind, 0)
            if not value:
                continue
            w = value / top * plot_w
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour(kind, types)}">'
                f"<title>{escape(label)}: {value} {escape(kind)}</title></rect>"
            )
            x += w
        parts.append(
            f'<text x="{x + 4:.1f}" y="{y + bar_h - 4}" class="axis">{sum(counts.values())}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # built from escaped parts
