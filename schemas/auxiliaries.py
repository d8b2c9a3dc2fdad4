"""Auxiliaries (行政执法辅助人员): hiring, training, credentials, status changes and secondment."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.domain.duties import DutyCode
from api.domain.staff.credentials import TrainingKind
from api.domain.staff.eligibility import Education, HireMethod
from api.domain.staff.status import RecoverableItem
from schemas.common import StorableText

AuxiliaryStatusName = Literal["pending_training", "active", "suspended", "departed", "dismissed"]
CredentialStatusName = Literal["valid", "suspended", "revoked", "superseded"]

_AGENCY = "8c1d7f5e-0000-4000-8000-000000000002"
_STREET = "8c1d7f5e-0000-4000-8000-000000000003"
_ZONE: dict[str, Any] = {
    "type": "MultiPolygon",
    "coordinates": [[[[118.775, 32.035], [118.787, 32.035], [118.787, 32.045], [118.775, 32.045],
                      [118.775, 32.035]]]],
}
_COMPACT = ("AEQ53LBCKQWAFQF77JBULJD2ZGZVBWJH24AADMW6DQGP6GPMOAFM5VHCO47QSLX4G2VAKQFYDVXZ7CZYJ"
            "KXMFHINGIKKSGBCSWOREDPRFWM4366CA7HU6WK7WUIGOOWF3BRFZCU6WECA")
_TOKEN = "eyJhbGciOiJFZERTQSIsImtpZCI6IjI2MDNhMWIyYzMiLCJ0eXAiOiJiYWRnZSJ9.eyJzdWIiOiIxZTJkIn0.c2ln"
MAX_ZONE_POSITIONS = 20_000

Coordinate = Annotated[float, Field(allow_inf_nan=False)]
Position = Annotated[list[Coordinate], Field(min_length=2, max_length=3, description="[lon, lat] (WGS 84)")]
Ring = Annotated[list[Position], Field(min_length=4, max_length=MAX_ZONE_POSITIONS)]
Polygon = Annotated[list[Ring], Field(min_length=1, max_length=50)]


class MultiPolygon(BaseModel):
    """A GeoJSON MultiPolygon (RFC 7946): the auxiliary's responsibility zones (责任区), lon/lat order."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": _ZONE})
    type: Literal["MultiPolygon"]
    coordinates: Annotated[list[Polygon], Field(min_length=1, max_length=100)]

    @model_validator(mode="after")
    def _rings_closed_and_in_range(self) -> "MultiPolygon":
        total = 0
        for p, polygon in enumerate(self.coordinates):
            for r, ring in enumerate(polygon):
                total += len(ring)
                where = f"polygon {p}, ring {r}"
                for lon, lat, *_ in ring:
                    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                        raise ValueError(f"{where}: position ({lon}, {lat}) is not a [lon, lat] on Earth")
                if ring[0][:2] != ring[-1][:2]:
                    raise ValueError(f"{where}: a ring must end where it starts")
                if len({(x[0], x[1]) for x in ring}) < 3:
                    raise ValueError(f"{where}: a ring needs at least three distinct positions")
        if total > MAX_ZONE_POSITIONS:
            raise ValueError(f"zones have {total} positions; at most {MAX_ZONE_POSITIONS}")
        return self


class BackgroundRecord(BaseModel):
    """第十四条: any of these bars hiring. Unknown keys are refused: a misspelt flag is not a false one."""

    model_config = ConfigDict(extra="forbid")
    criminal_record: bool = Field(default=False, description="曾被追究刑事责任 (第十四条(一))")
    pending_criminal_case: bool = Field(default=False, description="涉嫌犯罪尚未结案 (第十四条(一))")
    dismissed_for_violation: bool = Field(default=False, description="因违法违纪被开除、辞退 (第十四条(二))")
    serious_dishonesty: bool = Field(default=False, description="严重个人失信行为记录 (第十四条(三))")


