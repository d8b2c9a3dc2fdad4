"""Agencies and the accounts of their admins and officers."""

from fastapi import APIRouter, status

from api.deps import Admin, ContextDep, CurrentUser, JusticeAdmin, SessionDep
from api.domain.models import AgencyLevel, Role
from api.domain.organisation.accounts import open_account
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
        actor_id=user.id,
    )
    return AgencyRead.model_validate(agency)


@router.get("/agencies", response_model=list[AgencyRead])
def list_agencies_route(session: SessionDep, user: CurrentUser) -> list[AgencyRead]:
    """Every agency in the tree (names and levels are public knowledge; staff are not)."""
    return [AgencyRead.model_validate(a) for a in list_agencies(session)]


@router.post("/users", response_model=UserRead, status_code=status.HTTP_201_CREATED)
def create_user_route(ctx: ContextDep, session: SessionDep, user: Admin, body: UserCreate) -> UserRead:
    """Create an agency_admin (justice bureau) or an officer (the agency's own admin)."""
    new, officer = open_account(
        session, actor=user, username=body.username, password=body.password, role=Role(body.role),
        agency=get_agency(session, body.agency_id), name=body.name, officer_cert_no=body.officer_cert_no,
        cost=ctx.hash_cost,
    )
    return UserRead(
        id=new.id,
        username=new.username,
        role=new.role,
        agency_id=new.agency_id,
        name=new.name,
        officer_id=officer.id if officer else None,
    )
