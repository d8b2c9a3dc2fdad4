"""Demo data: a municipal bureau, a district, two streets, officers, auxiliaries in every status, tasks of
every duty category, some awaiting co-signature. Everything goes through the same domain functions as the
API, so the demo obeys the Measures. Loading twice does nothing the second time."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.context import AppContext
from api.db import session_scope
from api.domain.accounts import create_officer, create_user
from api.domain.agencies import create_agency
from api.domain.models import Agency, AgencyLevel, Auxiliary, Officer, Role, User
from api.domain.staff import Application, hire_auxiliary
from api.domain.staff_credentials import issue_credential, record_training
from api.domain.staff_status import record_departure, second_auxiliary, suspend_auxiliary

PASSWORD = "demo-pass-2026"
XINJIEKOU = {"type": "MultiPolygon", "coordinates": [[[[118.772, 32.034], [118.790, 32.034], [118.790, 32.048],
                                                        [118.772, 32.048], [118.772, 32.034]]]]}
CLEAN_RECORD = {"criminal_record": False, "pending_criminal_case": False, "dismissed_for_violation": False,
                "serious_dishonesty": False}


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
    create_user(session, username="justice.admin", password=PASSWORD, role=Role.JUSTICE_ADMIN, agency_id=None,
                name="市司法局 周主任", cost=cost)
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
        # username, name, born, education, categories, seconded, fate
        ("aux.zhang", "张伟", date(1993, 4, 12), "college", ["patrol", "publicity", "clerical"], True, "active"),
        ("aux.chen", "陈静", date(1990, 9, 3), "bachelor", ["clerical", "technical", "support", "assigned"],
         False, "active"),
        ("aux.wu", "吴磊", date(1996, 1, 25), "vocational", ["patrol", "support"], True, "reissued"),
        ("aux.zhao", "赵敏", date(2001, 7, 19), "high_school", ["publicity"], False, "pending_training"),
        ("aux.sun", "孙强", date(1988, 11, 2), "high_school", ["patrol"], True, "suspended"),
        ("aux.zhou", "周丽", date(1992, 5, 30), "college", ["clerical"], False, "departed"),
    ]
    auxiliaries: dict[str, Auxiliary] = {}
    badges: list[DemoBadge] = []
    for username, name, born, education, categories, seconded, fate in people:
        dispatch = username in ("aux.wu", "aux.sun")
        aux = hire_auxiliary(
            session,
            actor=d_admin,
            application=Application(
                name=name, birth_date=born, education=education,
                hire_method="dispatch" if dispatch else "direct",
                dispatch_company="南京苏宁人力资源服务有限公司" if dispatch else None,
                agency_id=district.id, hired_on=date(2024, 3, 1), categories=categories,
                zones=XINJIEKOU if "patrol" in categories else None, record=CLEAN_RECORD,
                preferences={"martyr_family": False, "veteran": username == "aux.sun", "heroic_deed": False},
            ),
            username=username, password=PASSWORD, cost=cost,
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
        status = {"reissued": "valid", "active": "valid", "pending_training": "no badge yet"}.get(
            fate, {"suspended": "suspended", "departed": "revoked"}.get(fate, fate))
        badges.append(DemoBadge(username, name, aux.badge_no, status, verify_url))
    return Demo(city, district, xinjiekou, xuanwumen, d_admin, s_admin, wang, li, auxiliaries, badges)


def load_demo(ctx: AppContext, *, quiet: bool) -> Demo | None:
    """Load the demo once; print the logins and badges unless ``quiet``."""
    with session_scope(ctx.sessions) as session:
        if session.scalar(select(User.id).where(User.username == "justice.admin")) is not None:
            if not quiet:
                print("demo data already loaded; logins use the password", PASSWORD)
            return None
        demo = _staff(ctx, session)
        _fieldwork(session, demo)
    if not quiet:
        _print(ctx, demo)
    return demo


def _fieldwork(session: Session, demo: Demo) -> None:
    """Shifts and tasks of every category (filled in with the field-work domain)."""


def _print(ctx: AppContext, demo: Demo) -> None:
    print(f"auxduty demo loaded. Every login's password: {PASSWORD}")
    print("  justice.admin     司法局 (justice_admin)")
    print("  admin.xuanwu      玄武区城市管理局 (agency_admin, employs the auxiliaries)")
    print("  admin.xinjiekou   新街口街道 (agency_admin, commands the seconded auxiliaries)")
    print("  officer.wang      新街口街道 officer: co-signs assisted tasks")
    print("  officer.li        玄武区城市管理局 officer")
    print("Auxiliaries and their badges (open the URL, or GET /api/public/badges/<number>):")
    for b in demo.badges:
        print(f"  {b.username:<10} {b.name:<4} {b.badge_no}  {b.status:<13} {b.verify_url or ''}")
    print(f"API docs: http://{ctx.settings.host}:{ctx.settings.port}/docs")
