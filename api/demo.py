"""Demo data: a municipal bureau, a district, two streets, officers, auxiliaries in every status, tasks of
every duty category, some awaiting co-signature, complaints, scans of dead badges as alerts, a refusal and
the overdue rectification order it led to, and people's standing: assessments, terms and a renewal, a
commendation, a term whose renewal an incompetent assessment refuses, a dismissal decided on a complaint, and
another agency's attempt to hire the dismissed man, refused (第十四条). Every auxiliary has a fictitious
居民身份证号码 with a correct check character.
Everything goes through the same domain functions as the API, so the demo obeys the Measures. Loading twice
does nothing the second time."""

import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.context import AppContext
from api.db import session_scope
from api.domain.base import BEIJING, beijing_date, utcnow
from api.domain.complaints.handling import transition_complaint
from api.domain.complaints.intake import file_complaint
from api.domain.errors import ForbiddenWork, RuleViolation
from api.domain.fieldwork.context import FieldContext, load_field_context
from api.domain.fieldwork.cosign import OfficerPosition, cosign_task
from api.domain.fieldwork.records import ShiftDraft, ShiftKind
from api.domain.fieldwork.shifts import record_shift_event
from api.domain.fieldwork.tasks import correct_task, record_task
from api.domain.models import (
    Agency,
    AgencyLevel,
    Article19Case,
    Auxiliary,
    ComplaintStatus,
    Officer,
    Role,
    Task,
    User,
)
from api.domain.organisation.accounts import create_officer, create_user
from api.domain.organisation.agencies import create_agency
from api.domain.oversight.rectification import beijing_today, issue_order
from api.domain.staff.assessments import Scores, record_assessment
from api.domain.staff.badge_status import check_badge_no, record_dead_scan
from api.domain.staff.commendations import record_commendation
from api.domain.staff.contracts import record_contract
from api.domain.staff.credentials import issue_credential, record_training
from api.domain.staff.eligibility import Application
from api.domain.staff.hiring import hire_auxiliary
from api.domain.staff.identity import check_character
from api.domain.staff.status import record_departure, second_auxiliary, suspend_auxiliary
from schemas.tasks import TaskCreate

PASSWORD = "demo-pass-2026"
DEMO_NS = uuid.UUID("6c1f0d0e-2b1a-4c3d-9e8f-0a1b2c3d4e5f")
XINJIEKOU = {"type": "MultiPolygon", "coordinates": [[[[118.772, 32.034], [118.790, 32.034], [118.790, 32.048],
                                                        [118.772, 32.048], [118.772, 32.034]]]]}
CLEAN_RECORD = {"criminal_record": False, "pending_criminal_case": False, "dismissed_for_violation": False,
                "serious_dishonesty": False}
# 顺序码 of the demo's fictitious id numbers (玄武区's 320102): odd for a man, even for a woman, as on a real card.
ID_SERIALS = {"aux.zhang": "013", "aux.chen": "024", "aux.wu": "035", "aux.zhao": "046", "aux.sun": "057",
              "aux.zhou": "068", "aux.qian": "079"}
BIRTH_DATES = {"aux.zhang": date(1993, 4, 12), "aux.chen": date(1990, 9, 3), "aux.wu": date(1996, 1, 25),
               "aux.zhao": date(2001, 7, 19), "aux.sun": date(1988, 11, 2), "aux.zhou": date(1992, 5, 30),
               "aux.qian": date(1994, 8, 8)}


def demo_id_number(username: str) -> str:
    """The fictitious 居民身份证号码 of a demo auxiliary: check-digit-correct, born on their birth date."""
    first17 = f"320102{BIRTH_DATES[username]:%Y%m%d}{ID_SERIALS[username]}"
    return first17 + check_character(first17)


@dataclass
class DemoBadge:
    username: str
    name: str
    badge_no: str
    status: str
    verify_url: str | None


