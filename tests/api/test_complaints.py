"""Complaints from the public (第二十四条) and their handling by the employing agency (第二十八条)."""

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.audit.checkpoints import CheckpointStore, make_checkpoint, publish
from api.domain.audit.tree import integrate_all
from api.domain.complaints.intake import file_complaint
from api.domain.errors import DomainError
from api.domain.models import Agency, Auxiliary, Complaint, ComplaintEvent, Credential, Role
from tests.factories import login, make_agency, make_auxiliary, make_user
from tests.problems import assert_problem
from verification.note import open_checkpoint, parse_verifier_key
from verification.tlog import verify_inclusion

PHONE = "13912345678"


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "rude_conduct",
        "description": "劝离摊贩时推搡并辱骂摊主。",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "location": "新街口地铁站2号口",
        "lat": 32.0416,
        "lon": 118.7784,
        "contact_phone": PHONE,
    }
    body.update(overrides)
    return body


def _file(client: TestClient, **overrides: Any) -> dict[str, str]:
    r = client.post("/api/public/complaints", json=_body(**overrides))
    assert r.status_code == 201, r.text
    receipt: dict[str, str] = r.json()
    return receipt


def _stored(db: Session, tracking_no: str) -> Complaint:
    complaint = db.scalar(select(Complaint).where(Complaint.tracking_no == tracking_no))
    assert complaint is not None
    return complaint


def _admin(client: TestClient, db: Session, agency: Agency | None) -> dict[str, str]:
    role = Role.AGENCY_ADMIN if agency else Role.JUSTICE_ADMIN
    return login(client, make_user(db, role=role, agency=agency))


def _token(client: TestClient, db: Session, aux: Auxiliary) -> str:
    credential = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
    assert credential is not None
    keyring = client.app.state.ctx.keyring  # type: ignore[attr-defined]
    token, _ = keyring.sign_badge(credential_id=credential.id, version=credential.version)
    return str(token)


def _move(client: TestClient, headers: dict[str, str], complaint_id: object, **body: Any) -> Any:
    return client.post(f"/api/complaints/{complaint_id}/transitions", json=body, headers=headers)


# --- filing ------------------------------------------------------------------------------------------


def test_complaint_by_badge_number_goes_to_the_employing_agency(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    receipt = _file(client, badge_no=f"  {aux.badge_no.lower()} ")
    complaint = _stored(db, receipt["tracking_no"])
    assert (complaint.agency_id, complaint.auxiliary_id) == (agency.id, aux.id)
    assert complaint.badge_no == aux.badge_no and complaint.identified_by == "badge_no"
    listed = client.get("/api/complaints", headers=_admin(client, db, agency)).json()["items"]
    assert [i["tracking_no"] for i in listed] == [receipt["tracking_no"]]
    assert listed[0]["badge_no"] == aux.badge_no and listed[0]["auxiliary_id"] == str(aux.id)


def test_complaint_by_badge_token_goes_to_the_employer_not_the_commanding_street(
    client: TestClient, db: Session
) -> None:
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    _, aux = make_auxiliary(db, district, command_agency=street)
    complaint = _stored(db, _file(client, token=_token(client, db, aux))["tracking_no"])
    assert (complaint.agency_id, complaint.auxiliary_id) == (district.id, aux.id)
    assert complaint.identified_by == "token"
    # The street reads it (第二十二条) but the employer handles it (第二十八条): tests/api/test_complaint_scope.py
    [item] = client.get("/api/complaints", headers=_admin(client, db, street)).json()["items"]
    assert (item["id"], item["can_handle"]) == (str(complaint.id), False)


@pytest.mark.parametrize("named", [{"badge_no": "NOSUCHBADGE1"}, {}, {"token": "not.a.badge-token"}])
def test_unidentified_auxiliary_still_files_and_goes_to_the_justice_bureau(
    client: TestClient, db: Session, named: dict[str, str]
) -> None:
    receipt = _file(client, **named)
    complaint = _stored(db, receipt["tracking_no"])
    assert complaint.agency_id is None and complaint.auxiliary_id is None
    assert complaint.badge_no == named.get("badge_no")
    assert complaint.identified_by == ("unverified_token" if "token" in named else None)
    justice = client.get("/api/complaints", headers=_admin(client, db, None)).json()["items"]
    assert receipt["tracking_no"] in {i["tracking_no"] for i in justice}
    other = client.get("/api/complaints", headers=_admin(client, db, make_agency(db))).json()["items"]
    assert receipt["tracking_no"] not in {i["tracking_no"] for i in other}


def test_receipt_has_readable_number_and_a_code_kept_only_as_a_hash(client: TestClient, db: Session) -> None:
    receipt = _file(client)
    assert re.fullmatch(r"TS\d{8}[2-9A-HJKMNP-Z]{6}", receipt["tracking_no"])
    code = receipt["access_code"]
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{10}", code)
    complaint = _stored(db, receipt["tracking_no"])
    assert complaint.access_code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert code not in {str(v) for v in vars(complaint).values()}
    assert complaint.due_at - complaint.received_at == timedelta(days=15)
    assert complaint.status == "received"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("occurred_at", "in an hour"),
        ("occurred_at", "2026-11-26T09:40:00"),
        ("occurred_at", "0001-01-01T00:00:00+14:00"),
        ("description", ""),
        ("description", "   "),
        ("description", "字" * 4001),
        ("description", "推搡\u0000摊主"),
        ("location", "新街口\u0000"),
        ("lat", 91),
        ("lon", -181),
        ("contact_phone", "12345"),
        ("category", "parking"),
        ("badge_no", "NJ-12<3>"),
    ],
)
def test_bad_complaint_fields_answer_422_naming_the_field(
    client: TestClient, db: Session, field: str, value: object
) -> None:
    if value == "in an hour":
        value = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = client.post("/api/public/complaints", json=_body(**{field: value}))
    assert field in {e["field"] for e in assert_problem(r, 422, "validation_error")["errors"]}


