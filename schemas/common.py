"""Shapes every resource shares: pages of a list, text the database can store, instants it can store."""

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def _storable(value: str) -> str:
    # PostgreSQL text refuses NUL, and a lone surrogate cannot be encoded: both would fail at the database.
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


def _in_utc_range(value: datetime) -> datetime:
    # Instants are stored in UTC; 0001-01-01T00:00+14:00 or 9999-12-31T23:59-14:00 have no UTC year to go to.
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the instant lies outside the years 1 to 9999 in UTC") from None
    return value


StorableText = AfterValidator(_storable)
Instant = Annotated[AwareDatetime, AfterValidator(_in_utc_range)]


# A flag stored as NULL on rows older than the flag reads as false (API.md: optional booleans default to false).
StoredFlag = Annotated[bool, BeforeValidator(lambda value: bool(value))]
RECORDED_BEFORE_SUSPENSION = (
    "done while the credential was valid, received after it was suspended or revoked (第二十三条): kept, and "
    "flagged for the agency"
)
