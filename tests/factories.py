"""Small builders that write straight to the database, so a test states only what it is about."""

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.base import BEIJING
from api.domain.models import (
    Agency,
    AgencyLevel,
    Assessment,
    Auxiliary,
    AuxiliaryStatus,
    Complaint,
    ComplaintStatus,
    Contract,
    Credential,
    CredentialStatus,
    Officer,
    Role,
    User,
)
from api.domain.organisation.accounts import HashCost, hash_password
from api.domain.staff.assessments import parse_period
from api.domain.staff.eligibility import Application
from api.domain.staff.identity import check_character, identify
from tests.conftest import TEST_ID_KEY

PASSWORD = "correct horse battery"
CHEAP = HashCost(time_cost=1, memory_kib=1024)
_PASSWORD_HASH = hash_password(PASSWORD, CHEAP)

# A square of about 1.1 km around Xinjiekou, Nanjing (lon, lat), as a GeoJSON MultiPolygon.
XINJIEKOU_ZONE: dict[str, Any] = {
    "type": "MultiPolygon",
    "coordinates": [[[[118.775, 32.035], [118.787, 32.035], [118.787, 32.045], [118.775, 32.045],
                      [118.775, 32.035]]]],
}
IN_ZONE = (32.040, 118.781)  # lat, lon
OUT_OF_ZONE = (32.10, 118.90)

# Field work in tests happens yesterday, Beijing time: neither ahead of the server's clock nor too old to accept.
WORKDAY = (datetime.now(BEIJING) - timedelta(days=1)).date()
HIRED_ON = date(2024, 3, 1)


def beijing(hour: int, minute: int = 0, *, day: date | None = None) -> str:
    """An instant of the work day as a phone sends it: RFC 3339 with Beijing's offset."""
    day = day or WORKDAY
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING).isoformat()


def in_utc(instant: str) -> str:
    """An RFC 3339 instant as the service answers it: UTC, with a Z."""
    return datetime.fromisoformat(instant).astimezone(UTC).isoformat().replace("+00:00", "Z")


def ago(**delta: float) -> str:
    """An instant ``delta`` before now, in Beijing time."""
    return (datetime.now(BEIJING) - timedelta(**delta)).isoformat()


BORN = date(1995, 5, 1)
_PEOPLE = itertools.count()


def valid_id_number(birth_date: date | str = BORN, serial: int | None = None) -> str:
    """A fictitious 居民身份证号码 of someone born on ``birth_date``, with a correct GB 11643-1999 check character.
    The 99 of its region code is no province's. ``serial`` picks the rest; by default each call of this process
    makes another person (ten million of them per birth date)."""
    n = next(_PEOPLE) if serial is None else serial
    born = date.fromisoformat(birth_date) if isinstance(birth_date, str) else birth_date
    first17 = f"99{n // 1000 % 10_000:04d}{born:%Y%m%d}{n % 1000:03d}"
    return first17 + check_character(first17)


def _id_number_for(birth_date: object) -> str:
    """A new person's number for a body's ``birth_date``; one for the default date when that is not a date (a
    test of a malformed birth date wants only that refused)."""
    try:
        return valid_id_number(birth_date if isinstance(birth_date, date | str) else BORN)
    except ValueError:
        return valid_id_number()


def _logged(db: Session, row: Any) -> None:
    """Rows made here are logged as the service logs its own writes: a row with no leaf is an attack."""
    audit.record(db, row, f"{row.__tablename__}.seeded", actor_id=None)


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def make_agency(
    db: Session, *, level: str = "district", parent: Agency | None = None, quota: int = 50, name: str = ""
) -> Agency:
    agency = Agency(
        name=name or f"测试机关{_tag()}",
        code=f"T{_tag()}",
        level=AgencyLevel(level),
        parent_id=parent.id if parent else None,
        headcount_quota=quota,
    )
    db.add(agency)
    _logged(db, agency)
    return agency


def make_user(db: Session, *, role: Role, agency: Agency | None, name: str = "测试用户") -> User:
    user = User(
        username=f"{role.value}.{_tag()}",
        password_hash=_PASSWORD_HASH,
        role=role,
        agency_id=agency.id if agency else None,
        name=name,
    )
    db.add(user)
    _logged(db, user)
    return user