def test_file_complaint_refuses_a_future_incident_without_the_http_layer(
    client: TestClient, db: Session
) -> None:
    with pytest.raises(DomainError) as refused:
        file_complaint(
            db, keyring=client.app.state.ctx.keyring, badge_no=None, token=None,  # type: ignore[attr-defined]
            category="other", description="x", occurred_at=datetime.now(UTC) + timedelta(hours=1),
            location=None, lat=None, lon=None, contact_phone=None,
        )
    assert refused.value.code == "validation_error"


def test_file_complaint_refuses_an_instant_before_year_1_in_utc(client: TestClient, db: Session) -> None:
    # What the no-script form makes of "0001-01-01T00:00" typed in Beijing time: no UTC instant to store.
    with pytest.raises(DomainError) as refused:
        file_complaint(
            db, keyring=client.app.state.ctx.keyring, badge_no=None, token=None,  # type: ignore[attr-defined]
            category="other", description="x", occurred_at=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=8))),
            location=None, lat=None, lon=None, contact_phone=None,
        )
    assert refused.value.code == "validation_error"
    assert [e["field"] for e in refused.value.extra["errors"]] == ["occurred_at"]  # type: ignore[attr-defined]


# --- following it -----------------------------------------------------------------------------------


def test_tracking_lookup_with_the_right_code_shows_the_status(client: TestClient, db: Session) -> None:
    receipt = _file(client)
    typed = receipt["access_code"].lower()[:5] + "-" + receipt["access_code"].lower()[5:]
    url = f"/api/public/complaints/{receipt['tracking_no'].lower()}"
    r = client.get(url, headers={"X-Access-Code": typed})
    assert r.status_code == 200
    assert r.json() == {"status": "received", "category": "rude_conduct",
                        "received_at": r.json()["received_at"], "outcome": None,
                        "rules_version": "宁政发〔2021〕12号/2026.1", "leaf_hash": receipt["leaf_hash"],
                        "log_index": None, "inclusion": None}
    assert r.headers["cache-control"] == "no-store"


