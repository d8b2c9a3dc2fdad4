"""The 居民身份证号码 without HTTP (第十四条): GB 11643-1999's shape, check character and birth date; the masked
form; the keyed hash; what a row logged before the number was asked hashes as."""

import hashlib
from datetime import date

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.audit.log import _plain, canonical, derive_leaf_key, row_hash
from api.domain.models import Auxiliary, AuxiliaryStatus, Role
from api.domain.staff import identity
from api.domain.staff.identity import (
    STANDARD,
    Person,
    check_character,
    check_id_number,
    derive_id_key,
    identify,
    mask_id_number,
    record_id_number,
)
from tests.conftest import TEST_ID_KEY, TEST_SECRET
from tests.factories import make_agency, make_auxiliary, make_user, valid_id_number
from tests.problems import refused

# GB 11643-1999's own example, with the check character X; a Wikipedia example; numbers made the standard's way.
PUBLISHED = [("11010519491231002X", date(1949, 12, 31)), ("440524188001010014", date(1880, 1, 1))]


@pytest.mark.parametrize(("number", "born"), PUBLISHED)
def test_published_numbers_pass_the_iso_7064_mod_11_2_check(number: str, born: date) -> None:
    assert check_character(number[:17]) == number[17]
    assert check_id_number(number, birth_date=born) == number


def test_a_lower_case_x_is_the_check_character_x() -> None:
    assert check_id_number("11010519491231002x", birth_date=date(1949, 12, 31)) == "11010519491231002X"
    assert check_id_number(" 11010519491231002x ", birth_date=date(1949, 12, 31)) == "11010519491231002X"


def test_every_check_character_the_standard_defines_is_made() -> None:
    made = {valid_id_number(date(1990, 1, 1), serial=n)[-1] for n in range(200)}
    assert made == set("0123456789X")


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "check_character"),  # the published number with another check character
        ("11010519491231002Y", "format"),
        ("1101051949123100", "format"),  # 16
        ("11010519491231002", "format"),  # 17: no check character
        ("11010519491231002X1", "format"),  # 19
        ("1101051949123100X2", "format"),  # X is only the last character
        ("１１０１０５１９４９１２３１００２X", "format"),  # full-width digits are not digits of the standard
        ("11010519491231002 ", "format"),
        ("", "format"),
        ("110105194912320025", "birth_date"),  # 1949-12-32: its check character is right, its date is not real
    ],
)
def test_a_number_that_fails_the_standard_is_invalid_id_number_naming_why(number: str, reason: str) -> None:
    with refused("invalid_id_number", None, status=422) as caught:
        check_id_number(number, birth_date=date(1949, 12, 31))
    assert caught.value.extra == {"field": "id_number", "standard": STANDARD, "reason": reason}
    assert number.strip() == "" or number.strip() not in caught.value.detail_zh + caught.value.detail_en


def test_the_birth_date_in_the_number_must_be_the_stated_birth_date() -> None:
    assert check_character("11010519491232002") == "5"  # the 1949-12-32 case above really has a right check char
    with refused("invalid_id_number", None) as caught:
        check_id_number("11010519491231002X", birth_date=date(1949, 12, 30))
    assert caught.value.extra["reason"] == "birth_date"


def test_the_masked_form_keeps_the_first_six_and_the_last_four() -> None:
    assert mask_id_number("110105194912310021") == "110105********0021"
    person = identify("11010519491231002x", birth_date=date(1949, 12, 31), key=TEST_ID_KEY)
    assert person.masked == "110105********002X"
    assert "19491231" not in person.masked and len(person.masked) == 18


def test_the_hash_is_keyed_by_the_secret_and_the_same_for_x_and_lower_x() -> None:
    upper = identify("11010519491231002X", birth_date=date(1949, 12, 31), key=TEST_ID_KEY)
    lower = identify("11010519491231002x", birth_date=date(1949, 12, 31), key=TEST_ID_KEY)
    other_host = identify("11010519491231002X", birth_date=date(1949, 12, 31), key=derive_id_key(TEST_SECRET))
    elsewhere = identify("11010519491231002X", birth_date=date(1949, 12, 31), key=derive_id_key("another secret"))
    assert upper.digest == lower.digest == other_host.digest != elsewhere.digest
    assert upper.digest != hashlib.sha256(b"11010519491231002X").hexdigest()  # not a bare hash anyone can redo
    assert derive_id_key(TEST_SECRET) != derive_leaf_key(TEST_SECRET)  # a key of its own


def test_a_row_logged_before_the_number_was_asked_hashes_as_it_did(db: Session) -> None:
    _, legacy = make_auxiliary(db, make_agency(db), legacy=True)
    mapper = inspect(type(legacy))
    before = {a.key: a for a in mapper.column_attrs if a.key not in ("id_number_hash", "id_number_masked")}
    content = {k: _plain(getattr(legacy, k), a.columns[0]) for k, a in before.items()}
    assert row_hash(legacy) == hashlib.sha256(canonical(content)).hexdigest()
    legacy.id_number_masked = "110105********002X"
    assert row_hash(legacy) != hashlib.sha256(canonical(content)).hexdigest()  # set later: seen


def test_the_database_keeps_one_current_employment_per_person(db: Session) -> None:
    agency, other = make_agency(db), make_agency(db)
    number = valid_id_number()
    make_auxiliary(db, agency, status=AuxiliaryStatus.DEPARTED, id_number=number)
    make_auxiliary(db, other, status=AuxiliaryStatus.DISMISSED, id_number=number)
    make_auxiliary(db, other, status=AuxiliaryStatus.SUSPENDED, id_number=number)  # left twice, employed once
    for status in (AuxiliaryStatus.ACTIVE, AuxiliaryStatus.PENDING_TRAINING):
        with pytest.raises(IntegrityError), db.begin_nested():
            make_auxiliary(db, agency, status=status, id_number=number)
    make_auxiliary(db, agency, legacy=True)
    make_auxiliary(db, agency, legacy=True)  # people hired without a number are not one person


def test_a_number_stated_later_loses_to_a_hire_of_the_person_that_won_the_race(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    agency, other = make_agency(db), make_agency(db)
    actor = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    number = valid_id_number()
    make_auxiliary(db, other, id_number=number)
    _, aux = make_auxiliary(db, agency, legacy=True)
    # The other hire commits between our check and our write: the check sees nobody, the index refuses.
    real, calls = identity.current_employment, []

    def too_early(session: Session, person: Person) -> Auxiliary | None:
        calls.append(person)
        return None if len(calls) == 1 else real(session, person)

    monkeypatch.setattr(identity, "current_employment", too_early)
    with refused("already_employed", None, status=409):
        record_id_number(db, aux, actor=actor, raw=number, key=TEST_ID_KEY)
    assert len(calls) == 2
    db.refresh(aux)
    assert aux.id_number_hash is None