def make_officer(db: Session, agency: Agency, *, active: bool = True) -> tuple[User, Officer]:
    user = make_user(db, role=Role.OFFICER, agency=agency, name="王警官")
    officer = Officer(user_id=user.id, agency_id=agency.id, cert_no=f"JS{_tag()}", active=active)
    db.add(officer)
    _logged(db, officer)
    return user, officer


def make_auxiliary(
    db: Session,
    agency: Agency,
    *,
    status: AuxiliaryStatus = AuxiliaryStatus.ACTIVE,
    categories: list[str] | None = None,
    zones: dict[str, Any] | None = None,
    command_agency: Agency | None = None,
    name: str = "李协管",
    id_number: str | None = None,
    legacy: bool = False,
) -> tuple[User, Auxiliary]:
    """An auxiliary in ``status``; an active one holds a valid credential, as after pre-job training. The
    credential was issued on the day of the hire, and a suspended or revoked one has been so since then. Their id
    number is ``id_number``, else a new person's; ``legacy``: none, as for people hired before it was asked."""
    user = make_user(db, role=Role.AUXILIARY, agency=agency, name=name)
    person = None if legacy else identify(id_number or valid_id_number(), birth_date=BORN, key=TEST_ID_KEY)
    aux = Auxiliary(
        user_id=user.id,
        agency_id=agency.id,
        command_agency_id=command_agency.id if command_agency else None,
        badge_no=f"NJ{_tag().upper()}",
        name=name,
        birth_date=BORN,
        education="high_school",
        hire_method="direct",
        hired_on=HIRED_ON,
        status=status,
        id_number_hash=person.digest if person else None,
        id_number_masked=person.masked if person else None,
        categories=categories if categories is not None else ["patrol", "publicity", "clerical"],
        zones=zones if zones is not None else XINJIEKOU_ZONE,
        background={},
        preferences={},
    )
    db.add(aux)
    agency.headcount_used += 1
    _logged(db, aux)
    if status != AuxiliaryStatus.PENDING_TRAINING:
        cred_status = {
            AuxiliaryStatus.ACTIVE: CredentialStatus.VALID,
            AuxiliaryStatus.SUSPENDED: CredentialStatus.SUSPENDED,
            AuxiliaryStatus.DEPARTED: CredentialStatus.REVOKED,
            AuxiliaryStatus.DISMISSED: CredentialStatus.REVOKED,
        }[status]
        issued = datetime(HIRED_ON.year, HIRED_ON.month, HIRED_ON.day, 9, tzinfo=BEIJING)
        credential = Credential(auxiliary_id=aux.id, credential_no=f"C{_tag()}", version=1, kid="test",
                                status=cred_status, created_at=issued, status_changed_at=issued)
        db.add(credential)
        _logged(db, credential)
    return user, aux


def login(client: TestClient, user: User, password: str = PASSWORD) -> dict[str, str]:
    """Log in through the API; return the Authorization header."""
    r = client.post("/api/auth/token", data={"username": user.username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def hire_body(agency: Agency, **overrides: Any) -> dict[str, Any]:
    """A valid ``POST /api/auxiliaries`` body for ``agency``; ``overrides`` replace top-level fields."""
    body: dict[str, Any] = {
        "name": "赵协管",
        "username": f"aux.{_tag()}",
        "password": PASSWORD,
        "birth_date": "1995-05-01",
        "education": "high_school",
        "hire_method": "direct",
        "agency_id": str(agency.id),
        "hired_on": "2026-03-01",
        "categories": ["patrol", "publicity"],
        "zones": XINJIEKOU_ZONE,
        "record": {"criminal_record": False, "pending_criminal_case": False,
                   "dismissed_for_violation": False, "serious_dishonesty": False},
        "preferences": {"martyr_family": False, "veteran": False, "heroic_deed": False},
    }
    body.update(overrides)
    if "id_number" not in overrides:
        body["id_number"] = _id_number_for(body["birth_date"])  # a new person, born on the body's birth date
    return body


def task_payload(**overrides: Any) -> dict[str, Any]:
    """A valid independent patrol record made on the phone, inside the Xinjiekou zone."""
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "category": "patrol",
        "description": "新街口商圈巡查",
        "started_at": beijing(9),
        "ended_at": beijing(11),
        "lat": IN_ZONE[0],
        "lon": IN_ZONE[1],
    }
    body.update(overrides)
    return body


def shift_payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "at": beijing(8, 58),
        "lat": IN_ZONE[0],
        "lon": IN_ZONE[1],
        "accuracy_m": 10.0,
    }
    body.update(overrides)
    return body