def test_a_receipt_proves_later_that_exactly_this_complaint_was_received(
    client: TestClient, db: Session, tmp_path: Path
) -> None:
    receipt = _file(client)
    assert len(receipt["leaf_hash"]) == 64 and receipt["log_index"] is None  # not yet given its place
    log = client.app.state.ctx.log
    log.store = CheckpointStore(tmp_path)  # this test's own: its database is rolled back
    integrate_all(db)
    publish(log, make_checkpoint(db, log))
    status = client.get(f"/api/public/complaints/{receipt['tracking_no']}",
                        headers={"X-Access-Code": receipt["access_code"]}).json()
    proof = status["inclusion"]
    key = parse_verifier_key(client.get("/api/public/log/key").text.strip())
    checkpoint = open_checkpoint(proof["checkpoint"], [key])
    assert status["log_index"] == proof["index"] and proof["size"] == checkpoint.size
    hashes = [bytes.fromhex(h) for h in proof["hashes"]]
    assert verify_inclusion(bytes.fromhex(receipt["leaf_hash"]), proof["index"], checkpoint.size, hashes,
                            checkpoint.root)
    other = _file(client)["leaf_hash"]
    assert not verify_inclusion(bytes.fromhex(other), proof["index"], checkpoint.size, hashes, checkpoint.root)


def test_wrong_code_missing_code_and_unknown_number_answer_identically(
    client: TestClient, db: Session
) -> None:
    receipt = _file(client)
    url = f"/api/public/complaints/{receipt['tracking_no']}"
    right = {"X-Access-Code": receipt["access_code"]}
    answers = [
        client.get(url, headers={"X-Access-Code": "ABCDEFGHJK"}),
        client.get(url),
        client.get(url, headers={"X-Access-Code": ""}),
        client.get("/api/public/complaints/TS20200101ABCDEF", headers=right),
        client.get("/api/public/complaints/nonsense", headers=right),
    ]
    for r in answers:
        assert_problem(r, 404, "complaint_not_found")
    assert {r.text for r in answers} == {answers[0].text}


def test_contact_phone_never_appears_publicly(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    receipt = _file(client, badge_no=aux.badge_no, contact_phone="+86 139-1234-5678".replace("-", ""))
    complaint = _stored(db, receipt["tracking_no"])
    admin = _admin(client, db, agency)
    _move(client, admin, complaint.id, to="investigating")
    _move(client, admin, complaint.id, to="resolved", finding="属实", action="correction",
          notice="某辅助人员已整改。")
    public = [
        client.get(f"/api/public/complaints/{receipt['tracking_no']}",
                   headers={"X-Access-Code": receipt["access_code"]}).text,
        client.get("/api/public/notices").text,
        str(receipt),
    ]
    for page in public:
        assert "12345678" not in page.replace(" ", "") and "contact_phone" not in page
    detail = client.get(f"/api/complaints/{complaint.id}", headers=admin).json()
    assert detail["contact_phone"] == "+86 13912345678"


# --- handling ---------------------------------------------------------------------------------------


@pytest.fixture
def case(client: TestClient, db: Session) -> dict[str, Any]:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency, name="赵铁柱")
    receipt = _file(client, badge_no=aux.badge_no)
    return {"agency": agency, "aux": aux, "receipt": receipt, "id": _stored(db, receipt["tracking_no"]).id,
            "admin": _admin(client, db, agency)}


def test_handling_steps_are_kept_as_events_and_audited(
    client: TestClient, db: Session, case: dict[str, Any]
) -> None:
    admin = case["admin"]
    assert _move(client, admin, case["id"], to="investigating").json()["status"] == "investigating"
    r = _move(client, admin, case["id"], to="resolved", finding="经核实情况属实", action="criticism")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["finding"], body["action"]) == ("resolved", "经核实情况属实", "criticism")
    assert [(e["from_status"], e["to_status"]) for e in body["events"]] == [
        ("received", "investigating"), ("investigating", "resolved")]
    assert db.scalar(select(Complaint.status).where(Complaint.id == case["id"])) == "resolved"
    report = verify_log(db)
    assert report.ok, report.first_bad
    outcome = client.get(f"/api/public/complaints/{case['receipt']['tracking_no']}",
                         headers={"X-Access-Code": case["receipt"]["access_code"]}).json()["outcome"]
    assert (outcome["finding"], outcome["action"]) == ("经核实情况属实", "criticism")
    assert outcome["action_name"] == "通报批评"


