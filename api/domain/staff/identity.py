"""One person city-wide (第十四条): the 居民身份证号码 of GB 11643-1999, checked, matched across agencies, never kept.

An agency states the number when it hires. The service checks its shape, its ISO 7064 MOD 11-2 check character
and its embedded birth date (the checks are a table, like eligibility.py's), then keeps two things of it: a
keyed hash (HMAC-SHA256 under a key derived from ``AUXDUTY_SECRET_KEY``, the same on every host) to match the
person in every agency's rows, and the masked form (``110105********1234``) to show. Without the secret the hash
cannot be reversed by trying the few billion plausible numbers; with another secret it matches nothing, so the
secret must outlive the rows that were hashed under it.

Matched by that hash: a person dismissed for violations by any agency is ineligible everywhere (第十四条(二),
``eligibility.dismissed_on_record``), and a person is employed by one agency at a time (409
``already_employed``), which a partial unique index on the hash of current staff holds under races too.

People hired before the number was asked have none; their agency states it once, later (``record_id_number``).
"""

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.errors import Conflict, DomainError
from api.domain.models import LEFT_STATUSES, Auxiliary, AuxiliaryStatus, User
from api.domain.staff.eligibility import OnRecord

STANDARD = "GB 11643-1999"
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")  # never \d: it takes full-width and other scripts' digits too
# ISO 7064 MOD 11-2: the i-th of the 17 digits (from the left) weighs 2^(17-i) mod 11; the sum mod 11 names the
# check character.
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARACTERS = "10X98765432"


def check_character(first17: str) -> str:
    """The check character (0-9 or X) that GB 11643-1999 puts after these 17 digits."""
    return _CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def embedded_birth_date(number: str) -> date | None:
    """The 出生日期码 (characters 7 to 14, YYYYMMDD), if it is a real date."""
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


@dataclass(frozen=True)
class IdNumberCheck:
    reason: str
    detail_zh: str
    detail_en: str
    fails: Callable[[str, date], bool]


# In order: the first that fails is the one named (the later ones mean nothing on a number of the wrong shape).
ID_NUMBER_CHECKS: tuple[IdNumberCheck, ...] = (
    IdNumberCheck("format", "须为18位：17位数字加1位校验码（0-9或X）",
                  "must be 18 characters: 17 digits and a check character 0-9 or X",
                  lambda n, _born: _SHAPE.fullmatch(n) is None),
    IdNumberCheck("check_character", "校验码不符（ISO 7064 MOD 11-2）",
                  "the check character does not match (ISO 7064 MOD 11-2)",
                  lambda n, _born: check_character(n[:17]) != n[17]),
    IdNumberCheck("birth_date", "出生日期码不是有效日期，或与出生日期（birth_date）不符",
                  "the embedded birth date is not a real date or differs from birth_date",
                  lambda n, born: embedded_birth_date(n) != born),
)


def normalise_id_number(raw: str) -> str:
    """As written on the card: a lower-case x is the check character X."""
    return raw.strip().upper()


def check_id_number(raw: str, *, birth_date: date) -> str:
    """The number, normalised, if it is a 居民身份证号码 of someone born on ``birth_date``; else 422
    ``invalid_id_number`` naming the check that failed. The refusal never repeats the number."""
    number = normalise_id_number(raw)
    for check in ID_NUMBER_CHECKS:
        if check.fails(number, birth_date):
            raise DomainError("invalid_id_number", f"居民身份证号码无效（{STANDARD}）：{check.detail_zh}",
                              f"invalid resident identity card number ({STANDARD}): {check.detail_en}",
                              field="id_number", standard=STANDARD, reason=check.reason)
    return number


def mask_id_number(number: str) -> str:
    """What may be shown: the first six and the last four characters (``110105********1234``)."""
    return number[:6] + "*" * 8 + number[-4:]


def derive_id_key(secret: str) -> bytes:
    """The key of the id-number hash, from the service's secret (HKDF-SHA256, a label of its own)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"auxduty/id-number-index/v1").derive(secret.encode())


@dataclass(frozen=True)
class Person:
    """What the service keeps of a checked number: never the number."""

    digest: str
    masked: str


def identify(raw: str, *, birth_date: date, key: bytes) -> Person:
    number = check_id_number(raw, birth_date=birth_date)
    digest = hmac.new(key, number.encode("ascii"), hashlib.sha256).hexdigest()
    return Person(digest=digest, masked=mask_id_number(number))


def on_record(session: Session, person: Person) -> OnRecord:
    """What every agency's rows say of this person, for 第十四条."""
    dismissed = session.scalar(select(Auxiliary.id).where(
        Auxiliary.id_number_hash == person.digest, Auxiliary.status == AuxiliaryStatus.DISMISSED).limit(1))
    return OnRecord(dismissed=dismissed is not None)


def current_employment(session: Session, person: Person) -> Auxiliary | None:
    """The row of this person's current employment (not departed nor dismissed), in whichever agency."""
    return session.scalars(select(Auxiliary).where(
        Auxiliary.id_number_hash == person.digest, Auxiliary.status.not_in(LEFT_STATUSES)).limit(1)).one_or_none()


_EMPLOYED_ZH = "此人现受聘于行政执法机关，离职后方可再次聘用"
_EMPLOYED_EN = "this person is employed by an agency now and can be hired again only after leaving"


def check_not_employed(session: Session, person: Person, *, actor: User) -> None:
    """409 ``already_employed`` while any agency employs the person. The caller's own agency is pointed to its
    row; another agency learns only that the person is employed, not where."""
    current = current_employment(session, person)
    if current is None:
        return
    if current.agency_id == actor.agency_id:
        raise Conflict("already_employed", _EMPLOYED_ZH, _EMPLOYED_EN, auxiliary_id=current.id)
    raise Conflict("already_employed", _EMPLOYED_ZH, _EMPLOYED_EN)


def record_id_number(session: Session, aux: Auxiliary, *, actor: User, raw: str, key: bytes) -> bool:
    """State the number of someone hired before it was asked (``aux`` locked, managed by ``actor``), once: 409
    ``id_number_already_recorded`` when the row has one, which the API never changes. Checked as on hire, against
    the row's ``birth_date``. While ``aux`` is employed, 409 ``already_employed`` if another row of current staff
    has the number; a row that has left only states who it was. Answers whether any agency dismissed the person
    (第十四条(二)): not a refusal, since they are already employed, but the agency must see it."""
    if aux.id_number_hash is not None:
        raise Conflict("id_number_already_recorded", "该辅助人员已登记居民身份证号码，不能更改",
                       "an id number is already recorded for this auxiliary and is never changed")
    person = identify(raw, birth_date=aux.birth_date, key=key)
    if not aux.has_left:
        check_not_employed(session, person, actor=actor)
    dismissed = on_record(session, person).dismissed
    try:
        with session.begin_nested():
            aux.id_number_hash, aux.id_number_masked = person.digest, person.masked
            session.flush()
    except IntegrityError:
        # Another row took this person as current staff after our check (the one-current-employment index).
        check_not_employed(session, person, actor=actor)
        raise
    audit.record(session, aux, "auxiliary.id_number_recorded", actor_id=actor.id)
    return dismissed