@dataclass
class Demo:
    city: Agency
    district: Agency
    xinjiekou: Agency
    xuanwumen: Agency
    district_admin: User
    street_admin: User
    officer_wang: Officer
    officer_li: Officer
    auxiliaries: dict[str, Auxiliary]
    badges: list[DemoBadge]
    justice_admin: User
    refused_rehire: list[dict[str, str]] | None = None
    """The reasons 新街口街道 was refused when it tried to hire the dismissed 钱勇 (第十四条)."""


def _agencies(session: Session) -> tuple[Agency, Agency, Agency, Agency]:
    city = create_agency(session, name="南京市城市管理局", code="NJ-CGJ", level=AgencyLevel.MUNICIPAL,
                         parent_id=None, headcount_quota=20)
    district = create_agency(session, name="玄武区城市管理局", code="XW-CGJ", level=AgencyLevel.DISTRICT,
                             parent_id=city.id, headcount_quota=12)
    xinjiekou = create_agency(session, name="玄武区新街口街道办事处", code="XW-XJK", level=AgencyLevel.STREET,
                              parent_id=district.id, headcount_quota=8)
    xuanwumen = create_agency(session, name="玄武区玄武门街道办事处", code="XW-XWM", level=AgencyLevel.STREET,
                              parent_id=district.id, headcount_quota=8)
    return city, district, xinjiekou, xuanwumen


def _staff(ctx: AppContext, session: Session) -> Demo:
    cost = ctx.hash_cost
    city, district, xinjiekou, xuanwumen = _agencies(session)
    justice = create_user(session, username="justice.admin", password=PASSWORD, role=Role.JUSTICE_ADMIN,
                          agency_id=None, name="市司法局 周主任", cost=cost)
    d_admin = create_user(session, username="admin.xuanwu", password=PASSWORD, role=Role.AGENCY_ADMIN,
                          agency_id=district.id, name="玄武区城管局 人事科 陈科长", cost=cost)
    s_admin = create_user(session, username="admin.xinjiekou", password=PASSWORD, role=Role.AGENCY_ADMIN,
                          agency_id=xinjiekou.id, name="新街口街道 综合执法办 刘主任", cost=cost)
    wang_user = create_user(session, username="officer.wang", password=PASSWORD, role=Role.OFFICER,
                            agency_id=xinjiekou.id, name="王建国", cost=cost)
    wang = create_officer(session, user=wang_user, agency=xinjiekou, cert_no="JS3201020001")
    li_user = create_user(session, username="officer.li", password=PASSWORD, role=Role.OFFICER,
                          agency_id=district.id, name="李明", cost=cost)
    li = create_officer(session, user=li_user, agency=district, cert_no="JS3201020002")

    people = [
        # username, name, education, categories, seconded, fate
        ("aux.zhang", "张伟", "college", ["patrol", "publicity", "clerical"], True, "active"),
        ("aux.chen", "陈静", "bachelor", ["clerical", "technical", "support", "assigned"], False, "active"),
        ("aux.wu", "吴磊", "vocational", ["patrol", "support"], True, "reissued"),
        ("aux.zhao", "赵敏", "high_school", ["publicity"], False, "pending_training"),
        ("aux.sun", "孙强", "high_school", ["patrol"], True, "suspended"),
        ("aux.zhou", "周丽", "college", ["clerical"], False, "departed"),
        ("aux.qian", "钱勇", "high_school", ["patrol"], True, "dismissed"),
    ]
    auxiliaries: dict[str, Auxiliary] = {}
    badges: list[DemoBadge] = []
    for username, name, education, categories, seconded, fate in people:
        dispatch = username in ("aux.wu", "aux.sun")
        aux = hire_auxiliary(
            session,
            actor=d_admin,
            application=Application(
                name=name, birth_date=BIRTH_DATES[username], education=education,
                hire_method="dispatch" if dispatch else "direct",
                dispatch_company="南京苏宁人力资源服务有限公司" if dispatch else None,
                agency_id=district.id, hired_on=date(2024, 3, 1), categories=categories,
                zones=XINJIEKOU if "patrol" in categories else None, record=CLEAN_RECORD,
                id_number=demo_id_number(username),
                preferences={"martyr_family": False, "veteran": username == "aux.sun", "heroic_deed": False},
            ),
            username=username, password=PASSWORD, cost=cost, id_key=ctx.id_key,
        )
        auxiliaries[username] = aux
        verify_url = None
        if fate != "pending_training":
            record_training(session, aux, actor=d_admin, kind="pre_job", hours=40, completed_on=date(2024, 3, 15),
                            passed=True)
            record_training(session, aux, actor=d_admin, kind="legal", hours=8, completed_on=date(2025, 6, 10),
                            passed=True)
            issued = issue_credential(session, aux, actor=d_admin, signer=ctx.keyring)
            if fate == "reissued":
                old_url = f"{ctx.settings.public_base_url}/v/{issued.token}"
                badges.append(DemoBadge(username, name, aux.badge_no, "superseded", old_url))
                issued = issue_credential(session, aux, actor=d_admin, signer=ctx.keyring)
            verify_url = f"{ctx.settings.public_base_url}/v/{issued.token}"
        if seconded:
            second_auxiliary(session, aux, actor=d_admin, command_agency_id=xinjiekou.id)
        if fate == "suspended":
            suspend_auxiliary(session, aux, actor=d_admin, reason="群众投诉调查期间暂停工作")
        if fate == "departed":
            record_departure(session, aux, actor=d_admin, left_on=date(2026, 6, 30), reason="合同期满不再续聘",
                             items_recovered=["credential", "badge", "armband", "uniform"])
        # aux.qian is dismissed later, on a complaint (_standing): their badge ends up revoked.
        status = {"reissued": "valid", "active": "valid", "pending_training": "no badge yet"}.get(
            fate, {"suspended": "suspended", "departed": "revoked", "dismissed": "revoked"}.get(fate, fate))
        badges.append(DemoBadge(username, name, aux.badge_no, status, verify_url))
    return Demo(city, district, xinjiekou, xuanwumen, d_admin, s_admin, wang, li, auxiliaries, badges, justice)