class Preferences(BaseModel):
    """Preferential conditions (优先聘用): recorded, never enforced."""

    model_config = ConfigDict(extra="forbid")
    martyr_family: bool = Field(default=False, description="烈士子女或配偶")
    veteran: bool = Field(default=False, description="退役军人")
    heroic_deed: bool = Field(default=False, description="见义勇为")


class AuxiliaryCreate(BaseModel):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={
            "example": {
                "name": "张三", "username": "zhang.san", "password": "a long passphrase",
                "birth_date": "1998-04-12", "id_number": "320102199804121232", "education": "vocational",
                "hire_method": "dispatch",
                "dispatch_company": "南京某人力资源有限公司", "agency_id": _AGENCY, "hired_on": "2026-03-01",
                "categories": ["patrol", "publicity"], "zones": _ZONE,
                "record": {"criminal_record": False, "pending_criminal_case": False,
                           "dismissed_for_violation": False, "serious_dishonesty": False},
                "preferences": {"martyr_family": False, "veteran": True, "heroic_deed": False},
            }
        },
    )
    name: Annotated[str, Field(min_length=1, max_length=100), StorableText]
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=200)
    birth_date: date
    id_number: str = Field(
        max_length=64,
        description="居民身份证号码 (GB 11643-1999): 17 digits and a check character 0-9 or X (x accepted), whose "
                    "birth date is `birth_date`; else 422 `invalid_id_number`. Kept only as a keyed hash, to match "
                    "the person across agencies (第十四条: 409 `already_employed`, 422 `ineligible`), and masked "
                    "for display; never answered whole")
    education: Education
    hire_method: HireMethod = Field(description="第十五条: 直接聘用 or 劳务派遣")
    dispatch_company: Annotated[str, Field(max_length=200), StorableText] | None = None
    agency_id: uuid.UUID
    hired_on: date
    categories: list[DutyCode] = Field(default_factory=list, max_length=12,
                                       description="independent duties granted (第七条)")
    zones: MultiPolygon | None = None
    record: BackgroundRecord
    preferences: Preferences = Field(default_factory=Preferences)

    @field_validator("dispatch_company")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


class TrainingCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"kind": "pre_job", "hours": 40, "completed_on": "2026-03-20", "passed": True}
        }
    )
    kind: TrainingKind
    hours: float = Field(gt=0, le=2000, allow_inf_nan=False)
    completed_on: date
    passed: bool


class TrainingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"example": {
        "id": "3b241101-e2bb-4255-8caf-4136c566a962", "kind": "pre_job", "hours": 40, "completed_on": "2026-03-15",
        "passed": True}})
    id: uuid.UUID
    kind: str
    hours: float
    completed_on: date
    passed: bool
    created_at: datetime


class TrainingSummary(BaseModel):
    pre_job_passed: bool = Field(description="a passed pre-job training exists (第二十三条)")
    total_hours: float
    items: list[TrainingRead]


class CredentialSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    credential_no: str
    status: CredentialStatusName
    version: int
    kid: str
    status_changed_at: datetime
    created_at: datetime


class AuxiliaryRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "0b9e1a52-7a4c-4d7e-9a0e-3f1d2c4b5a69",
                "user_id": "5f0c2d1e-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
                "name": "张三", "badge_no": "NJ7K3M9Q2T", "status": "active", "status_reason": None,
                "agency_id": _AGENCY, "command_agency_id": _STREET, "categories": ["patrol", "publicity"],
                "zones": _ZONE, "birth_date": "1998-04-12", "id_number_masked": "320102********1232",
                "education": "vocational",
                "hire_method": "dispatch",
                "dispatch_company": "南京某人力资源有限公司", "hired_on": "2026-03-01",
                "record": {"criminal_record": False, "pending_criminal_case": False,
                           "dismissed_for_violation": False, "serious_dishonesty": False},
                "preferences": {"martyr_family": False, "veteran": True, "heroic_deed": False},
                "left_on": None, "items_recovered": None, "has_photo": True,
                "trainings": {"pre_job_passed": True, "total_hours": 40.0, "items": [
                    {"id": "9d3c2b1a-0f1e-4d2c-8b3a-1c2d3e4f5a6b", "kind": "pre_job", "hours": 40.0,
                     "completed_on": "2026-03-20", "passed": True, "created_at": "2026-03-20T09:00:00Z"}]},
                "credential": {"id": "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b",
                               "credential_no": "NJFZ-2026-000123", "status": "valid", "version": 1,
                               "kid": "2603a1b2c3", "status_changed_at": "2026-03-21T02:00:00Z",
                               "created_at": "2026-03-21T02:00:00Z"},
                "created_at": "2026-03-01T01:00:00Z",
            }
        }
    )
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    badge_no: str
    status: AuxiliaryStatusName
    status_reason: str | None
    agency_id: uuid.UUID
    command_agency_id: uuid.UUID | None = Field(description="the street/town commanding them (第二十二条)")
    categories: list[str]
    zones: dict[str, Any] | None
    birth_date: date
    id_number_masked: str | None = Field(
        description="the 居民身份证号码 masked: first six and last four characters; null if hired without one")
    education: str
    hire_method: str
    dispatch_company: str | None
    hired_on: date
    record: dict[str, bool]
    preferences: dict[str, bool]
    left_on: date | None
    items_recovered: list[str] | None
    has_photo: bool
    trainings: TrainingSummary
    credential: CredentialSummary | None = Field(description="the newest credential: the badge that counts")
    created_at: datetime


class IdNumberRecord(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"id_number": "320102199804121232"}})
    id_number: str = Field(
        max_length=64,
        description="居民身份证号码 (GB 11643-1999) of someone hired before it was asked, checked as on hire "
                    "against their `birth_date` (422 `invalid_id_number`); stated once, never changed")


class IdNumberRecorded(AuxiliaryRead):
    dismissed_elsewhere: bool = Field(
        description="an agency dismissed this person for violations (第十四条(二)): for the employer to act on")


class CredentialIssued(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b",
                "auxiliary_id": "0b9e1a52-7a4c-4d7e-9a0e-3f1d2c4b5a69",
                "credential_no": "NJFZ-2026-000123",
                "token": _TOKEN,
                "verify_url": f"https://verify.example.gov.cn/v/{_TOKEN}",
                "compact_url": f"HTTPS://VERIFY.EXAMPLE.GOV.CN/B/{_COMPACT}",
                "status": "valid", "version": 1, "kid": "2603a1b2c3", "issued_at": "2026-03-21T02:00:00Z",
            }
        }
    )
    id: uuid.UUID
    auxiliary_id: uuid.UUID
    credential_no: str
    token: str = Field(description="compact JWS (EdDSA); its header `kid` names a key in the JWKS")
    verify_url: str = Field(description="the badge's QR text in the JWS form (`{base}/v/{token}`)")
    compact_url: str = Field(description="the badge's QR text in the compact form (`{BASE}/B/{base32}`, "
                                         "docs/compact-qr.md): what the printed card carries by default")
    status: CredentialStatusName
    version: int
    kid: str
    issued_at: datetime


class StatusChange(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True,
                              json_schema_extra={"example": {"reason": "投诉调查期间暂停上岗"}})
    reason: Annotated[str, Field(min_length=1, max_length=2000), StorableText]


class DepartureCreate(BaseModel):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={"example": {"left_on": "2026-10-31", "reason": "合同期满不再续聘",
                                       "items_recovered": ["credential", "badge", "armband", "uniform"]}},
    )
    left_on: date
    reason: Annotated[str, Field(min_length=1, max_length=2000), StorableText]
    items_recovered: list[RecoverableItem] = Field(default_factory=list, max_length=4,
                                                   description="what was taken back (第二十七条)")


class SecondmentRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"command_agency_id": _STREET},
                                                              {"command_agency_id": None}]})
    command_agency_id: uuid.UUID | None = Field(
        description="a street/town below the employing agency (第二十二条); null ends the secondment"
    )