CLEAN_RECORD = {"criminal_record": False, "pending_criminal_case": False, "dismissed_for_violation": False,
                "serious_dishonesty": False}


def application(agency: Agency, **overrides: Any) -> Application:
    """An eligible direct hire into ``agency``, as the domain takes it; ``overrides`` replace fields."""
    values: dict[str, Any] = {
        "name": "赵协管",
        "birth_date": date(1995, 5, 1),
        "education": "high_school",
        "hire_method": "direct",
        "dispatch_company": None,
        "agency_id": agency.id,
        "hired_on": date(2026, 3, 1),
        "categories": ["patrol", "publicity"],
        "zones": XINJIEKOU_ZONE,
        "record": dict(CLEAN_RECORD),
    }
    values.update(overrides)
    values.setdefault("id_number", _id_number_for(values["birth_date"]))
    return Application(**values)


def make_complaint(
    db: Session, aux: Auxiliary | None, *, status: ComplaintStatus = ComplaintStatus.RECEIVED
) -> Complaint:
    """A complaint about ``aux`` (None: nobody identified, the justice bureau's), as if filed and moved to
    ``status``; it is handled by ``aux``'s employing agency."""
    now = datetime.now(UTC)
    complaint = Complaint(
        tracking_no=f"TS{now:%Y%m%d}{_tag()[:6].upper()}",
        access_code_hash="0" * 64,
        agency_id=aux.agency_id if aux else None,
        auxiliary_id=aux.id if aux else None,
        badge_no=aux.badge_no if aux else "UNKNOWN999",
        identified_by="badge_no" if aux else None,
        category="rude_conduct",
        description="在新街口推搡摊主",
        occurred_at=now - timedelta(hours=2),
        status=status,
        due_at=now + timedelta(days=15),
    )
    db.add(complaint)
    _logged(db, complaint)
    return complaint


def _recorder(db: Session, agency_id: uuid.UUID) -> User:
    """An admin of ``agency_id`` to name as the one who recorded a standing record."""
    user = User(username=f"agency_admin.{_tag()}", password_hash=_PASSWORD_HASH, role=Role.AGENCY_ADMIN,
                agency_id=agency_id, name="人事科")
    db.add(user)
    _logged(db, user)
    return user


def make_contract(
    db: Session, aux: Auxiliary, *, starts_on: date, ends_on: date, renewal_of: Contract | None = None
) -> Contract:
    """A term of employment written straight to the table (no 第二十一条 check): for terms in the past, or a
    history a test starts from."""
    sequence = 1 + (db.scalar(select(func.count()).select_from(Contract).where(Contract.auxiliary_id == aux.id)) or 0)
    contract = Contract(auxiliary_id=aux.id, agency_id=aux.agency_id, recorded_by=_recorder(db, aux.agency_id).id,
                        sequence=sequence, starts_on=starts_on, ends_on=ends_on,
                        renewal_of_id=renewal_of.id if renewal_of else None)
    db.add(contract)
    _logged(db, contract)
    return contract


def make_assessment(
    db: Session, aux: Auxiliary, *, period: str = "2025", grade: str = "competent", agency: Agency | None = None
) -> Assessment:
    """An assessment of ``period`` by ``agency`` (default: the employer), written straight to the table."""
    span = parse_period(period)
    agency_id = agency.id if agency else aux.agency_id
    assessment = Assessment(auxiliary_id=aux.id, agency_id=agency_id, recorded_by=_recorder(db, agency_id).id,
                            period=period, period_starts_on=span.starts_on, period_ends_on=span.ends_on,
                            grade=grade, discipline=85, performance=80, conduct=90, training=75, note=None)
    db.add(assessment)
    _logged(db, assessment)
    return assessment