def load_demo(ctx: AppContext, *, quiet: bool) -> Demo | None:
    """Load the demo once; print the logins and badges unless ``quiet``."""
    with session_scope(ctx.sessions) as session:
        if session.scalar(select(User.id).where(User.username == "justice.admin")) is not None:
            if not quiet:
                print("demo data already loaded; logins use the password", PASSWORD)
            return None
        demo = _staff(ctx, session)
        _fieldwork(ctx, session, demo)
        _standing(ctx, session, demo)
        demo.refused_rehire = _rehire_dismissed(ctx, session, demo)
    if not quiet:
        _print(ctx, demo)
    return demo


def _at(days_ago: int, hour: int, minute: int = 0) -> datetime:
    """A time of a recent day, Beijing time: field work is accepted only for so long after it was done."""
    day = (datetime.now(BEIJING) - timedelta(days=days_ago)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING)


def _task(fc: FieldContext, session: Session, n: int, category: str, description: str, start: datetime,
          *, lat: float = 32.0405, lon: float = 118.7812, **extra: Any) -> Task | None:
    payload = TaskCreate(id=uuid.uuid5(DEMO_NS, f"task-{n}"), category=category, description=description,
                         started_at=start, ended_at=start + timedelta(minutes=40), lat=lat, lon=lon, **extra)
    try:
        task, _ = record_task(session, fc, payload.to_draft())
    except ForbiddenWork:
        return None  # refused, and kept as an Article 19 case: that is what the demo shows
    return task


