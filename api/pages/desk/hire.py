"""Hiring from the desk: the API's own schema (``AuxiliaryCreate``) and domain function (``hire_auxiliary``), and
every refusal beside the field it concerns: each failed rule of 第十三条 and 第十四条 (422 ``ineligible``) at its
field, the full headcount (第十二条) above the form, what was typed kept (the password excepted)."""

import json
from typing import Any

from fastapi import APIRouter, Response
from pydantic import ValidationError

from api.deps import ContextDep, SessionDep
from api.domain.access import managed_agencies, not_your_agency
from api.domain.base import BEIJING, utcnow
from api.domain.errors import DomainError
from api.domain.staff.eligibility import ELIGIBILITY, Application
from api.domain.staff.hiring import hire_auxiliary
from api.pages.desk.web import (
    Caller,
    CallerDep,
    DeskRoute,
    PostedDep,
    attempt,
    field_errors,
    refusal,
    render,
    see_other,
)
from schemas.auxiliaries import AuxiliaryCreate

router = APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)

# Each rule of 第十三条/第十四条 by the field it is about (the record's statements have a checkbox each).
RULE_FIELD = {
    "under_18": "birth_date",
    "education_below_high_school": "education",
    "criminal_record": "record.criminal_record",
    "pending_criminal_case": "record.pending_criminal_case",
    "dismissed_for_violation": "record.dismissed_for_violation",
    "serious_dishonesty": "record.serious_dishonesty",
    "dismissed_on_record": "id_number",
}
RULES = {r.code: r for r in ELIGIBILITY}
# Other refusals by field; the rest (headcount_quota_full, not_your_agency, ...) go above the form.
CODE_FIELD = {
    "invalid_id_number": "id_number",
    "already_employed": "id_number",
    "dispatch_company_required": "dispatch_company",
    "dispatch_company_not_allowed": "dispatch_company",
    "not_an_independent_duty": "categories",
    "unknown_duty": "categories",
    "username_taken": "username",
}
LABELS = {
    "name": ("f-name", "姓名"), "username": ("f-username", "登录用户名"), "password": ("f-password", "初始密码"),
    "birth_date": ("f-birth_date", "出生日期"), "id_number": ("f-id_number", "居民身份证号码"),
    "education": ("f-education", "学历"), "hire_method": ("f-hire_method-direct", "聘用方式"),
    "dispatch_company": ("f-dispatch_company", "劳务派遣单位"), "hired_on": ("f-hired_on", "聘用日期"),
    "categories": ("f-categories-publicity", "可独立从事的工作"), "zones": ("f-zones", "责任区"),
    **{f"record.{c}": (f"f-record-{c}", "第十四条情形") for c in ("criminal_record", "pending_criminal_case",
                                                              "dismissed_for_violation", "serious_dishonesty")},
}
RECORD_KEYS = ("criminal_record", "pending_criminal_case", "dismissed_for_violation", "serious_dishonesty")
PREFERENCE_KEYS = ("martyr_family", "veteran", "heroic_deed")


def _page(caller: Caller, *, status: int = 200, values: dict[str, Any] | None = None,
          errors: dict[str, str] | None = None) -> Response:
    today = utcnow().astimezone(BEIJING).date().isoformat()
    return render("hire.html", caller=caller, status=status, title="聘用辅助人员", section="hire",
                  values=values or {"hired_on": today, "hire_method": "direct", "categories": []},
                  errors=errors or {}, labels=LABELS)


def _require_hiring(caller: Caller) -> None:
    # The justice bureau oversees and manages no staff (第五条); the API refuses it the same way.
    if caller.user.agency_id is None or not managed_agencies(caller.user).covers(caller.user.agency_id):
        raise not_your_agency()


@router.get("/hire")
def hire_form(caller: CallerDep) -> Response:
    _require_hiring(caller)
    return _page(caller)


def _refusal_fields(exc: DomainError) -> dict[str, str]:
    if exc.code == "ineligible":
        found: dict[str, str] = {}
        reasons = exc.extra.get("reasons", [])
        for reason in reasons if isinstance(reasons, list) else []:
            rule = RULES.get(str(reason.get("code")))
            if rule is not None:
                found[RULE_FIELD.get(rule.code, "_")] = f"{rule.article}{rule.item}：{rule.detail_zh}"
        return found or {"_": refusal(exc)}
    return {CODE_FIELD.get(exc.code, "_"): refusal(exc)}


@router.post("/hire")
def hire(ctx: ContextDep, session: SessionDep, posted: PostedDep) -> Response:
    caller = posted.caller
    _require_hiring(caller)
    values: dict[str, Any] = {k: posted.text(k) for k in (
        "name", "username", "birth_date", "id_number", "education", "hire_method", "dispatch_company", "hired_on",
        "zones")}
    values["categories"] = posted.texts("categories")
    values["record"] = [k for k in posted.texts("record") if k in RECORD_KEYS]
    values["preferences"] = [k for k in posted.texts("preferences") if k in PREFERENCE_KEYS]
    errors: dict[str, str] = {}
    zones: Any = None
    if values["zones"]:
        try:
            zones = json.loads(values["zones"])
        except ValueError:
            errors["zones"] = "不是有效的 GeoJSON，请粘贴 MultiPolygon 的 JSON 文本"
    body = {
        **{k: values[k] or None for k in ("name", "username", "birth_date", "id_number", "education",
                                          "hire_method", "dispatch_company", "hired_on")},
        "password": posted.form.get("password") or None, "agency_id": str(caller.user.agency_id),
        "categories": values["categories"], "zones": zones,
        "record": {k: k in values["record"] for k in RECORD_KEYS},
        "preferences": {k: k in values["preferences"] for k in PREFERENCE_KEYS},
    }
    try:
        checked = AuxiliaryCreate.model_validate(body)
    except ValidationError as exc:
        return _page(caller, status=422, values=values, errors={**field_errors(exc, dotted=LABELS), **errors})
    if errors:
        return _page(caller, status=422, values=values, errors=errors)
    application = Application(
        name=checked.name, birth_date=checked.birth_date, education=checked.education,
        hire_method=checked.hire_method, dispatch_company=checked.dispatch_company, agency_id=checked.agency_id,
        hired_on=checked.hired_on, categories=list(checked.categories),
        zones=checked.zones.model_dump() if checked.zones else None, record=checked.record.model_dump(),
        id_number=checked.id_number, preferences=checked.preferences.model_dump(),
    )
    aux, error = attempt(session, lambda: hire_auxiliary(
        session, actor=caller.user, application=application, username=checked.username, password=checked.password,
        cost=ctx.hash_cost, id_key=ctx.id_key))
    if error is not None or aux is None:
        assert error is not None
        return _page(caller, status=error.status, values=values, errors=_refusal_fields(error))
    return see_other(f"/desk/staff/{aux.id}?done=hired")
