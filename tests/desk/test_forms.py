"""The desk's forms: refused without this login's CSRF token with nothing changed, confined to the caller's own
agency as the API is (第五条), and each domain refusal shown beside its field with its article."""

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.models import Auxiliary, AuxiliaryStatus, Credential, Training
from tests.desk.conftest import Desk
from tests.desk.helpers import desk_login, form_token, post
from tests.factories import PASSWORD, make_auxiliary, make_complaint, valid_id_number


def _trainings(db: Session, aux: Auxiliary) -> int:
    return int(db.scalar(select(func.count()).select_from(Training).where(Training.auxiliary_id == aux.id)) or 0)


TRAINING = {"kind": "pre_job", "hours": "40", "completed_on": "2026-03-20", "passed": "1"}


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_form_without_the_logins_token_is_refused_and_changes_nothing(
    client: TestClient, db: Session, desk: Desk, token: str | None
) -> None:
    _, aux = make_auxiliary(db, desk.agency, status=AuxiliaryStatus.PENDING_TRAINING)
    db.flush()
    desk_login(client, desk.admin)
    data = {**TRAINING, **({"csrf_token": token} if token else {})}
    r = client.post(f"/desk/staff/{aux.id}/trainings", data=data, follow_redirects=False)
    assert r.status_code == 403 and "未做任何更改" in r.text
    r = client.post(f"/desk/staff/{aux.id}/suspend", data={"reason": "x", **data}, follow_redirects=False)
    assert r.status_code == 403
    assert _trainings(db, aux) == 0
    db.refresh(aux)
    assert aux.status == AuxiliaryStatus.PENDING_TRAINING


def test_another_logins_token_is_refused(client: TestClient, db: Session, desk: Desk) -> None:
    _, aux = make_auxiliary(db, desk.agency, status=AuxiliaryStatus.PENDING_TRAINING)
    db.flush()
    theirs = desk_login(TestClient(client.app), desk.admin)  # the same admin, another browser
    mine = desk_login(client, desk.admin)
    assert theirs != mine
    assert post(client, f"/desk/staff/{aux.id}/trainings", theirs, **TRAINING).status_code == 403
    assert _trainings(db, aux) == 0
    assert post(client, f"/desk/staff/{aux.id}/trainings", mine, **TRAINING).status_code == 303
    assert _trainings(db, aux) == 1


def test_an_agency_admin_neither_sees_nor_acts_on_another_agencys_staff(
    client: TestClient, db: Session, desk: Desk
) -> None:
    _, theirs = make_auxiliary(db, desk.other_agency, name="秦淮协管")
    _, ours = make_auxiliary(db, desk.agency, name="玄武协管")
    complaint = make_complaint(db, theirs)
    db.flush()
    token = desk_login(client, desk.admin)
    listing = client.get("/desk/staff").text
    assert ours.badge_no in listing and theirs.badge_no not in listing
    assert client.get(f"/desk/staff/{theirs.id}").status_code == 404
    for action, data in (("suspend", {"reason": "越权"}), ("trainings", TRAINING), ("credential", {}),
                         ("departure", {"left_on": "2026-10-01", "reason": "越权"})):
        assert post(client, f"/desk/staff/{theirs.id}/{action}", token, **data).status_code == 404
    db.refresh(theirs)
    assert theirs.status == AuxiliaryStatus.ACTIVE and _trainings(db, theirs) == 0
    assert client.get(f"/desk/complaints/{complaint.id}").status_code == 404
    assert post(client, f"/desk/complaints/{complaint.id}/transition", token, to="investigating").status_code == 404
    assert client.get(f"/desk/dashboard?agency={desk.other_agency.id}").status_code == 403
    assert client.get(f"/api/auxiliaries/{theirs.id}/badge.png").status_code == 404
    assert client.get("/desk/staff/not-an-id").status_code == 404


