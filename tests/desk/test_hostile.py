"""No input makes the desk answer 500 (API.md, "Conventions"): junk in every query parameter, path and form field
of its pages answers a page in Chinese with a 4xx, and a refused form leaves the records as they were."""

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.models import Auxiliary, AuxiliaryStatus, Training
from tests.desk.conftest import Desk
from tests.desk.helpers import desk_login, post
from tests.factories import make_auxiliary, make_complaint

JUNK = ["", "x" * 5000, "\x00", "\ud800", "%00", "../../etc/passwd", "' OR 1=1 --", "<script>alert(1)</script>",
        "-1", "9" * 40, "2026-02-30", "00000000-0000-0000-0000-000000000000"]


@pytest.mark.parametrize("junk", JUNK)
def test_junk_in_the_desks_pages_and_forms_never_answers_500(
    client: TestClient, db: Session, desk: Desk, junk: str
) -> None:
    _, aux = make_auxiliary(db, desk.agency, status=AuxiliaryStatus.PENDING_TRAINING)
    complaint = make_complaint(db, aux)
    db.flush()
    token = desk_login(client, desk.admin)
    safe = junk.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    for path in ("/desk/staff", "/desk/complaints", "/desk/cases", "/desk/rectification", "/desk/alerts",
                 "/desk/dashboard", "/desk/roster", "/desk/log"):
        for name in ("q", "status", "agency", "cursor", "sort", "dir", "months", "year", "overdue", "done"):
            r = client.get(path, params={name: safe})
            assert r.status_code < 500, (path, name, r.status_code)
            assert "<script>alert" not in r.text
    for page in ("staff", "complaints"):
        assert client.get(f"/desk/{page}/{quote(safe, safe='')}").status_code < 500
    fields = {"kind": safe, "hours": safe, "completed_on": safe, "passed": safe, "reason": safe, "left_on": safe,
              "items_recovered": safe, "command_agency_id": safe, "to": safe, "finding": safe, "action": safe,
              "notice": safe, "instructions": safe, "due_on": safe, "measures": safe, "note": safe}
    for action in ("trainings", "credential", "suspend", "reinstate", "departure", "secondment"):
        r = post(client, f"/desk/staff/{aux.id}/{action}", token, **fields)
        assert r.status_code < 500, (action, r.status_code)
    r = post(client, f"/desk/complaints/{complaint.id}/transition", token, **fields)
    assert r.status_code < 500
    hire = {k: safe for k in ("name", "username", "password", "birth_date", "id_number", "education",
                              "hire_method", "dispatch_company", "hired_on", "zones", "categories", "record")}
    assert post(client, "/desk/hire", token, **hire).status_code < 500
    assert post(client, "/desk/login", token, username=safe, password=safe).status_code < 500
    db.refresh(aux)
    assert aux.status == AuxiliaryStatus.PENDING_TRAINING
    assert db.scalar(select(func.count()).select_from(Training).where(Training.auxiliary_id == aux.id)) == 0
    assert db.scalar(select(func.count()).select_from(Auxiliary).where(Auxiliary.agency_id == desk.agency.id)) == 1
