"""Agencies and the accounts of their admins and officers."""

from fastapi import APIRouter, status

from api.deps import Admin, ContextDep, CurrentUser, JusticeAdmin, SessionDep
from api.domain.audit import log as audit
from api.domain.errors import Forbidden
from api.domain.models import AgencyLevel, Role
from api.domain.organisation.accounts import create_officer, create_user
from api.domain.organisation.agencies import create_agency, get_agency, list_agencies
from schemas.agencies import AgencyCreate, AgencyRead, UserCreate, UserRead

router = APIRouter(prefix="/api", tags=["agencies"])


@router.post("/agencies", response_model=AgencyRead, status_code=status.HTTP_201_CREATED)
def create_agency_route(session: SessionDep, user: JusticeAdmin, body: AgencyCreate) -> AgencyRead:
    """Create an agency in the tree with its approved headcount (员额, 第十二条). Justice bureau only."""
    agency = create_agency(
        session,
        name=body.name,
        code=body.code,
        level=AgencyLevel(body.level),
        parent_id=body.parent_id,
        headcount_quota=body.headcount_quota,
    )
    audit.record(session, agency, "agency.created", actor_id=user.id)
    return AgencyRead.model_validate(agency)


@router.get("/agencies", response_model=list[AgencyRead])
def list_agencies_route(session: SessionDep, user: CurrentUser) -> list[AgencyRead]:
    """Every agency in the tree (names and levels are public knowledge; staff are not)."""
    return [AgencyRead.model_validate(a) for a in list_agencies(session)]


@router.post("/users", response_model=UserRead, status_code=status.HTTP_201_CREATED)
def create_user_route(ctx: ContextDep, session: SessionDep, user: Admin, body: UserCreate) -> UserRead:
    """Create an agency_admin (justice bureau) or an officer (the agency's own admin)."""
    agency = get_agency(session, body.agency_id)
    role = Role(body.role)
    allowed = (user.role == Role.JUSTICE_ADMIN) or (
        role == Role.OFFICER and user.agency_id == agency.id
    )
    if not allowed:
        raise Forbidden(
            "not_your_agency",
            "只能为本机关创建执法人员账号；机关管理员由司法行政部门创建",
            "agency admins create officers of their own agency; the justice bureau creates agency admins",
            article="第五条",
        )
    new = create_user(
        session,
        username=body.username,
        password=body.password,
        role=role,
        agency_id=agency.id,
        name=body.name,
        cost=ctx.hash_cost,
    )
    officer = create_officer(session, user=new, agency=agency, cert_no=body.officer_cert_no) if (
        role == Role.OFFICER
    ) else None
    audit.record(session, new, "user.created", actor_id=user.id)
    if officer is not None:
        audit.record(session, officer, "officer.created", actor_id=user.id)
    return UserRead(
        id=new.id,
        username=new.username,
        role=new.role,
        agency_id=new.agency_id,
        name=new.name,
        officer_id=officer.id if officer else None,
    )
