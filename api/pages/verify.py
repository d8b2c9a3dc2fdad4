"""The pages a citizen's phone opens: badge verification, the complaint form and its receipt (第二十四条).

They are plain HTML with inline CSS and no script at all: they must open instantly on a poor network, on any
phone browser, and still say the one thing that matters (trust this person or not) if nothing else loads.
Every value that comes from a record is escaped here, because a name or agency is data an agency typed in.
"""

from collections.abc import Mapping
from html import escape
from typing import NamedTuple
from urllib.parse import urlsplit

from markupsafe import Markup

from api.domain.complaints.catalogue import CATEGORIES
from api.pages.layout import PageChrome, beijing_time, render_body
from schemas.public import VerificationRead, VerificationStatus

COMPLAINT_CATEGORIES: list[tuple[str, str]] = [(c.code, c.label_zh) for c in CATEGORIES]

ARTICLE_6 = (
    "行政执法辅助人员不具有独立的执法资格，只能在行政执法机关及其执法人员的指挥和监督下开展辅助性工作。"
)
ARTICLE_9 = "协助执法时，行政执法辅助人员应当佩戴工作证件、胸牌、臂章等标识，并主动出示证件表明身份。"
_MONO = ' class="mono"'
# Drawn in the page itself (no request, nothing to break): a figure where the ID photo would be.
NO_PHOTO = (
    '<svg class="photo nophoto" role="img" aria-label="暂无照片" viewBox="0 0 108 144" width="108" height="144">'
    '<circle class="figure" cx="54" cy="46" r="20"/><path class="figure" d="M18 110c0-20 16-36 36-36s36 16 36 36z"/>'
    '<text x="54" y="132" text-anchor="middle">暂无照片</text></svg>'
)


class _Banner(NamedTuple):
    title: str
    detail: str
    mark: str
    aside: str = ""  # kept on one line, so a narrow screen breaks before it and not inside it


_BANNERS: dict[VerificationStatus, _Banner] = {
    "valid": _Banner("有效证件", "证件真实有效。请核对照片、姓名与您面前的人是否一致。", "ok"),
    "suspended": _Banner("证件已暂停使用", "持证人目前被暂停从事行政执法辅助工作。", "hold"),
    "revoked": _Banner("证件已注销", "持证人已离职或证件已被收回，不再是行政执法辅助人员。", "no"),
    "superseded": _Banner("证件已作废", "此证件已被新证取代，旧证不得再使用。", "no", "（已补发新证）"),
    "expired": _Banner("证件已过期", "持证人的聘用期限已满且未续聘，目前不是在岗的行政执法辅助人员。", "no",
                       "（聘期已满）"),
    "invalid": _Banner(
        "无效证件", "二维码不是本市签发的有效证件，可能是伪造或被篡改的证件。", "no", "（无法核验）"
    ),
}


def _h(text: str) -> str:
    return escape(text, quote=True)


def _safe_url(url: str | None) -> str | None:
    """The URL if relative or http(s): a `javascript:` or `data:` URL must never reach an attribute."""
    if not url:
        return None
    scheme = urlsplit(url.strip()).scheme.lower()
    return url if scheme in ("", "http", "https") else None


def _page(*, title: str, section: str, body: str, chrome: PageChrome | None) -> str:
    # ``body`` is built here with every record value escaped (_h), so it goes into the frame as markup.
    return render_body(Markup(body), chrome=chrome, title=title, section=section)


def _banner(status: VerificationStatus) -> str:
    b = _BANNERS[status]
    return (
        f'<section class="banner s-{status}" data-status="{status}" role="status">'
        f'<span class="mark {b.mark}" aria-hidden="true"></span>'
        f"<div><h1>{_h(b.title)}<span>{_h(b.aside)}</span></h1><p>{_h(b.detail)}</p></div></section>"
    )


def _duties(title: str, duties: list[str], empty: str) -> str:
    items = "".join(f"<li>{_h(d)}</li>" for d in duties)
    listing = f'<ul class="duties">{items}</ul>' if items else f'<p class="none">{_h(empty)}</p>'
    return f'<section class="card"><h2>{_h(title)}</h2>{listing}</section>'


def _identity(v: VerificationRead) -> str:
    photo_url = _safe_url(v.photo_url)
    no_photo_hint = ""
    if photo_url is None:
        photo = NO_PHOTO
        no_photo_hint = '<p class="hint">未上传证件照片：请对方出示证件，核对姓名和证件编号。</p>'
    else:
        alt = f"{v.name}的证件照片" if v.name else "持证人的证件照片"
        photo = f'<img class="photo" src="{_h(photo_url)}" alt="{_h(alt)}" width="108" height="144">'
    rows = [("证件编号", v.badge_no, True), ("所在单位", v.agency, False)]
    if v.command_agency and v.command_agency != v.agency:
        rows.append(("指挥单位", v.command_agency, False))
    fields = "".join(
        f"<dt>{label}</dt><dd{_MONO if mono else ''}>{_h(value)}</dd>" for label, value, mono in rows if value
    )
    return (
        f'<section class="card who">{photo}<div><p class="name">{_h(v.name or "")}</p>'
        f'<dl>{fields}</dl><span class="tag">无独立执法资格</span>{no_photo_hint}</div></section>'
    )


