"""The usage figures of 第三十条 as a chart a desk officer reads at a glance: one row per agency, bars
scaled to the largest value of each column. Plain SVG, no script, Chinese labels, every text escaped."""

from html import escape

from api.domain.oversight.reports import AgencyMetrics, Metrics
from api.pages.layout import beijing_time


def _headcount(m: AgencyMetrics) -> tuple[int, int]:
    return m.agency.headcount_used, m.agency.headcount_quota


COLUMNS: tuple[tuple[str, str, str], ...] = (
    # key, title, colour
    ("independent", "独立工作（30天）", "#2e7d32"),
    ("assisted", "协助工作（30天）", "#1565c0"),
    ("pending_cosign", "待会签", "#ef6c00"),
    ("complaints_open", "未办结投诉", "#6a1b9a"),
    ("dead_badge_scans_recent", "失效证件被扫（30天）", "#c62828"),
    ("article19_cases_recent", "第十九条事件（30天）", "#4e342e"),
)


def _value(m: AgencyMetrics, key: str) -> int:
    if key in ("independent", "assisted"):
        return m.tasks_recent.get(key, 0)
    return int(getattr(m, key))


ROW_H, LABEL_W, COL_W, BAR_W, TOP = 34, 230, 150, 110, 86


def render_metrics_svg(metrics: Metrics) -> str:
    """One row per agency: headcount against quota, then a bar per figure, with its number."""
    rows = metrics.agencies
    width = LABEL_W + COL_W * (len(COLUMNS) + 1) + 20
    height = TOP + ROW_H * max(1, len(rows)) + 40
    peak = {key: max([_value(m, key) for m in rows] + [1]) for key, _, _ in COLUMNS}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        '<text x="16" y="30" font-size="20" font-weight="bold" fill="#1a2b4c">'
        "行政执法辅助人员使用情况（第三十条）</text>",
        f'<text x="16" y="54" font-size="13" fill="#555">统计时间：{escape(beijing_time(metrics.generated_at))}'
        "　条形按各列最大值缩放</text>",
        f'<text x="{LABEL_W}" y="{TOP - 10}" font-size="13" fill="#333">员额使用</text>',
    ]
    for i, (_, title, _) in enumerate(COLUMNS, start=1):
        out.append(f'<text x="{LABEL_W + COL_W * i}" y="{TOP - 10}" font-size="13" fill="#333">{title}</text>')
    for r, m in enumerate(rows):
        y = TOP + r * ROW_H
        if r % 2 == 0:
            out.append(f'<rect x="0" y="{y}" width="{width}" height="{ROW_H}" fill="#f4f6fa"/>')
        out.append(f'<text x="16" y="{y + 22}" font-size="14" fill="#111">{escape(m.agency.name)}</text>')
        used, quota = _headcount(m)
        share = used / quota if quota else 0.0
        fill = "#c62828" if quota and used >= quota else "#546e7a"
        out.append(f'<rect x="{LABEL_W}" y="{y + 9}" width="{BAR_W}" height="16" fill="#dde3ea"/>')
        out.append(f'<rect x="{LABEL_W}" y="{y + 9}" width="{BAR_W * min(share, 1.0):.1f}" height="16" '
                   f'fill="{fill}"/>')
        out.append(f'<text x="{LABEL_W + BAR_W + 4}" y="{y + 22}" font-size="12" fill="#333">{used}/{quota}</text>')
        for i, (key, title, color) in enumerate(COLUMNS, start=1):
            value = _value(m, key)
            x = LABEL_W + COL_W * i
            bar = BAR_W * value / peak[key]
            out.append(f'<rect x="{x}" y="{y + 9}" width="{bar:.1f}" height="16" fill="{color}">'
                       f"<title>{escape(m.agency.name)} · {title}：{value}</title></rect>")
            out.append(f'<text x="{x + bar + 4:.1f}" y="{y + 22}" font-size="12" fill="#333">{value}</text>')
    if not rows:
        out.append(f'<text x="16" y="{TOP + 22}" font-size="14" fill="#555">暂无机关</text>')
    out.append("</svg>")
    return "".join(out)
