"""Web Push subscriptions, as a browser's ``PushSubscription.toJSON()`` gives them (RFC 8030, RFC 8291), and the
key a browser subscribes with (RFC 8292)."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import StorableText

# A real P-256 point and auth secret, so that the example is a subscription the service accepts.
EXAMPLE_ENDPOINT = "https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"
EXAMPLE_KEYS: dict[str, Any] = {
    "p256dh": "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U",
    "auth": "tBHItJI5svbpez7KI4CCXg",
}
Endpoint = Annotated[str, Field(min_length=1, max_length=2048, examples=[EXAMPLE_ENDPOINT]), StorableText]
Key = Annotated[str, Field(min_length=1, max_length=200), StorableText]
# JavaScript's milliseconds since 1970, up to the last instant of the year 9999.
Milliseconds = Annotated[float, Field(ge=0, le=253_402_300_799_000, allow_inf_nan=False)]


class PushKeyRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {
        "public_key": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"}})
    public_key: str = Field(description="the VAPID public key, an uncompressed P-256 point (65 bytes) in unpadded "
                                        "base64url: `applicationServerKey` of `PushManager.subscribe()`")


class PushKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")
    p256dh: Key = Field(description="the browser's P-256 public key (65 bytes), base64url")
    auth: Key = Field(description="the browser's auth secret (16 bytes), base64url")


class PushSubscriptionCreate(BaseModel):
    """Exactly what `PushSubscription.toJSON()` gives; members a browser may add besides are ignored."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"example": {
        "endpoint": EXAMPLE_ENDPOINT, "expirationTime": None, "keys": EXAMPLE_KEYS}})
    endpoint: Endpoint
    expirationTime: Milliseconds | None = Field(  # the browser's own name
        None, description="when the push service drops the subscription, in milliseconds since 1970; null: never")
    keys: PushKeys

    def expires_at(self) -> datetime | None:
        return None if self.expirationTime is None else datetime.fromtimestamp(self.expirationTime / 1000, UTC)


class PushSubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"example": {
        "id": "2b7e1516-28ae-4d2a-a6f7-15880973cf4f", "endpoint": EXAMPLE_ENDPOINT,
        "created_at": "2026-11-26T01:00:00Z", "updated_at": "2026-11-26T01:00:00Z", "expires_at": None}})
    id: uuid.UUID
    endpoint: str
    created_at: datetime
    updated_at: datetime = Field(description="when the browser last registered it")
    expires_at: datetime | None


class PushSubscriptionDelete(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"example": {"endpoint": EXAMPLE_ENDPOINT}})
    endpoint: Endpoint