def _fieldwork(ctx: AppContext, session: Session, demo: Demo) -> None:
    """Shifts, tasks of every duty category, co-signatures and refusals, a correction, complaints."""
    def field(username: str) -> FieldContext:
        user = session.get(User, demo.auxiliaries[username].user_id)
        assert user is not None
        return load_field_context(session, user, limits=ctx.field_limits)

    zhang, chen, sun = field("aux.zhang"), field("aux.chen"), field("aux.sun")
    wang_user = session.get(User, demo.officer_wang.user_id)
    assert wang_user is not None
    for fc, n in ((zhang, 1), (chen, 2)):
        day: tuple[tuple[ShiftKind, int], ...] = (("check_in", 8), ("check_out", 17))
        for kind, hour in day:
            record_shift_event(session, fc, ShiftDraft(
                id=uuid.uuid5(DEMO_NS, f"shift-{n}-{kind}"), kind=kind, at=_at(2, hour), lat=32.0410,
                lon=118.7815, accuracy_m=9.0))
    wang = demo.officer_wang.id
    _task(zhang, session, 1, "patrol", "巡查中山路沿线，劝阻占道经营2起并上报", _at(2, 8, 30))
    _task(zhang, session, 2, "patrol", "巡查途经玄武湖公园北门（责任区外）", _at(2, 10), lat=32.0800, lon=118.7950)
    _task(zhang, session, 3, "publicity", "在新街口广场发放市容管理条例宣传册", _at(2, 14))
    _task(zhang, session, 4, "clerical", "录入本周巡查发现问题台账", _at(2, 16))
    _task(chen, session, 5, "clerical", "窗口接收占道施工许可申请材料", _at(2, 9))
    _task(chen, session, 6, "technical", "维护执法记录仪数据采集站网络", _at(2, 11))
    _task(chen, session, 7, "support", "清点、充电执法记录仪和对讲机", _at(2, 15))
    _task(chen, session, 8, "assigned", "整理年度执法案卷目录", _at(2, 16),
          assignment_ref="玄城管办〔2026〕31号交办单")
    assisted = [
        (9, "order_correction", "协助责令沿街商户清理店外堆放物", "approve"),
        (10, "inspection", "协助对施工工地围挡进行现场核查，拍照取证", None),
        (11, "document_service", "协助送达责令限期改正通知书", None),
        (12, "decision_execution", "协助执行拆除违法广告牌决定", "reject"),
        (13, "scene_order", "协助维持联合执法现场秩序", "approve"),
    ]
    on_the_spot = OfficerPosition(32.0406, 118.7813, 10.0)
    for n, category, description, decision in assisted:
        task = _task(zhang, session, n, category, description, _at(1, 9 + n % 5), officer_id=wang)
        if task is not None and decision:
            note = "已到场指挥" if decision == "approve" else "现场未到场，不予确认"
            cosign_task(session, user=wang_user, task_id=task.id, approve=decision == "approve", note=note,
                        position=on_the_spot, far_m=ctx.settings.cosign_far_metres)
    # Co-signed from the district office, 3 km away: recorded, and flagged far_from_task for oversight.
    from_the_office = _task(zhang, session, 18, "inspection", "协助核查珠江路沿街商铺油烟净化设施", _at(1, 15, 30),
                            lat=32.0478, lon=118.7890, officer_id=wang)
    if from_the_office is not None:
        cosign_task(session, user=wang_user, task_id=from_the_office.id, approve=True, note="电话确认，已核",
                    position=OfficerPosition(32.0590, 118.8150, 15.0), far_m=ctx.settings.cosign_far_metres)
    _task(zhang, session, 14, "statutory_other", "协助开展燃气安全联合检查", _at(1, 15), officer_id=wang,
          legal_basis="《城镇燃气管理条例》第四十二条")
    original = _task(zhang, session, 15, "patrol", "巡查汉中路，发现共享单车乱停", _at(1, 8))
    if original is not None:
        correct_task(session, zhang, task_id=original.id, payload=TaskCreate(
            id=uuid.uuid5(DEMO_NS, "task-15-v2"), category="patrol",
            description="巡查汉中路，发现共享单车乱停5处，已通知运营方",
            started_at=_at(1, 8), ended_at=_at(1, 8, 40), lat=32.0405, lon=118.7812).to_draft())
    # 第十九条: a fine quota, passed on by the officer: refused, and kept against him; the justice bureau
    # ordered his street to rectify (第二十九条), and the street has let the date pass without an answer.
    _task(zhang, session, 16, "patrol", "按罚款指标开具处罚单", _at(1, 10), officer_id=wang,
          flags={"fine_quota": True})
    case = session.scalar(select(Article19Case).where(Article19Case.attempt_id == uuid.uuid5(DEMO_NS, "task-16")))
    if case is not None:
        issued = utcnow() - timedelta(days=20)
        issue_order(session, actor=demo.justice_admin, case_id=case.id, now=issued,
                    instructions="立即停止向辅助人员下达罚款指标，对相关执法人员批评教育，书面报告整改情况",
                    due_on=beijing_today(issued) + timedelta(days=14))
    # Recorded on 孙强's phone the day before his suspension, synced after it: kept, flagged.
    _task(sun, session, 17, "patrol", "巡查中山路地铁站出入口，劝离流动摊贩1处", _at(1, 10))
    complaint, _ = file_complaint(
        session, keyring=ctx.keyring, badge_no=sun.aux.badge_no, token=None, category="rude_conduct",
        description="劝离摊贩时言语粗暴", occurred_at=_at(7, 18), location="中山路与汉中路交叉口",
        lat=None, lon=None, contact_phone=None)
    transition_complaint(session, user=demo.district_admin, complaint_id=complaint.id,
                         to=ComplaintStatus.INVESTIGATING, finding=None, action=None, notice=None)
    file_complaint(session, keyring=ctx.keyring, badge_no=None, token=None, category="no_identification",
                   description="自称城管的人员拒绝出示证件", occurred_at=_at(3, 11), location="珠江路",
                   lat=None, lon=None, contact_phone=None)
    _dead_badge_scans(session, demo)


