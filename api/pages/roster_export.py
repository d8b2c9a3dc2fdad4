"""The December roster (第十二条) as the files an agency files: a CSV in UTF-8 with a BOM and a real .xlsx, the
same rows and the same Chinese headers in both, so Excel and WPS open either.

Names and company names come from users: a CSV cell that starts like a formula gets a leading apostrophe,
and an .xlsx cell is always written as text, never as a formula.
"""

import csv
import io
import re
import unicodedata
from datetime import date, datetime, time
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from api.domain.duties import DUTY_BY_CODE
from api.domain.oversight.roster import HIRE_METHODS_ZH, STATUSES_ZH, TRAINING_COLUMNS, Roster, RosterEntry

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
AGENCY_HEADERS = ("机关名称", "机关代码")
HEADERS = (
    "证件编号", "姓名", "身份证号码", "聘用方式", "劳务派遣单位", "聘用日期", "状态", "离职日期", "指挥机关",
    "独立履职类别",
    *(f"{label}（小时）" for _, label in TRAINING_COLUMNS),
    "本年培训合计（小时）", "累计培训（小时）",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
Value = str | date | float | None


def headers(report: Roster) -> tuple[str, ...]:
    """The city-wide roster names each row's agency in two more columns in front."""
    return (*AGENCY_HEADERS, *HEADERS) if report.agency is None else HEADERS


def _row(report: Roster, e: RosterEntry) -> list[Value]:
    a = e.auxiliary
    cells: list[Value] = [e.agency.name, e.agency.code] if report.agency is None else []
    return [
        *cells, a.badge_no, a.name, a.id_number_masked, HIRE_METHODS_ZH.get(a.hire_method, a.hire_method),
        a.dispatch_company, a.hired_on,
        STATUSES_ZH.get(e.status, e.status), e.left_on, e.command_agency,
        "、".join(DUTY_BY_CODE[c].name_zh for c in a.categories if c in DUTY_BY_CODE),
        *(e.training_hours.get(kind, 0.0) for kind, _ in TRAINING_COLUMNS),
        e.training_hours_year, e.training_hours_total,
    ]


def rows(report: Roster) -> list[list[Value]]:
    return [_row(report, e) for e in report.entries]


def _csv_text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return "'" + value if value.startswith(FORMULA_START) else value


def roster_csv(report: Roster) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers(report))
    writer.writerows([_csv_text(v) for v in row] for row in rows(report))
    # The BOM makes Excel and WPS read the file as UTF-8 instead of the system's GBK.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _display_width(value: Value) -> int:
    text = _csv_text(value) if not isinstance(value, str) else value
    # A CJK character takes two columns of a spreadsheet's default font.
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _cell(sheet: WriteOnlyWorksheet, value: Value, *, bold: bool = False) -> Cell:
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=datetime.combine(value, time()))
        cell.number_format = "yyyy-mm-dd"
    else:
        cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text, even when it starts with "=": a name is never a formula
    if bold:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="center")
    return cell


def roster_xlsx(report: Roster) -> bytes:
    """One sheet: the header row bold and frozen, columns as wide as their longest cell, dates as dates and
    hours as numbers."""
    titles, body = headers(report), rows(report)
    book = Workbook(write_only=True)
    book.properties.creator = "auxduty"
    book.properties.title = f"{report.year}年行政执法辅助人员名册"
    sheet = book.create_sheet(f"{report.year}年名册")
    sheet.freeze_panes = "A2"
    for index, title in enumerate(titles, start=1):
        widest = max([_display_width(title)] + [_display_width(row[index - 1]) for row in body])
        sheet.column_dimensions[get_column_letter(index)].width = max(8, min(60, widest + 2))
    sheet.append([_cell(sheet, title, bold=True) for title in titles])
    for row in body:
        sheet.append([_cell(sheet, value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _safe_name(name: str) -> str:
    return re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]', "_", name)


def content_disposition(report: Roster, extension: str) -> str:
    """``attachment`` with an ASCII ``filename`` for old clients and the Chinese name in ``filename*``
    (RFC 6266, RFC 8187's UTF-8 percent-encoding)."""
    if report.agency is None:
        code, who = "all", "南京市"
    else:
        code, who = re.sub(r"[^A-Za-z0-9_.-]", "_", report.agency.code), report.agency.name
    plain = f"roster-{code}-{report.year}.{extension}"
    chinese = _safe_name(f"{who}{report.year}年行政执法辅助人员名册.{extension}")
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(chinese, safe='')}"