def _extra_notice(notice: str, *, covered: str) -> str:
    """The answer's `notice` as a paragraph, unless it only restates what the page already says in full."""
    return f"<p>{_h(notice)}</p>" if notice and covered not in notice else ""


def _valid_body(v: VerificationRead) -> str:
    extra = _extra_notice(v.notice, covered="不具有独立的执法资格")
    return "".join(
        [
            _identity(v),
            '<section class="card notice"><h2>请注意</h2>'
            f"<p><strong>{_h(ARTICLE_6)}</strong>（第六条）</p><p>{_h(ARTICLE_9)}（第九条）</p>{extra}</section>",
            _duties("可独立从事的工作", [d.name for d in v.independent_duties], "无"),
            _duties(
                "仅可在执法人员指挥下协助从事的工作",
                [d.name for d in v.assisted_duties],
                "无。此人不得参与需要执法人员在场的工作。",
            ),
        ]
    )


def _report_howto(*, online: bool) -> str:
    web = "<li>点击下方“投诉/举报此证件”在线提交，无需注册：</li>" if online else ""
    return (
        '<ol class="howto">'
        '<li>拨打 <a class="tel" href="tel:12345">12345</a>（南京市政务服务热线）反映情况；</li>'
        '<li>情况紧急或人身、财产安全受到威胁，请立即拨打 <a class="tel" href="tel:110">110</a> 报警；</li>'
        f"{web}</ol>"
    )


def _complain_button(complain_url: str) -> str:
    href = _safe_url(complain_url) or "#"
    return (
        f'<a class="btn" href="{_h(href)}">投诉/举报此证件</a>'
        '<p class="hint">遇到未出示证件、超出职责范围、态度粗暴、索要财物等情况，均可投诉。</p>'
    )


def _not_valid_body(v: VerificationRead, complain_url: str) -> str:
    known = [("证件编号", v.badge_no), ("发证单位", v.agency)]
    fields = "".join(f"<dt>{label}</dt><dd>{_h(value)}</dd>" for label, value in known if value)
    identity = f'<section class="card"><h2>证件信息</h2><dl>{fields}</dl></section>' if fields else ""
    notice = _extra_notice(v.notice, covered="请勿配合")
    return (
        '<section class="card alert"><p class="big">请勿配合此人的执法要求</p>'
        "<p>不要向其缴纳任何款项、交出物品或提供个人信息。行政执法辅助人员本就不具有独立的执法资格（第六条），"
        f"持此证件者更不能以行政执法辅助人员身份开展工作。</p>{notice}</section>"
        f'<section class="card"><h2>如何举报</h2>{_report_howto(online=True)}{_complain_button(complain_url)}'
        f"</section>{identity}"
    )


def render_verify_page(v: VerificationRead, *, complain_url: str, chrome: PageChrome | None = None,
                       how: str | None = None) -> str:
    """The page behind the badge's QR code: a banner no one can misread, then what this person may do.

    Only a valid badge shows the person and their duties; any other status leads with "do not cooperate"
    and how to report, since that is all a citizen facing a dead badge needs. ``how`` says how the badge was
    found when it was not scanned (a number typed, a photo).
    """
    if v.status == "valid":
        details = _valid_body(v) + f'<section class="card">{_complain_button(complain_url)}</section>'
    else:
        details = _not_valid_body(v, complain_url)
    way = f"{_h(how)}　" if how else ""
    meta = f'<p class="meta">{way}核验时间：{_h(beijing_time(v.checked_at))}</p>'
    body = _banner(v.status) + meta + details
    b = _BANNERS[v.status]
    return _page(title=f"{b.title}{b.aside} · 证件核验", section="身份核验", body=body, chrome=chrome)


def _value(values: Mapping[str, str], name: str) -> str:
    value = values.get(name)
    return f' value="{_h(value)}"' if value else ""


