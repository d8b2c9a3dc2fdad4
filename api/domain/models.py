"""Every table auxduty keeps. Rules that need one row are methods here; rules that query live beside them."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.domain import (  # noqa: F401 (privacy_tables: its table in the metadata)
    complaint_tables,
    log_tables,
    oversight_tables,
    privacy_tables,
    push_tables,
    standing_tables,
)
from api.domain.base import RULES_VERSION, Base, CreatedMixin, IdMixin, utcnow

# The log's tables and those of a person's standing are models too (kept in their own modules for length):
# re-exported here.

LogPending = log_tables.LogPending
LogLeaf = log_tables.LogLeaf
LogNode = log_tables.LogNode
LogRejected = log_tables.LogRejected
LogLegacy = log_tables.LogLegacy
LogCheckpoint = log_tables.LogCheckpoint
SigningKey = log_tables.SigningKey
Assessment = standing_tables.Assessment
Contract = standing_tables.Contract
Commendation = standing_tables.Commendation
Sanction = standing_tables.Sanction
# So are the rectification orders of the justice bureau (第二十九条).
RectificationStatus = oversight_tables.RectificationStatus
RectificationOrder = oversight_tables.RectificationOrder
RectificationEvent = oversight_tables.RectificationEvent
# And a citizen's complaints (第二十四条) with their steps, notices and photos.
ComplaintStatus = complaint_tables.ComplaintStatus
Complaint = complaint_tables.Complaint
OPEN_COMPLAINT_STATUSES = complaint_tables.OPEN_COMPLAINT_STATUSES
ComplaintEvent = complaint_tables.ComplaintEvent
CaseNotice = complaint_tables.CaseNotice
ComplaintPhoto = complaint_tables.ComplaintPhoto
# And where the browsers of users want Web Push messages delivered.
PushSubscription = push_tables.PushSubscription


class AgencyLevel(StrEnum):
    MUNICIPAL = "municipal"
    DISTRICT = "district"
    STREET = "street"


LEVEL_RANK = {AgencyLevel.MUNICIPAL: 0, AgencyLevel.DISTRICT: 1, AgencyLevel.STREET: 2}


class Role(StrEnum):
    AUXILIARY = "auxiliary"
    OFFICER = "officer"
    AGENCY_ADMIN = "agency_admin"
    JUSTICE_ADMIN = "justice_admin"


class AuxiliaryStatus(StrEnum):
    PENDING_TRAINING = "pending_training"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DEPARTED = "departed"
    # Dismissed for breaking 第十条 (第二十八条): a departure that 第十四条 remembers ("曾因违法违纪被辞退").
    DISMISSED = "dismissed"


LEFT_STATUSES = frozenset({AuxiliaryStatus.DEPARTED, AuxiliaryStatus.DISMISSED})
"""No longer employed (第二十七条): either status is final."""
_LEFT_SQL = ", ".join(f"'{s}'" for s in sorted(LEFT_STATUSES))
CURRENTLY_EMPLOYED = text(f"status NOT IN ({_LEFT_SQL})")
"""The rows of the unique index that keeps one current employment per person (staff/identity.py)."""


class CredentialStatus(StrEnum):
    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


class TaskStatus(StrEnum):
    RECORDED = "recorded"
    PENDING_COSIGN = "pending_cosign"
    COSIGNED = "cosigned"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


AWAITING_COSIGNATURE = text(f"status = '{TaskStatus.PENDING_COSIGN.value}'")
"""The rows of ``ix_tasks_pending_cosign``: records waiting for an officer's co-signature (第八条)."""


class Agency(IdMixin, CreatedMixin, Base):
    __tablename__ = "agencies"
    # A running count the quota UPDATE moves on every hire and departure; the audit log hashes the rest.
    __audit_exclude__ = ("headcount_used",)

    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    level: Mapped[AgencyLevel] = mapped_column(String(16))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    headcount_quota: Mapped[int]
    # Places taken by staff who have not departed; moved only by a guarded UPDATE (第十二条).
    headcount_used: Mapped[int] = mapped_column(default=0)


