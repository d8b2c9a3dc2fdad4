"""Login, token refresh and the caller's own record."""

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import StorableText

Password = Annotated[str, Field(min_length=1, max_length=200), StorableText]


class TokenPair(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
        "token_type": "bearer", "expires_in": 900, "refresh_token": "2n0YV1m3kq0u8bq4H4m7xw6cJ0f2a9ZrQy5sT1uV3wE"}})
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")
    refresh_token: str


class RefreshRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "refresh_token": "2n0YV1m3kq0u8bq4H4m7xw6cJ0f2a9ZrQy5sT1uV3wE"}})
    refresh_token: str = Field(min_length=1, max_length=200)


class LogoutRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "refresh_token": "2n0YV1m3kq0u8bq4H4m7xw6cJ0f2a9ZrQy5sT1uV3wE"}})
    refresh_token: str = Field(min_length=1, max_length=200, description="any refresh token of the login to end")


class PasswordChange(BaseModel):
    """The caller's own password, changed; the new one is judged by the rules of
    ``api/domain/organisation/passwords.py`` (422 `weak_password` names each one it breaks in `reasons`)."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "old_password": "correct horse battery", "new_password": "紫金山下 玄武湖边 2026"}})
    old_password: Password
    new_password: Password


class MeRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "id": "0f8fad5b-d9cb-469f-a165-70867728950e", "username": "aux.zhang", "role": "auxiliary",
        "agency_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "name": "张伟",
        "auxiliary_id": "16fd2706-8baf-433b-82eb-8c7fada847da", "officer_id": None}})
    id: uuid.UUID
    username: str
    role: str
    agency_id: uuid.UUID | None
    name: str
    auxiliary_id: uuid.UUID | None = None
    officer_id: uuid.UUID | None = None
