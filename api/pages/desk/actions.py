"""The forms of a person's page: add a training, issue the credential, suspend, reinstate, record a departure,
second to a street. Each is the API route's domain function on the same record, found the same way
(``managed_auxiliary``: another agency's staff are not found, a reader who does not manage them is refused);
its input checked by the API's own schema; a refusal shown beside the form with its article, nothing kept."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from api.deps import ContextDep, SessionDep
from api.domain.errors import DomainError
from api.domain.models import Auxiliary
from api.domain.staff.credentials import issue_credential, record_training
from api.domain.staff.lookup import managed_auxiliary
from api.domain.staff.status import record_departure, reinstate_auxiliary, second_auxiliary, suspend_auxiliary
from api.pages.desk.staff import parse_id, person_page
from api.pages.desk.web import DeskRoute, Posted, PostedDep, attempt, field_errors, refusal, see_other
from schemas.auxiliaries import DepartureCreate, SecondmentRequest, StatusChange, TrainingCreate

router = APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)

# Where a refusal belongs on the form (its field), by code; anything else is said above the form.
FIELD_OF: dict[str, str] = {
    "completed_in_future": "completed_on",
    "unknown_training_kind": "kind",
    "left_before_hired": "left_on",
    "unknown_item": "items_recovered",
    "invalid_secondment": "command_agency_id",
}


def _act(session: Session, posted: Posted, aux_id: str, form: str, schema: type[BaseModel], body: dict[str, Any],
         act: Callable[[Auxiliary, Any], object], values: dict[str, Any]) -> Response:
    aux = managed_auxiliary(session, parse_id(aux_id), user=posted.caller.user)
    try:
        checked = schema.model_validate(body)
    except ValidationError as exc:
        return person_page(session, posted.caller, aux, status=422, errors={form: field_errors(exc)},
                           values={form: values})
    _, error = attempt(session, lambda: act(aux, checked))
    if error is not None:
        return _refused(session, posted, aux, form, error, values)
    return see_other(f"/desk/staff/{aux.id}?done={form}")


def _refused(session: Session, posted: Posted, aux: Auxiliary, form: str, error: DomainError,
             values: dict[str, Any]) -> Response:
    session.refresh(aux)
    field = FIELD_OF.get(error.code, "_")
    return person_page(session, posted.caller, aux, status=error.status, errors={form: {field: refusal(error)}},
                       values={form: values})


@router.post("/staff/{aux_id}/trainings")
def add_training(session: SessionDep, posted: PostedDep, aux_id: str) -> Response:
    values = {"kind": posted.text("kind"), "hours": posted.text("hours"), "completed_on": posted.text("completed_on"),
              "passed": posted.text("passed")}
    body = {**values, "hours": values["hours"] or None, "completed_on": values["completed_on"] or None,
            "passed": bool(values["passed"])}

    def act(aux: Auxiliary, t: TrainingCreate) -> object:
        return record_training(session, aux, actor=posted.caller.user, kind=t.kind, hours=t.hours,
                               completed_on=t.completed_on, passed=t.passed)

    return _act(session, posted, aux_id, "training", TrainingCreate, body, act, values)


@router.post("/staff/{aux_id}/credential")
def issue(ctx: ContextDep, session: SessionDep, posted: PostedDep, aux_id: str) -> Response:
    aux = managed_auxiliary(session, parse_id(aux_id), user=posted.caller.user)
    _, error = attempt(session, lambda: issue_credential(session, aux, actor=posted.caller.user, signer=ctx.keyring))
    if error is not None:
        return _refused(session, posted, aux, "credential", error, {})
    return see_other(f"/desk/staff/{aux.id}?done=credential#print")


def _status_change(session: Session, posted: Posted, aux_id: str, form: str,
                   move: Callable[..., Auxiliary]) -> Response:
    values = {"reason": posted.text("reason")}
    return _act(session, posted, aux_id, form, StatusChange, values,
                lambda aux, s: move(session, aux, actor=posted.caller.user, reason=s.reason), values)


@router.post("/staff/{aux_id}/suspend")
def suspend(session: SessionDep, posted: PostedDep, aux_id: str) -> Response:
    return _status_change(session, posted, aux_id, "suspend", suspend_auxiliary)


@router.post("/staff/{aux_id}/reinstate")
def reinstate(session: SessionDep, posted: PostedDep, aux_id: str) -> Response:
    return _status_change(session, posted, aux_id, "reinstate", reinstate_auxiliary)


@router.post("/staff/{aux_id}/departure")
def departure(session: SessionDep, posted: PostedDep, aux_id: str) -> Response:
    values: dict[str, Any] = {"left_on": posted.text("left_on"), "reason": posted.text("reason"),
                              "items_recovered": posted.texts("items_recovered")}
    body = {**values, "left_on": values["left_on"] or None}

    def act(aux: Auxiliary, d: DepartureCreate) -> object:
        return record_departure(session, aux, actor=posted.caller.user, left_on=d.left_on, reason=d.reason,
                                items_recovered=d.items_recovered)

    return _act(session, posted, aux_id, "departure", DepartureCreate, body, act, values)


@router.post("/staff/{aux_id}/secondment")
def secondment(session: SessionDep, posted: PostedDep, aux_id: str) -> Response:
    values = {"command_agency_id": posted.text("command_agency_id")}

    def act(aux: Auxiliary, s: SecondmentRequest) -> object:
        return second_auxiliary(session, aux, actor=posted.caller.user, command_agency_id=s.command_agency_id)

    return _act(session, posted, aux_id, "secondment", SecondmentRequest,
                {"command_agency_id": values["command_agency_id"] or None}, act, values)