def render_complaint_form(
    *,
    action_url: str,
    badge_no: str | None,
    token: str | None,
    categories: list[tuple[str, str]],
    error: str | None = None,
    values: Mapping[str, str] | None = None,
    ask_badge_no: bool = False,
    chrome: PageChrome | None = None,
) -> str:
    """A complaint form that posts without script or account; re-rendered with `error` (and what was typed, in
    ``values``) when refused. ``ask_badge_no``: a field for the badge number (the form not reached from a badge)."""
    values = values or {}
    chosen = values.get("category", "")
    options = '<option value="">请选择</option>' + "".join(
        f'<option value="{_h(code)}"{" selected" if code == chosen else ""}>{_h(label)}</option>'
        for code, label in categories
    )
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{_h(value)}">'
        for name, value in (("badge_no", None if ask_badge_no else badge_no), ("token", token))
        if value is not None
    )
    about = f'<p>被投诉证件编号：<span class="mono">{_h(badge_no)}</span></p>' if badge_no and not ask_badge_no else ""
    badge_field = (
        '<label for="badge_no">证件编号 <small>（选填，知道时填写）</small></label>'
        '<input type="text" id="badge_no" name="badge_no" maxlength="40" autocomplete="off" '
        f'autocapitalize="characters" spellcheck="false"{_value({"badge_no": badge_no or "", **values}, "badge_no")}>'
        if ask_badge_no else ""
    )
    alert = f'<p class="error" role="alert">{_h(error)}</p>' if error else ""
    body = (
        '<section class="card"><h2>投诉/举报行政执法辅助人员</h2>'
        f'{about}<p class="hint">无需注册。提交后您将获得受理编号和查询码，凭此查询处理进度。'
        "情况紧急请拨打 110。</p>"
        f'{alert}<form method="post" action="{_h(_safe_url(action_url) or "")}" '
        'enctype="application/x-www-form-urlencoded" accept-charset="utf-8">'
        f"{hidden}{badge_field}"
        '<label for="category">问题类型</label>'
        f'<select id="category" name="category" required>{options}</select>'
        '<label for="description">事情经过</label>'
        '<textarea id="description" name="description" required maxlength="4000" '
        f'placeholder="请描述发生了什么、对方说了什么或做了什么">{_h(values.get("description", ""))}</textarea>'
        '<label for="occurred_at">发生时间 <small>（大致即可）</small></label>'
        f'<input type="datetime-local" id="occurred_at" name="occurred_at"{_value(values, "occurred_at")}>'
        '<label for="location">发生地点 <small>（选填）</small></label>'
        '<input type="text" id="location" name="location" maxlength="200" '
        f'placeholder="如：某某路与某某街交叉口"{_value(values, "location")}>'
        '<label for="contact_phone">联系电话 <small>（选填，仅用于回访）</small></label>'
        '<input type="tel" id="contact_phone" name="contact_phone" maxlength="20" autocomplete="tel"'
        f'{_value(values, "contact_phone")}>'
        '<p class="hint">请如实反映情况。您的联系方式只用于处理本投诉，不会告知被投诉人。</p>'
        '<button class="btn" type="submit">提交投诉</button></form></section>'
    )
    return _page(title="投诉/举报 · 行政执法辅助人员", section="投诉举报", body=body, chrome=chrome)


def render_complaint_receipt(
    *, tracking_no: str, access_code: str, leaf_hash: str | None = None, log_index: int | None = None,
    forget_url: str | None = None, chrome: PageChrome | None = None,
) -> str:
    """The one moment the citizen sees their access code: make it big, selectable, and say to keep it. With
    ``leaf_hash``, the complaint's receipt in the transparency log; with ``forget_url``, a button that takes
    the receipt off this device (a shared phone) once it is written down."""
    place = f"第 {log_index} 条" if log_index is not None else "正在写入，稍后可在查询页看到位置和证明"
    logged = (
        '<section class="card"><h2>不可篡改的受理记录</h2>'
        "<p>本投诉已记入公开的防篡改日志（第十条(三)），任何人都无法删改而不被发现。</p>"
        f'<dl><dt>记录摘要（SHA-256）</dt><dd class="hash">{_h(leaf_hash)}</dd>'
        f"<dt>日志位置</dt><dd>{_h(place)}</dd></dl></section>"
        if leaf_hash else ""
    )
    forget = (
        f'<form method="post" action="{_h(_safe_url(forget_url) or "")}">'
        '<button class="btn quiet" type="submit">我已保存，从本机清除此回执</button></form>'
        if forget_url else ""
    )
    body = (
        '<section class="banner s-valid" data-status="received" role="status">'
        '<span class="mark ok" aria-hidden="true"></span>'
        "<div><h1>投诉已受理</h1><p>行政执法机关将调查核实并依法处理。</p></div></section>"
        '<section class="card"><h2>受理编号</h2>'
        f'<output class="code mono">{_h(tracking_no)}</output>'
        "<h2>查询码</h2>"
        f'<output class="code mono">{_h(access_code)}</output>'
        "<p><strong>请截图或抄写保存受理编号和查询码。</strong>凭这两项可在"
        '<a href="/track">投诉查询</a>页查询处理进度和结果，请勿告诉他人。</p>'
        f"{forget}</section>{logged}"
        f'<section class="card"><h2>其他反映渠道</h2>{_report_howto(online=False)}</section>'
    )
    return _page(title="投诉已受理", section="投诉举报", body=body, chrome=chrome)
