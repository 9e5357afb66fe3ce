"""Inline SVG charts for the report: activation histogram and signed bars (all text escaped)."""

from __future__ import annotations

from html import escape
from typing import Any


def histogram_svg(hist: dict[str, Any], width: int = 260, height: int = 90) -> str:
    """A bar chart of a histogram (``edges``, ``counts``) with the axis range written below."""
    counts = hist["counts"]
    if not counts:
        return '<p class="muted">no active cell</p>'
    top = max(max(counts), 1)
    w = width / len(counts)
    bars = "".join(
        f'<rect x="{i * w:.1f}" y="{height - c / top * height:.1f}" width="{max(w - 1, 1):.1f}" '
        f'height="{c / top * height:.1f}"/>'
        for i, c in enumerate(counts)
    )
    lo, hi = hist["edges"][0], hist["edges"][-1]
    return (
        f'<svg class="hist" viewBox="0 0 {width} {height + 14}" width="{width}" height="{height + 14}">{bars}'
        f'<text x="0" y="{height + 12}">{lo:.3g}</text>'
        f'<text x="{width}" y="{height + 12}" text-anchor="end">{hi:.3g}</text></svg>'
    )


def bars_svg(rows: list[tuple[str, float]], width: int = 300, row_height: int = 14) -> str:
    """Horizontal signed bars (positive right of zero, negative left) labelled with names."""
    if not rows:
        return '<p class="muted">none</p>'
    label_w, value_w = 90, 50
    track = width - label_w - value_w
    zero = label_w + track / 2
    top = max(abs(v) for _, v in rows) or 1.0
    parts = []
    for i, (name, value) in enumerate(rows):
        y = i * row_height
        length = abs(value) / top * track / 2
        x = zero if value >= 0 else zero - length
        cls = "pos" if value >= 0 else "neg"
        parts.append(
            f'<text x="0" y="{y + 11}">{escape(name[:14])}</text>'
            f'<rect class="{cls}" x="{x:.1f}" y="{y + 2}" width="{length:.1f}" height="{row_height - 4}"/>'
            f'<text x="{width}" y="{y + 11}" text-anchor="end">{value:.3g}</text>'
        )
    height = row_height * len(rows)
    axis = f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="0" y2="{height}"/>'
    head = f'<svg class="bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
    return f"{head}{axis}{''.join(parts)}</svg>"
