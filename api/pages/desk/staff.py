"""The staff list (search, filters, pages) and a person's page: record, trainings, credential, standing, tasks
and complaints, read as the API reads them (第五条: another agency's staff are not found), with the forms
that act on them (``actions.py``)."""

import uuid
from typing import Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Response
from sqlalchemy import Select
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.domain.access import managed_agencies, require_visible
from api.domain.complaints.handling import list_complaints
from api.domain.errors import NotFound
from api.domain.fieldwork.tasks import tasks_query
from api.domain.models import Agency, AgencyLevel, Auxiliary, AuxiliaryStatus, Task
from api.domain.organisation.agencies import list_agencies
from api.domain.pagination import paginate
from api.domain.privacy_tables import ReadKind
from api.domain.staff.credentials import PRE_JOB, current_credentials, trainings_of
from api.domain.staff.lookup import auxiliaries_query, visible_auxiliary
from api.domain.staff.standing import standing_of
from api.pages.desk.web import Caller, CallerDep, DeskRoute, render
from api.read_log import log_personal_reads

router = APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)
PAGE = 30
DONE = {
    "hired": "已聘用。下一步：录入岗前培训，培训合格后发放工作证件（第二十三条）。",
    "training": "培训记录已保存。",
    "credential": "工作证件已签发，可打印证件卡。原证件（如有）已作废。",
    "suspend": "已暂停其工作，证件扫码即显示“暂停使用”。",
    "reinstate": "已恢复工作，证件恢复有效。",
    "departure": "已办理离职：证件已注销，收回物品已记录，账号已停用（第二十七条）。",
    "secondment": "指挥机关已更新（第二十二条）。",
}


def _clean(text: str | None) -> str:
    """Query text the database can compare: NUL and lone surrogates dropped."""
    return "".join(ch for ch in (text or "") if ch != "\x00" and not 0xD800 <= ord(ch) <= 0xDFFF)[:64]


def agency_names(session: Session) -> dict[uuid.UUID, str]:
    return {a.id: a.name for a in list_agencies(session)}


def optional_id(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text and len(text) <= 40 else None
    except ValueError:
        return None


def parse_id(text: str, what: str = "auxiliary", what_zh: str = "辅助人员") -> uuid.UUID:
    """An id from a desk URL; anything else is a record that does not exist."""
    found = optional_id(text)
    if found is None:
        raise NotFound(what, what_zh)
    return found


@router.get("/staff")
def staff_list(
    session: SessionDep,
    caller: CallerDep,
    q: str | None = None,
    status: str | None = None,
    agency: str | None = None,
    cursor: str | None = None,
) -> Response:
    search = _clean(q)
    chosen_status = status if status in {s.value for s in AuxiliaryStatus} else ""
    agency_id = optional_id(agency) if caller.justice else None
    stmt = auxiliaries_query(user=caller.user, agency_id=agency_id,
                             status=AuxiliaryStatus(chosen_status) if chosen_status else None, search=search or None)
    rows, next_cursor = paginate(session, cast("Select[tuple[Auxiliary]]", stmt), created=Auxiliary.created_at,
                                 key=Auxiliary.id, limit=PAGE, cursor=(cursor or None) and cursor[:200])
    credentials = current_credentials(session, [a.id for a in rows])
    names = agency_names(session)
    filters = {k: v for k, v in (("q", search), ("status", chosen_status),
                                 ("agency", str(agency_id) if agency_id else "")) if v}
    next_url = f"/desk/staff?{urlencode({**filters, 'cursor': next_cursor})}" if next_cursor else ""
    return render("staff.html", caller=caller, title="辅助人员", section="staff", rows=rows,
                  credentials=credentials, names=names, q=search, status_filter=chosen_status,
                  agency=str(agency_id) if agency_id else "", next_url=next_url, first_page=not cursor,
                  agencies=sorted(names.items(), key=lambda item: item[1]))


def _streets_below(session: Session, employer_id: uuid.UUID) -> list[Agency]:
    """The streets/towns under the employing agency: where it may second its staff (第二十二条)."""
    agencies = list_agencies(session)
    parent = {a.id: a.parent_id for a in agencies}

    def below(agency_id: uuid.UUID | None) -> bool:
        seen: set[uuid.UUID] = set()
        while agency_id is not None and agency_id not in seen:
            seen.add(agency_id)
            agency_id = parent.get(agency_id)
            if agency_id == employer_id:
                return True
        return False

    return [a for a in agencies if a.level == AgencyLevel.STREET and below(a.id)]


def person_page(session: Session, caller: Caller, aux: Auxiliary, *, done: str = "", status: int = 200,
                errors: dict[str, dict[str, str]] | None = None,
                values: dict[str, dict[str, Any]] | None = None) -> Response:
    """The page of one person, with the result of the last action on it (``done``) or its refusal
    (``errors`` by form, with what was typed in ``values``)."""
    require_visible(caller.user, aux.agency_id, aux.command_agency_id)
    trainings = trainings_of(session, [aux.id])[aux.id]
    credential = current_credentials(session, [aux.id]).get(aux.id)
    standing = standing_of(session, aux)
    tasks = list(session.scalars(
        tasks_query(session, caller.user, status=None, category=None, since=None)
        .where(Task.auxiliary_id == aux.id).order_by(Task.created_at.desc()).limit(20)))
    complaints, _ = list_complaints(session, user=caller.user, status=None, overdue=None, limit=20, cursor=None,
                                    auxiliary_id=aux.id)
    names = agency_names(session)
    manages = managed_agencies(caller.user).covers(aux.agency_id)
    streets = _streets_below(session, aux.agency_id) if manages else []
    # What the page shows of the person is a read of personal data, as the API keeps it (第十条(一)).
    log_personal_reads(session, caller.user, ReadKind.AUXILIARY, [aux.id])
    log_personal_reads(session, caller.user, ReadKind.STANDING, [aux.id])
    return render(
        "person.html", caller=caller, status=status, title=f"{aux.name}（{aux.badge_no}）", section="staff",
        aux=aux, trainings=trainings, pre_job_passed=any(t.kind == PRE_JOB and t.passed for t in trainings),
        total_hours=sum(t.hours for t in trainings), credential=credential, standing=standing, tasks=tasks,
        complaints=complaints, names=names, manages=manages, streets=streets, done=DONE.get(done, ""),
        errors=errors or {}, values=values or {},
    )


@router.get("/staff/{aux_id}")
def person(session: SessionDep, caller: CallerDep, aux_id: str, done: str = "") -> Response:
    return person_page(session, caller, visible_auxiliary(session, parse_id(aux_id), user=caller.user), done=done)
