"""Agencies (行政执法机关) and the accounts of their staff."""

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import StorableText


class AgencyCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"name": "玄武区城市管理局", "code": "XW-CG", "level": "district",
                        "parent_id": "8c1d7f5e-0000-4000-8000-000000000001", "headcount_quota": 120}
        }
    )
    name: Annotated[str, Field(min_length=1, max_length=200), StorableText]
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    level: Literal["municipal", "district", "street"]
    parent_id: uuid.UUID | None = None
    headcount_quota: int = Field(ge=0, le=100000, description="approved headcount (员额), 第十二条")


class AgencyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"example": {
        "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "name": "玄武区城市管理局", "code": "XW-CGJ",
        "level": "district", "parent_id": "8c1d7f5e-0000-4000-8000-000000000001", "headcount_quota": 120,
        "headcount_used": 87}})
    id: uuid.UUID
    name: str
    code: str
    level: str
    parent_id: uuid.UUID | None
    headcount_quota: int
    headcount_used: int


class UserCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"username": "officer.wang", "password": "a long passphrase", "role": "officer",
                        "agency_id": "8c1d7f5e-0000-4000-8000-000000000002", "name": "王建国",
                        "officer_cert_no": "JS3201000123"}
        }
    )
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=200)
    role: Literal["agency_admin", "officer"]
    agency_id: uuid.UUID
    name: Annotated[str, Field(min_length=1, max_length=100), StorableText]
    officer_cert_no: Annotated[str, Field(max_length=64), StorableText] | None = None


class UserRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "id": "0f8fad5b-d9cb-469f-a165-70867728950e", "username": "officer.wang", "role": "officer",
        "agency_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "name": "王建国",
        "officer_id": "9a1c2d3e-4f50-4617-8829-3a4b5c6d7e8f"}})
    id: uuid.UUID
    username: str
    role: str
    agency_id: uuid.UUID | None
    name: str
    officer_id: uuid.UUID | None = None


class AccountRead(BaseModel):
    """An account after it was switched off or on."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "id": "0f8fad5b-d9cb-469f-a165-70867728950e", "username": "officer.wang", "role": "officer",
        "agency_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "name": "王建国", "active": False,
        "officer_id": "9a1c2d3e-4f50-4617-8829-3a4b5c6d7e8f", "pending_cosign": 2}})
    id: uuid.UUID
    username: str
    role: str
    agency_id: uuid.UUID | None
    name: str
    active: bool
    officer_id: uuid.UUID | None = None
    pending_cosign: int | None = Field(
        None, description="an officer's records still waiting for their co-signature: list them with GET "
                          "/api/users/{id}/pending-tasks and name another officer with POST /api/tasks/{id}/reassign "
                          "(null: not an officer)")
