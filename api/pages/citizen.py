"""The citizen pages besides the badge page itself (第二十四条): the landing page, verification by a typed
number or a photo, following a complaint, and the case notices. Script-free Jinja2 templates under
templates/citizen/, in the frame of layout.py.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from api.domain.audit.receipts import Inclusion, Receipt
from api.domain.base import utcnow
from api.domain.complaints.catalogue import ACTION_BY_CODE, CATEGORY_BY_CODE, DECIDED_STATUSES, STATUS_NAMES_ZH
from api.domain.models import CaseNotice, Complaint
from api.pages.layout import PageChrome, render
from verification.photo import MAX_BYTES


def render_landing(chrome: PageChrome) -> str:
    """`/`: what a citizen can do here, scanning first."""
    return render("citizen/landing.html", chrome=chrome, title="行政执法辅助人员身份核验", section="首页")


def render_number_form(chrome: PageChrome, *, typed: str = "", missing: bool = False) -> str:
    """The badge-number form; with ``missing``, the answer that no badge has the number typed, and nothing
    else (the API's 404 says no more)."""
    return render("citizen/lookup.html", chrome=chrome, title="未找到证件 · 证件核验" if missing else "按证件编号核验",
                  section="身份核验", typed=typed, missing=missing)


def render_photo_form(chrome: PageChrome, *, refusal: str | None = None, problem: str | None = None,
                      host: str | None = None) -> str:
    """The photo upload form; with ``refusal``, what went wrong: ``no_qr_found`` (how to take the photo
    again), ``foreign_qr`` (a fake badge's warning naming ``host``), or another code with ``problem``."""
    titles = {"no_qr_found": "未找到二维码", "foreign_qr": "警告：可能是伪造证件"}
    title = titles.get(refusal or "", "照片无法识别" if refusal else "拍照核验证件")
    return render("citizen/photo.html", chrome=chrome, title=f"{title} · 证件核验", section="身份核验",
                  refusal=refusal, problem=problem, host=host, max_mb=MAX_BYTES // (1024 * 1024))


@dataclass(frozen=True)
class ComplaintView:
    """What the tracking page shows of a complaint: the fields of `GET /api/public/complaints/{no}`, and its
    due date."""

    tracking_no: str
    status: str
    status_name: str
    category_name: str
    received_at: datetime
    due_at: datetime
    overdue: bool
    decided: bool
    decided_at: datetime | None
    finding: str | None
    action_name: str | None
    leaf_hash: str | None
    log_index: int | None
    inclusion: Inclusion | None

    @classmethod
    def of(cls, complaint: Complaint, receipt: Receipt | None, inclusion: Inclusion | None) -> "ComplaintView":
        category = CATEGORY_BY_CODE.get(complaint.category)
        action = ACTION_BY_CODE.get(complaint.action) if complaint.action else None
        return cls(
            tracking_no=complaint.tracking_no, status=complaint.status,
            status_name=STATUS_NAMES_ZH[complaint.status], category_name=category.name_zh if category else "其他",
            received_at=complaint.received_at, due_at=complaint.due_at, overdue=bool(complaint.overdue),
            decided=complaint.status in DECIDED_STATUSES, decided_at=complaint.decided_at,
            finding=complaint.finding, action_name=action.name_zh if action else None,
            leaf_hash=receipt.leaf_hash.hex() if receipt else None,
            log_index=receipt.log_index if receipt else None, inclusion=inclusion,
        )


def render_track_form(chrome: PageChrome, *, tracking_no: str = "", wrong: bool = False) -> str:
    """The tracking form (a POST: the access code never goes into a URL); ``wrong``: the one answer for an
    unknown number and a wrong code alike."""
    return render("citizen/track.html", chrome=chrome, title="查询投诉进度", section="投诉查询", c=None,
                  tracking_no=tracking_no, wrong=wrong)


def render_complaint_status(chrome: PageChrome, view: ComplaintView) -> str:
    """A complaint as its complainant follows it: status, category, dates, outcome and its log receipt."""
    return render("citizen/track.html", chrome=chrome, title=f"{view.status_name} · 投诉查询", section="投诉查询",
                  c=view, now=utcnow())


@dataclass(frozen=True)
class NoticeView:
    published_at: datetime
    agency: str | None
    category_name: str
    action_name: str
    text: str


def notice_views(rows: Sequence[tuple[CaseNotice, str | None]]) -> list[NoticeView]:
    return [
        NoticeView(n.published_at, agency, CATEGORY_BY_CODE[n.category].name_zh, ACTION_BY_CODE[n.action].name_zh,
                   n.text)
        for n, agency in rows
    ]


def render_notices(chrome: PageChrome, notices: list[NoticeView], *, next_href: str | None,
                   first_page: bool) -> str:
    """The published case notices (违法违纪案例通报), newest first, a page at a time."""
    return render("citizen/notices.html", chrome=chrome, title="违法违纪案例通报", section="案例通报",
                  notices=notices, next_href=next_href, first_page=first_page)


def render_message(chrome: PageChrome, *, title: str, section: str, heading: str, lead: str,
                   detail: str | None = None, link: tuple[str, str] | None = None) -> str:
    """A page that only says something: too many requests, a receipt no longer on this device."""
    return render("citizen/notice_page.html", chrome=chrome, title=title, section=section, heading=heading,
                  lead=lead, detail=detail, link={"href": link[0], "text": link[1]} if link else None)