class User(IdMixin, CreatedMixin, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(String(16))
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)


class RefreshToken(IdMixin, CreatedMixin, Base):
    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Officer(IdMixin, CreatedMixin, Base):
    __tablename__ = "officers"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), unique=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    cert_no: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)


class Auxiliary(IdMixin, CreatedMixin, Base):
    __tablename__ = "auxiliaries"
    __table_args__ = (
        # One person is employed by one agency at a time, city-wide: two hires at once cannot both win.
        Index("uq_auxiliaries_current_id_number_hash", "id_number_hash", unique=True,
              postgresql_where=CURRENTLY_EMPLOYED, sqlite_where=CURRENTLY_EMPLOYED),
    )
    # Columns added after rows were logged: hashed only when set, so a row logged before them still verifies.
    __audit_late__ = ("id_number_hash", "id_number_masked")

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), unique=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    # 第二十二条: the street/town that commands a seconded auxiliary; None means the employer commands.
    command_agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    badge_no: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date]
    education: Mapped[str] = mapped_column(String(16))
    hire_method: Mapped[str] = mapped_column(String(16))
    dispatch_company: Mapped[str | None] = mapped_column(String(200))
    hired_on: Mapped[date]
    status: Mapped[AuxiliaryStatus] = mapped_column(String(20), default=AuxiliaryStatus.PENDING_TRAINING)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    zones: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    background: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    preferences: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    status_reason: Mapped[str | None] = mapped_column(Text)
    left_on: Mapped[date | None]
    items_recovered: Mapped[list[str] | None] = mapped_column(JSON)
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    photo_type: Mapped[str | None] = mapped_column(String(32))
    # 居民身份证号码 (第十四条, staff/identity.py): a keyed hash that matches the person across agencies and the
    # masked form that is shown; the number itself is never kept. None for people hired before it was asked.
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    id_number_masked: Mapped[str | None] = mapped_column(String(18))

    @property
    def commanding_agency_id(self) -> uuid.UUID:
        return self.command_agency_id or self.agency_id

    @property
    def has_left(self) -> bool:
        """Departed or dismissed: the employment is over (第二十七条、第二十八条)."""
        return self.status in LEFT_STATUSES


class Training(IdMixin, CreatedMixin, Base):
    __tablename__ = "trainings"

    auxiliary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auxiliaries.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    hours: Mapped[float]
    completed_on: Mapped[date]
    passed: Mapped[bool]
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))


class Credential(IdMixin, CreatedMixin, Base):
    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("auxiliary_id", "version"),)

    auxiliary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auxiliaries.id"), index=True)
    credential_no: Mapped[str] = mapped_column(String(40), unique=True)
    # Each reissue bumps the version; only the newest version of an auxiliary's badge verifies.
    version: Mapped[int]
    kid: Mapped[str] = mapped_column(String(64))
    status: Mapped[CredentialStatus] = mapped_column(String(16), default=CredentialStatus.VALID)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeadBadgeScan(IdMixin, Base):
    """A scan of a suspended, revoked or superseded badge: someone may be impersonating staff.
    Nothing about the citizen who scanned is kept."""

    __tablename__ = "dead_badge_scans"

    credential_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("credentials.id"), index=True)
    auxiliary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auxiliaries.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))  # page | api | image | number
    scanned_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Where the scan came from, only as coarse as a 0.01° cell (~1 km), and only when the citizen's phone
    # said: enough for the agency to know where a dead badge is being shown, not where the citizen was.
    place_lat: Mapped[float | None]
    place_lon: Mapped[float | None]