def test_the_justice_bureau_reads_every_agencys_staff_but_hires_and_changes_none(
    client: TestClient, db: Session, desk: Desk
) -> None:
    _, aux = make_auxiliary(db, desk.other_agency)
    db.flush()
    token = desk_login(client, desk.justice)
    page = client.get(f"/desk/staff/{aux.id}")
    assert page.status_code == 200 and aux.badge_no in page.text and "暂停工作" not in page.text
    assert client.get("/desk/hire").status_code == 403
    assert post(client, f"/desk/staff/{aux.id}/suspend", token, reason="越权").status_code == 403
    db.refresh(aux)
    assert aux.status == AuxiliaryStatus.ACTIVE


def _hire_form(**overrides: str | list[str]) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "name": "钱协管", "username": f"aux.qian{date.today():%m%d}{len(overrides)}", "password": PASSWORD,
        "birth_date": "1996-02-01", "education": "high_school", "hire_method": "direct", "hired_on": "2026-03-01",
        "categories": ["patrol", "publicity"],
    }
    form.update(overrides)
    form.setdefault("id_number", valid_id_number("1996-02-01"))
    return form


def _described(html: str, field_id: str) -> str:
    """The error text an input points at with aria-describedby."""
    tag = re.search(rf'<(?:input|select|textarea)[^>]*id="{field_id}"[^>]*>', html)
    assert tag, field_id
    assert 'aria-invalid="true"' in tag.group(0), tag.group(0)
    ids = re.search(r'aria-describedby="([^"]+)"', tag.group(0))
    assert ids
    error_id = next(i for i in ids.group(1).split() if i.endswith("-error"))
    found = re.search(rf'id="{error_id}">([^<]+)<', html)
    assert found, error_id
    return found.group(1)


def test_an_ineligible_hire_shows_each_rule_at_its_field_and_keeps_what_was_typed(
    client: TestClient, db: Session, desk: Desk
) -> None:
    token = desk_login(client, desk.admin)
    born = "2010-05-01"  # 15 on the hiring date
    form = _hire_form(birth_date=born, id_number=valid_id_number(born), education="junior_high",
                      record=["criminal_record"], name="未成年")
    r = client.post("/desk/hire", data={"csrf_token": token, **form}, follow_redirects=False)
    assert r.status_code == 422
    html = r.text
    assert "第十三条（三）：聘用之日未年满十八周岁" in _described(html, "f-birth_date")
    assert "第十三条（三）：不具有高中以上文化程度" in _described(html, "f-education")
    assert "第十四条（一）：曾被追究刑事责任" in _described(html, "f-record-criminal_record")
    assert 'value="未成年"' in html and f'value="{born}"' in html and 'value="patrol" checked' in html
    assert 'name="password" value=""' in html  # the password is never sent back
    assert db.scalar(select(func.count()).select_from(Auxiliary).where(Auxiliary.name == "未成年")) == 0


def test_a_hire_past_the_headcount_cites_article_12(client: TestClient, db: Session, desk: Desk) -> None:
    desk.agency.headcount_quota = desk.agency.headcount_used
    db.flush()
    token = desk_login(client, desk.admin)
    r = client.post("/desk/hire", data={"csrf_token": token, **_hire_form()}, follow_redirects=False)
    assert r.status_code == 409 and "第十二条：本机关核定的辅助人员员额已满" in r.text
    assert 'value="钱协管"' in r.text


def test_form_mistakes_are_named_at_their_fields_in_chinese(client: TestClient, desk: Desk) -> None:
    token = desk_login(client, desk.admin)
    r = client.post("/desk/hire", data={"csrf_token": token, **_hire_form(birth_date="1996-13-45", username="x")},
                    follow_redirects=False)
    assert r.status_code == 422
    assert "日期" in _described(r.text, "f-birth_date")
    assert _described(r.text, "f-username")