def test_a_received_complaint_may_be_dismissed_at_once(
    client: TestClient, db: Session, case: dict[str, Any]
) -> None:
    r = _move(client, case["admin"], case["id"], to="dismissed", finding="查无此人此事")
    assert r.status_code == 200 and r.json()["status"] == "dismissed" and r.json()["action"] is None


@pytest.mark.parametrize(
    ("path", "to"),
    [((), "resolved"), (("investigating",), "investigating"), (("dismissed",), "investigating"),
     (("investigating", "resolved"), "dismissed"), (("dismissed",), "resolved")],
)
def test_steps_outside_the_state_machine_answer_409(
    client: TestClient, db: Session, case: dict[str, Any], path: tuple[str, ...], to: str
) -> None:
    for step in path:
        extra = {"finding": "属实", "action": "correction"} if step == "resolved" else {}
        assert _move(client, case["admin"], case["id"], to=step, **extra).status_code == 200
    r = _move(client, case["admin"], case["id"], to=to, finding="属实", action="correction")
    assert_problem(r, 409, "invalid_transition")


@pytest.mark.parametrize(
    ("body", "code"),
    [({"action": "correction"}, "finding_required"),
     ({"finding": "  ", "action": "correction"}, "finding_required"),
     ({"finding": "属实"}, "action_required"),
     ({"finding": "属实\u0000", "action": "correction"}, "validation_error")],
)
def test_resolving_needs_a_finding_and_an_article_28_action(
    client: TestClient, db: Session, case: dict[str, Any], body: dict[str, str], code: str
) -> None:
    _move(client, case["admin"], case["id"], to="investigating")
    r = _move(client, case["admin"], case["id"], to="resolved", **body)
    assert_problem(r, 422, code, "第二十八条" if code == "action_required" else None)
    assert db.scalar(select(Complaint.status).where(Complaint.id == case["id"])) == "investigating"


@pytest.mark.parametrize(
    ("body", "code"),
    [({"to": "investigating", "action": "criticism"}, "action_only_when_resolved"),
     ({"to": "dismissed", "notice": "某辅助人员被投诉。"}, "notice_only_when_resolved")],
)
def test_action_and_notice_go_only_with_resolving(
    client: TestClient, db: Session, case: dict[str, Any], body: dict[str, str], code: str
) -> None:
    r = _move(client, case["admin"], case["id"], **body)
    assert_problem(r, 422, code)


def test_another_agencys_admin_can_neither_see_nor_move_it(
    client: TestClient, db: Session, case: dict[str, Any]
) -> None:
    other = _admin(client, db, make_agency(db))
    assert_problem(client.get(f"/api/complaints/{case['id']}", headers=other), 404, "not_found")
    assert_problem(_move(client, other, case["id"], to="investigating"), 404, "not_found")
    assert client.get("/api/complaints", headers=other).json()["items"] == []
    officer = login(client, make_user(db, role=Role.OFFICER, agency=case["agency"]))
    assert_problem(client.get("/api/complaints", headers=officer), 403, "role_not_allowed")


def test_justice_bureau_reads_every_complaint_but_decides_only_unassigned_ones(
    client: TestClient, db: Session, case: dict[str, Any]
) -> None:
    justice = _admin(client, db, None)
    assert client.get(f"/api/complaints/{case['id']}", headers=justice).status_code == 200
    r = _move(client, justice, case["id"], to="investigating")
    assert_problem(r, 403, "not_handling_agency")
    orphan = _stored(db, _file(client, badge_no="UNKNOWN999")["tracking_no"])
    assert _move(client, justice, orphan.id, to="dismissed", finding="无法核实").status_code == 200