class ShiftEvent(CreatedMixin, Base):
    """A check-in or check-out. An auxiliary's events alternate in time order (fieldwork/shifts.py): a check-in
    opens their shift, the check-out after it names the check-in it closes."""

    __tablename__ = "shift_events"
    __table_args__ = (
        Index("ix_shift_events_auxiliary_at", "auxiliary_id", "at"),
        # One check-out per check-in, whatever races.
        Index("uq_shift_events_check_in_id", "check_in_id", unique=True),
    )
    __audit_late__ = ("check_in_id", "recorded_before_suspension")

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # made on the phone
    auxiliary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auxiliaries.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # check_in | check_out
    at: Mapped[datetime]
    lat: Mapped[float]
    lon: Mapped[float]
    accuracy_m: Mapped[float | None]
    in_zone: Mapped[bool | None]
    content_hash: Mapped[str] = mapped_column(String(64))
    # On a check-out: the check-in it closes (None on a check-in, and on check-outs older than the rule).
    check_in_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("shift_events.id"))
    # Done while the credential was valid, received after it was suspended or revoked (第二十三条).
    recorded_before_suspension: Mapped[bool | None]


class Task(CreatedMixin, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_officer_status", "officer_id", "status"),
        # An agency's usage of a year and the city's figures of 30 days read this index alone, not the rows.
        Index("ix_tasks_agency_id_started_at", "agency_id", "started_at",
              postgresql_include=["status", "mode", "category"]),
        # What waits for an officer's co-signature, newest first, and each agency's backlog: a small index
        # that stays small, however many records are kept.
        Index("ix_tasks_pending_cosign", "officer_id", "created_at", "id",
              postgresql_include=["command_agency_id"], postgresql_where=AWAITING_COSIGNATURE,
              sqlite_where=AWAITING_COSIGNATURE),
    )
    __audit_late__ = ("recorded_before_suspension",)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # made on the phone
    auxiliary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auxiliaries.id"), index=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))  # ix_tasks_agency_id_started_at
    command_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[TaskStatus] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    lat: Mapped[float]
    lon: Mapped[float]
    in_zone: Mapped[bool | None]
    officer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officers.id"))
    assignment_ref: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(Text)
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tasks.id"), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    rules_version: Mapped[str] = mapped_column(String(40), default=lambda: RULES_VERSION)
    # Done while the credential was valid, received after it was suspended or revoked (第二十三条).
    recorded_before_suspension: Mapped[bool | None]


class Cosignature(IdMixin, CreatedMixin, Base):
    """An officer's decision on an assisted record (第八条), with where the officer was when deciding: how far
    from the task's position and how long after the work. A far or unknown position is flagged for
    oversight (第二十五条), never refused: the decision stands."""

    __tablename__ = "cosignatures"
    __audit_late__ = ("distance_m", "accuracy_m", "seconds_after_task", "far_from_task", "position_missing")

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id"), unique=True)
    officer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officers.id"))
    decision: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    accuracy_m: Mapped[float | None]
    # Metres between the officer and the task's position; None when the officer's phone gave no position.
    distance_m: Mapped[float | None]
    # From the end of the work (its start when it has no end) to the decision.
    seconds_after_task: Mapped[int | None]
    far_from_task: Mapped[bool | None]
    position_missing: Mapped[bool | None]


class TaskReassignment(IdMixin, CreatedMixin, Base):
    """The agency named another officer to co-sign a pending record (the first one deactivated, say): the
    record's ``officer_id`` moves, and this keeps from whom to whom, by whom and why."""

    __tablename__ = "task_reassignments"

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id"), index=True)
    from_officer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officers.id"))
    to_officer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officers.id"))
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)


class Evidence(IdMixin, CreatedMixin, Base):
    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("task_id", "sha256"),)

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str | None] = mapped_column(String(255))
    uploaded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))


class Article19Case(IdMixin, CreatedMixin, Base):
    __tablename__ = "article19_cases"

    # The phone-made id of the refused task, so a retried attempt is one case, not two.
    attempt_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    auxiliary_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auxiliaries.id"))
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reported_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    flags: Mapped[list[str]] = mapped_column(JSON)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    rules_version: Mapped[str] = mapped_column(String(40), default=lambda: RULES_VERSION)
