"""The dashboard's charts, drawn by pygal on the server as SVG that goes into the page itself: no script (pygal's
tooltip script comes from a CDN, and its config script is dropped too), nothing loaded from anywhere, an
accessible name on each, colours that keep at least 4.5:1 against white and stay apart for the colour-blind
(a blue and an orange first). Every chart's numbers are also in a table beside it, in the template."""

import sys
from collections.abc import Sequence
from typing import Any
from xml.etree.ElementTree import Element

import pygal  # type: ignore[import-untyped]
from markupsafe import Markup
from pygal.style import Style  # type: ignore[import-untyped]

from api.domain.oversight.monthly import MonthFigures

# pygal puts a finder for its map plugins on sys.meta_path that has no find_spec: every import that fails anywhere
# in the process afterwards (a module tried and skipped on purpose) then raises an ImportWarning. No maps here.
sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]

# Blue, orange, green, purple, wine, slate: each ≥ 4.5:1 on white.
PALETTE = ("#1f5fa8", "#b3541e", "#2e7d32", "#6a3d9a", "#8c1d40", "#4a5462")
FONT = '"PingFang SC","Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",sans-serif'
STYLE = Style(
    background="#ffffff", plot_background="#ffffff", foreground="#1c2430", foreground_strong="#1c2430",
    foreground_subtle="#4a5462", guide_stroke_color="#c9d0da", major_guide_stroke_color="#9aa4b1",
    opacity="1", opacity_hover="1", colors=PALETTE, font_family=FONT, label_font_size=13,
    major_label_font_size=13, legend_font_size=14, value_font_size=12, title_font_size=15, tooltip_font_size=13,
    transition="0ms",
)
CONFIG: dict[str, Any] = {
    "style": STYLE, "js": [], "disable_xml_declaration": True, "width": 760, "height": 380,
    "legend_at_bottom": True, "legend_at_bottom_columns": 4, "print_values": False, "show_y_guides": True,
    "margin": 16, "margin_bottom": 30, "truncate_legend": -1, "truncate_label": -1, "include_x_axis": True,
    "legend_box_size": 14,
}


def _whole_numbers(peak: int) -> list[int]:
    """Axis ticks for counts: whole numbers, about ten of them at most."""
    step = next(s * 10**e for e in range(12) for s in (1, 2, 5) if peak / (s * 10**e) <= 10)
    return list(range(0, peak + step, step))


def _clean(label: str) -> Any:
    def strip(root: Element) -> Element:
        for parent in list(root.iter()):
            for child in list(parent):
                tag = child.tag
                # Comments and processing instructions have a function for a tag; scripts are not wanted.
                if not isinstance(tag, str) or tag.rsplit("}", 1)[-1] == "script":
                    parent.remove(child)
                elif tag.rsplit("}", 1)[-1] == "title":
                    child.text = label
        root.set("role", "img")
        root.set("aria-label", label)
        root.set("focusable", "false")
        return root

    return strip


def _render(chart: Any, label: str) -> Markup:
    chart.add_xml_filter(_clean(label))
    svg: str = chart.render(is_unicode=True)
    # pygal escapes every text it writes (agency names are data an admin typed).
    return Markup(svg)


def monthly_chart(rows: Sequence[MonthFigures], series: Sequence[tuple[str, str]], *, label: str,
                  kind: str = "bar") -> Markup:
    """One bar (or line) per figure and month, oldest month first."""
    make = {"bar": pygal.Bar, "stacked": pygal.StackedBar, "line": pygal.Line}[kind]
    values = [r.value(key) for r in rows for key, _ in series]
    peak = sum(max((r.value(k) for r in rows), default=0) for k, _ in series) if kind == "stacked" else max(
        values, default=0)
    chart = make(**CONFIG, x_labels=[r.month.label for r in rows], x_label_rotation=0 if len(rows) <= 12 else 45,
                 show_minor_x_labels=True, y_labels=_whole_numbers(max(peak, 1)))
    for key, name in series:
        chart.add(name, [r.value(key) for r in rows])
    return _render(chart, label)


def agencies_chart(names: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], *, label: str) -> Markup:
    """One stacked horizontal bar per agency, the first agency at the top."""
    peak = max((sum(column) for column in zip(*(v for _, v in series), strict=True)), default=0)
    chart = pygal.HorizontalStackedBar(**{**CONFIG, "height": max(260, 80 + 30 * len(names))},
                                       x_labels=list(reversed(names)), y_labels=_whole_numbers(max(peak, 1)))
    for name, values in series:
        chart.add(name, list(reversed(values)))
    return _render(chart, label)