def test_list_filters_by_status_and_pages(client: TestClient, db: Session, case: dict[str, Any]) -> None:
    for _ in range(2):
        _file(client, badge_no=case["aux"].badge_no)
    _move(client, case["admin"], case["id"], to="investigating")
    got = client.get("/api/complaints?status=investigating", headers=case["admin"]).json()["items"]
    assert [i["id"] for i in got] == [str(case["id"])]
    first = client.get("/api/complaints?limit=2", headers=case["admin"]).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(f"/api/complaints?limit=2&cursor={first['next_cursor']}", headers=case["admin"]).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert_problem(client.get("/api/complaints?status=lost", headers=case["admin"]), 422, "validation_error")


def test_malformed_complaint_id_is_422_not_500(client: TestClient, db: Session, case: dict[str, Any]) -> None:
    assert_problem(client.get("/api/complaints/not-a-uuid", headers=case["admin"]), 422, "validation_error")
    assert_problem(_move(client, case["admin"], "123", to="investigating"), 422, "validation_error")


# --- notices ----------------------------------------------------------------------------------------


def test_case_notice_is_public_only_once_the_case_is_resolved(
    client: TestClient, db: Session, case: dict[str, Any]
) -> None:
    before = {n["id"] for n in client.get("/api/public/notices").json()["items"]}
    _move(client, case["admin"], case["id"], to="investigating")
    assert {n["id"] for n in client.get("/api/public/notices").json()["items"]} == before
    text_ = "2026年11月，某街道一名辅助人员在劝离摊贩时推搡当事人，经核实，给予通报批评。"
    r = _move(client, case["admin"], case["id"], to="resolved", finding="属实", action="criticism",
              notice=text_)
    assert r.status_code == 200, r.text
    published = [n for n in client.get("/api/public/notices").json()["items"] if n["id"] not in before]
    assert len(published) == 1
    notice = published[0]
    assert (notice["text"], notice["category"], notice["action"]) == (text_, "rude_conduct", "criticism")
    assert notice["agency"] == case["agency"].name and notice["action_name"] == "通报批评"
    assert set(notice) == {"id", "published_at", "agency", "category", "category_name", "action",
                           "action_name", "text"}


@pytest.mark.parametrize(
    ("leak", "found"),
    [("赵铁柱", "auxiliary_name"), ("赵 铁柱", "auxiliary_name"), ("{badge}", "badge_no"),
     ("{badge_spaced}", "badge_no"), ("139 1234 5678", "contact_phone")],
    ids=["name", "name_spaced", "badge_lower", "badge_spaced", "phone_spaced"],
)
def test_notice_that_is_not_anonymised_is_refused(
    client: TestClient, db: Session, case: dict[str, Any], leak: str, found: str
) -> None:
    badge: str = case["aux"].badge_no
    leak = leak.format(badge=badge.lower(), badge_spaced=" ".join(badge))
    _move(client, case["admin"], case["id"], to="investigating")
    r = _move(client, case["admin"], case["id"], to="resolved", finding="属实", action="criticism",
              notice=f"经查，辅助人员（{leak}）推搡当事人，给予通报批评。")
    assert_problem(r, 422, "notice_not_anonymised")
    assert found in r.json()["found"]
    assert db.scalar(select(Complaint.status).where(Complaint.id == case["id"])) == "investigating"


# --- the records stay ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    # The lone complaint has no events, so only the trigger (not a foreign key) can stop its deletion.
    ["DELETE FROM complaints WHERE tracking_no = :lone", "DELETE FROM complaint_events",
     "UPDATE complaint_events SET action = 'dismissal'", "DELETE FROM case_notices"],
)
def test_the_database_refuses_to_delete_complaints_or_rewrite_their_handling(
    client: TestClient, db: Session, case: dict[str, Any], statement: str
) -> None:
    _move(client, case["admin"], case["id"], to="investigating")
    _move(client, case["admin"], case["id"], to="resolved", finding="属实", action="correction",
          notice="已整改。")
    lone = _file(client)["tracking_no"]
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text(statement), {"lone": lone} if ":lone" in statement else {})
    assert _stored(db, lone).status == "received"
    kept = select(ComplaintEvent.action).where(
        ComplaintEvent.to_status == "resolved", ComplaintEvent.complaint_id == case["id"]
    )
    assert db.scalar(kept) == "correction"
