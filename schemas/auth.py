"""Login, token refresh and the caller's own record."""

import uuid

from pydantic import BaseModel, Field


class TokenPair(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")
    refresh_token: str


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class MeRead(BaseModel):
    id: uuid.UUID
    username: str
    role: str
    agency_id: uuid.UUID | None
    name: str
    auxiliary_id: uuid.UUID | None = None
    officer_id: uuid.UUID | None = None