def _dead_badge_scans(session: Session, demo: Demo) -> None:
    """Alerts: the suspended auxiliary's badge photographed near 中山路 (the phone sent its position: 0.01° of
    it is kept), and the departed one's badge number looked up with no position."""
    for username, channel, lat, lon in (("aux.sun", "image", 32.0467, 118.7853), ("aux.zhou", "page", None, None)):
        check = check_badge_no(session, demo.auxiliaries[username].badge_no)
        if check is not None:
            record_dead_scan(session, check, channel=channel, lat=lat, lon=lon)


def _standing(ctx: AppContext, session: Session, demo: Demo) -> None:
    """Terms and their renewal on an assessment (第二十一条), one by the commanding street (第二十二条), a
    renewal an incompetent assessment refuses, a commendation (第二十六条), a dismissal on a complaint
    (第二十八条)."""
    d_admin, s_admin, aux = demo.district_admin, demo.street_admin, demo.auxiliaries
    today = beijing_date(utcnow())
    ahead = date(today.year + 3, 2, 28)  # the current terms run past any day the demo is loaded on
    # 张伟: first term, assessed by 新街口 (he is seconded there), renewed by the district.
    record_contract(session, aux["aux.zhang"], actor=d_admin, starts_on=date(2024, 3, 1), ends_on=date(2026, 2, 28))
    record_assessment(session, aux["aux.zhang"], actor=s_admin, period="2025", grade="excellent",
                      scores=Scores(95, 92, 96, 90), note="全年巡查无差错，群众无投诉")
    record_contract(session, aux["aux.zhang"], actor=d_admin, starts_on=date(2026, 3, 1), ends_on=ahead)
    record_commendation(session, aux["aux.zhang"], actor=d_admin, kind="嘉奖",
                        reason="暴雨夜协助疏散新街口地下通道群众", awarded_on=date(2026, 7, 20))
    # 吴磊: assessed incompetent in his term; its renewal is refused (第二十一条), so it is left unrecorded.
    wu = aux["aux.wu"]
    record_contract(session, wu, actor=d_admin, starts_on=date(2024, 3, 1), ends_on=ahead)
    record_assessment(session, wu, actor=s_admin, period="2026-H1", grade="incompetent",
                      scores=Scores(55, 48, 60, 70), note="多次脱岗，巡查台账缺失")
    with suppress(RuleViolation):
        record_contract(session, wu, actor=d_admin, starts_on=ahead + timedelta(days=1),
                        ends_on=date(ahead.year + 3, 2, 28))
    # 钱勇: a complaint of bribery, found true, resolved with dismissal: his employment ends at once.
    complaint, _ = file_complaint(
        session, keyring=ctx.keyring, badge_no=aux["aux.qian"].badge_no, token=None, category="abuse_or_bribery",
        description="巡查时向流动摊贩索要财物", occurred_at=_at(18, 15), location="洪武路", lat=None, lon=None,
        contact_phone=None)
    for to, finding, action in ((ComplaintStatus.INVESTIGATING, None, None),
                                (ComplaintStatus.RESOLVED, "经调取执法记录仪视频核实，情况属实", "dismissal")):
        transition_complaint(session, user=d_admin, complaint_id=complaint.id, to=to, finding=finding,
                             action=action, notice=None)