def test_hire_train_issue_and_print(client: TestClient, db: Session, desk: Desk) -> None:
    token = desk_login(client, desk.admin)
    r = client.post("/desk/hire", data={"csrf_token": token, **_hire_form()}, follow_redirects=False)
    assert r.status_code == 303, r.text
    aux = db.scalar(select(Auxiliary).where(Auxiliary.name == "钱协管", Auxiliary.agency_id == desk.agency.id))
    assert aux is not None and aux.status == AuxiliaryStatus.PENDING_TRAINING
    assert r.headers["location"] == f"/desk/staff/{aux.id}?done=hired"
    # No credential before a passed pre-job training (第二十三条): said on the page, nothing issued.
    r = post(client, f"/desk/staff/{aux.id}/credential", token)
    assert r.status_code == 409 and "第二十三条：须经岗前培训合格后方可发放工作证件" in r.text
    r = post(client, f"/desk/staff/{aux.id}/trainings", token, **{**TRAINING, "completed_on": "2999-01-01"})
    assert r.status_code == 422 and "不能晚于今天" in _described(r.text, "training-completed_on")
    assert post(client, f"/desk/staff/{aux.id}/trainings", token, **TRAINING).status_code == 303
    assert post(client, f"/desk/staff/{aux.id}/credential", token).status_code == 303
    page = client.get(f"/desk/staff/{aux.id}?done=credential").text
    assert f"/api/auxiliaries/{aux.id}/badge.png" in page and f"/api/auxiliaries/{aux.id}/badge.pdf" in page
    card = client.get(f"/api/auxiliaries/{aux.id}/badge.png")
    assert card.status_code == 200 and card.content.startswith(b"\x89PNG")
    assert db.scalar(select(Credential.status).where(Credential.auxiliary_id == aux.id)) == "valid"


def test_suspend_reinstate_and_departure_each_say_what_they_did(client: TestClient, db: Session, desk: Desk) -> None:
    _, aux = make_auxiliary(db, desk.agency)
    db.flush()
    token = desk_login(client, desk.admin)
    r = post(client, f"/desk/staff/{aux.id}/suspend", token, reason="")
    assert r.status_code == 422 and _described(r.text, "suspend-reason") == "此项必填"
    assert post(client, f"/desk/staff/{aux.id}/suspend", token, reason="投诉调查期间").status_code == 303
    assert post(client, f"/desk/staff/{aux.id}/reinstate", token, reason="调查结束").status_code == 303
    r = post(client, f"/desk/staff/{aux.id}/departure", token, left_on="2020-01-01", reason="合同期满")
    assert r.status_code == 422 and "离职日期不能早于聘用日期" in _described(r.text, "departure-left_on")
    r = client.post(f"/desk/staff/{aux.id}/departure", follow_redirects=False, data={
        "csrf_token": token, "left_on": "2026-10-31", "reason": "合同期满",
        "items_recovered": ["credential", "badge", "armband"]})
    assert r.status_code == 303
    db.refresh(aux)
    assert aux.status == AuxiliaryStatus.DEPARTED and aux.items_recovered == ["credential", "badge", "armband"]
    page = client.get(r.headers["location"]).text
    assert "第二十七条" in page and "证件、胸牌、臂章" in page


def test_staff_are_found_by_name_or_badge_number(client: TestClient, db: Session, desk: Desk) -> None:
    _, zhang = make_auxiliary(db, desk.agency, name="张伟")
    _, li = make_auxiliary(db, desk.agency, name="李娜", status=AuxiliaryStatus.SUSPENDED)
    db.flush()
    desk_login(client, desk.admin)
    found = client.get("/desk/staff", params={"q": "张"}).text
    assert zhang.badge_no in found and li.badge_no not in found
    found = client.get("/desk/staff", params={"q": li.badge_no.lower()}).text
    assert li.badge_no in found and zhang.badge_no not in found
    found = client.get("/desk/staff", params={"status": "suspended"}).text
    assert li.badge_no in found and zhang.badge_no not in found
    assert client.get("/desk/staff", params={"q": "%\x00_"}).status_code == 200


def test_secondment_only_to_a_street_below_cites_article_22(client: TestClient, db: Session, desk: Desk) -> None:
    _, aux = make_auxiliary(db, desk.agency)
    db.flush()
    token = desk_login(client, desk.admin)
    r = post(client, f"/desk/staff/{aux.id}/secondment", token, command_agency_id=str(desk.other_agency.id))
    assert r.status_code == 422 and "第二十二条" in _described(r.text, "secondment-agency")
    assert form_token(r.text) == token
