"""What an auxiliary's phone keeps to record field work offline: their duties (第七条、第八条), what nobody may
make them do (第十九条), their zones and open shift, and the officers who may direct them (第八条)."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.domain.duties import FORBIDDEN_WORK, Duty, DutyCode, ForbiddenFlagName, Requirement
from api.domain.fieldwork.duty_sheet import DutySheet

FORBIDDEN_ARTICLE = "第十九条"
CredentialStatusName = Literal["valid", "suspended", "revoked", "superseded", "expired"]


class DutyItem(BaseModel):
    code: DutyCode
    name: str = Field(examples=["巡查责任区，及时发现、劝阻违法行为并上报"])
    article: str = Field(examples=["第七条"])
    item: str = Field(examples=["（二）"])
    requires: Requirement | None = Field(
        None, description="the field a record of this duty must carry: `assignment_ref` for `assigned` "
                          "(else 422 `assignment_required`), `legal_basis` for `statutory_other` (else 422 "
                          "`legal_basis_required`)")

    @classmethod
    def of(cls, duty: Duty) -> "DutyItem":
        return cls(code=duty.code, name=duty.name_zh, article=duty.article, item=duty.item, requires=duty.requires)


class ForbiddenItem(BaseModel):
    """Work that 第十九条 forbids: the flag of a task (`flags`) that reports having been asked to do it."""

    flag: ForbiddenFlagName
    name: str = Field(examples=["以行政执法人员名义从事执法活动"])
    article: str = Field(examples=["第十九条（三）"], description="the article and its item")
    item: str = Field(examples=["（三）"])


class AgencyName(BaseModel):
    id: uuid.UUID
    name: str


class OpenShift(BaseModel):
    check_in_id: uuid.UUID
    at: datetime


AGENCY = {"id": "8c1d7f5e-0000-4000-8000-000000000002", "name": "玄武区城市管理局"}
DUTY_SHEET_EXAMPLE: dict[str, Any] = {
    "auxiliary_id": "6d1e0f2a-3b4c-4d5e-8f60-7a8b9c0d1e2f", "badge_no": "NJ8F3A", "name": "李协管",
    "status": "active", "credential_status": "valid", "may_record": True,
    "agency": AGENCY, "command_agency": {"id": "8c1d7f5e-0000-4000-8000-000000000003", "name": "新街口街道办事处"},
    "independent": [
        {"code": "patrol", "name": "巡查责任区，及时发现、劝阻违法行为并上报", "article": "第七条", "item": "（二）",
         "requires": None},
        {"code": "assigned", "name": "行政执法机关交办的不影响实质性权利义务的其他辅助工作", "article": "第七条",
         "item": "（六）", "requires": "assignment_ref"}],
    "assisted": [
        {"code": "inspection", "name": "协助开展行政检查、现场核查、调查取证", "article": "第八条", "item": "（二）",
         "requires": None},
        {"code": "statutory_other", "name": "法律、法规、规章规定的其他辅助执法工作", "article": "第八条",
         "item": "（六）", "requires": "legal_basis"}],
    "forbidden": [{"flag": "in_officer_name", "name": "以行政执法人员名义从事执法活动", "article": "第十九条（三）",
                   "item": "（三）"}],
    "zones": {"type": "MultiPolygon", "coordinates": [[[[118.775, 32.035], [118.787, 32.035], [118.787, 32.045],
                                                        [118.775, 32.035]]]]},
    "open_shift": {"check_in_id": "7e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b", "at": "2026-11-26T00:58:00Z"},
}


class DutySheetRead(BaseModel):
    """Everything the phone needs to record field work with no network: kept, and fetched again when online."""

    model_config = ConfigDict(json_schema_extra={"example": DUTY_SHEET_EXAMPLE})
    auxiliary_id: uuid.UUID
    badge_no: str
    name: str
    status: str = Field(description="the auxiliary's status: `active`, `suspended`, `pending_training`, ...")
    credential_status: CredentialStatusName | None = Field(
        description="the newest credential's status, `expired` when the latest term of employment has ended "
                    "(the badge says so too); null when none was ever issued")
    may_record: bool = Field(description="whether field work may be recorded now (第二十三条): false answers "
                                         "403 `credential_not_active`")
    agency: AgencyName = Field(description="the employing agency")
    command_agency: AgencyName = Field(description="the agency that commands the auxiliary: where they are seconded "
                                                  "(第二十二条), else the employer; its officers direct them")
    independent: list[DutyItem] = Field(description="the duties of 第七条 granted to this auxiliary: alone")
    assisted: list[DutyItem] = Field(description="every duty of 第八条: only with a named officer (`officer_id`)")
    forbidden: list[ForbiddenItem] = Field(
        description="what 第十九条 forbids anyone to make them do; a task with one of these flags is refused and kept "
                    "as an Article 19 case against whoever asked")
    zones: dict[str, Any] | None = Field(description="their responsibility zones, a GeoJSON MultiPolygon; null: none")
    open_shift: OpenShift | None = Field(description="the check-in of the shift open now, if one is")

    @classmethod
    def of(cls, sheet: DutySheet) -> "DutySheetRead":
        aux = sheet.aux
        return cls(
            auxiliary_id=aux.id, badge_no=aux.badge_no, name=aux.name, status=aux.status,
            credential_status=sheet.credential_status,
            may_record=sheet.may_record,
            agency=AgencyName(id=sheet.agency.id, name=sheet.agency.name),
            command_agency=AgencyName(id=sheet.command_agency.id, name=sheet.command_agency.name),
            independent=[DutyItem.of(d) for d in sheet.independent],
            assisted=[DutyItem.of(d) for d in sheet.assisted],
            forbidden=[ForbiddenItem(flag=f.flag, name=f.name_zh, article=FORBIDDEN_ARTICLE + f.item, item=f.item)
                       for f in FORBIDDEN_WORK],
            zones=aux.zones or None,
            open_shift=OpenShift(check_in_id=sheet.open_shift.id, at=sheet.open_shift.at)
            if sheet.open_shift else None,
        )


class OfficerItem(BaseModel):
    officer_id: uuid.UUID = Field(description="what POST /api/tasks takes as `officer_id`")
    name: str
    cert_no: str | None = Field(description="the officer's enforcement certificate number")
    agency_id: uuid.UUID


class OfficerPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"items": [
        {"officer_id": "5a7c2e90-1b3d-4f6a-8c2e-0d9f1a3b5c71", "name": "王警官", "cert_no": "JS3201020001",
         "agency_id": "8c1d7f5e-0000-4000-8000-000000000003"}], "next_cursor": None}})
    items: list[OfficerItem]
    next_cursor: str | None = Field(None, description="always null: the whole list comes at once")