def _rehire_dismissed(ctx: AppContext, session: Session, demo: Demo) -> list[dict[str, str]] | None:
    """新街口街道 tries to hire 钱勇, dismissed by the district for bribery, and states a clean record: his id
    number finds the dismissal, and every agency is refused (第十四条(二)). The reasons of the refusal."""
    try:
        with session.begin_nested():
            hire_auxiliary(session, actor=demo.street_admin, application=Application(
                name="钱勇", birth_date=BIRTH_DATES["aux.qian"], education="high_school", hire_method="direct",
                dispatch_company=None, agency_id=demo.xinjiekou.id, hired_on=beijing_date(utcnow()),
                categories=["patrol"], zones=XINJIEKOU, record=CLEAN_RECORD, id_number=demo_id_number("aux.qian"),
            ), username="aux.qian.xjk", password=PASSWORD, cost=ctx.hash_cost, id_key=ctx.id_key)
    except RuleViolation as refused:
        reasons = refused.extra.get("reasons")
        return reasons if isinstance(reasons, list) else []
    return None


def _print(ctx: AppContext, demo: Demo) -> None:
    print(f"auxduty demo loaded. Every login's password: {PASSWORD}")
    print("  justice.admin     司法局 (justice_admin)")
    print("  admin.xuanwu      玄武区城市管理局 (agency_admin, employs the auxiliaries)")
    print("  admin.xinjiekou   新街口街道 (agency_admin, commands the seconded auxiliaries)")
    print("  officer.wang      新街口街道 officer: co-signs assisted tasks")
    print("  officer.li        玄武区城市管理局 officer")
    print("The phone app: /app/ on this server (http://127.0.0.1:8000/app/ for ./scripts/run-demo.sh); log in as an")
    print("  auxiliary below or as officer.wang to co-sign")
    print("An overdue rectification order (第二十九条): GET /api/rectification-orders?overdue=true")
    print("Auxiliaries and their badges (open the URL, or GET /api/public/badges/<number>):")
    for b in demo.badges:
        print(f"  {b.username:<10} {b.name:<4} {b.badge_no}  {b.status:<13} {b.verify_url or ''}")
    print("Alerts (GET /api/alerts as admin.xuanwu or admin.xinjiekou): the suspended and the departed badge were "
          "scanned")
    print("Standing (GET /api/auxiliaries/<id>/standing): aux.zhang renewed on an assessment and commended;")
    print("  aux.wu assessed incompetent, so his renewal is refused (第二十一条); aux.qian dismissed on a complaint.")
    if demo.refused_rehire:
        print("  新街口街道 then tried to hire aux.qian: refused, his id number finds the dismissal (第十四条):",
              ", ".join(r["code"] for r in demo.refused_rehire))
    print("Id numbers are fictitious and shown only masked (GET /api/auxiliaries/<id>, the roster).")
    print(f"API docs: http://{ctx.settings.host}:{ctx.settings.port}/docs")
