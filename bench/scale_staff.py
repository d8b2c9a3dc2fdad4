"""The staff of bench/scale.py's city, loaded with COPY, each row with its leaf: a municipal bureau, districts
and streets; an admin for each agency, the justice bureau's admin, an officer for every twenty auxiliaries;
auxiliaries (one agency has 5,000), each with a user, a pre-job training and a badge. One in 33 has left."""

import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import psycopg

from api.domain.models import Agency, Auxiliary, Credential, Officer, Training, User
from bench.scale_fill import Leaves, Staff, copy_rows, spread, staff_days

PASSWORD = "scale-bench-password"
DISTRICTS = 12


def fill_staff(conn: psycopg.Connection[Any], key: bytes, agencies: int, auxiliaries: int, password_hash: str,
               now: datetime) -> tuple[Staff, dict[str, Any], Leaves]:
    leaves = Leaves.starting_at(key, 0)
    at = now - timedelta(days=800)
    homes = list(spread(auxiliaries, agencies - 1))
    counted = Counter(homes)
    headcount = [counted[a] for a in range(agencies - 1)]
    rows: dict[type, list[dict[str, Any]]] = {m: [] for m in (Agency, User, Officer, Auxiliary, Training,
                                                             Credential)}

    def add(model: type, values: dict[str, Any], action: str, actor: uuid.UUID | None = None) -> dict[str, Any]:
        values = {"id": uuid.uuid4(), "created_at": at, **values}
        rows[model].append(values)
        leaves.add(model, values, action, actor, values["created_at"])
        return values

    city = add(Agency, {"name": "南京市公安局", "code": "NJ", "level": "municipal", "parent_id": None,
                        "headcount_quota": 0, "headcount_used": 0}, "agency.created")
    staffed: list[dict[str, Any]] = []
    for a in range(agencies - 1):
        district = a < DISTRICTS or agencies - 1 <= DISTRICTS
        parent = city["id"] if district else staffed[a % DISTRICTS]["id"]
        used = headcount[a]
        staffed.append(add(Agency, {"name": f"{'分局' if district else '派出所'}{a:03d}", "code": f"NJ{a:03d}",
                                    "level": "district" if district else "street", "parent_id": parent,
                                    "headcount_quota": used + 20, "headcount_used": used}, "agency.created"))
    justice = add(User, {"username": "justice.admin", "password_hash": password_hash, "role": "justice_admin",
                         "agency_id": None, "name": "司法局", "active": True}, "user.created")
    admins = [add(User, {"username": f"admin.{a['code']}", "password_hash": password_hash, "role": "agency_admin",
                         "agency_id": a["id"], "name": "机关管理员", "active": True}, "user.created")
              for a in staffed]
    officers: dict[uuid.UUID, list[tuple[uuid.UUID, uuid.UUID]]] = {}
    for a, agency in enumerate(staffed):
        for o in range(max(1, headcount[a] // 20)):
            user = add(User, {"username": f"officer.{agency['code']}.{o:03d}", "password_hash": password_hash,
                              "role": "officer", "agency_id": agency["id"], "name": "民警", "active": True},
                       "user.created", admins[a]["id"])
            officer = add(Officer, {"user_id": user["id"], "agency_id": agency["id"], "cert_no": f"JS{a:03d}{o:03d}",
                                    "active": True}, "officer.created", admins[a]["id"])
            officers.setdefault(agency["id"], []).append((officer["id"], user["id"]))
    working = []
    for i, home in enumerate(homes):
        agency, admin = staffed[home], admins[home]["id"]
        hired_on, born_on = staff_days(i)
        left = i % 33 == 32
        user = add(User, {"username": f"aux.{i:06d}", "password_hash": password_hash, "role": "auxiliary",
                          "agency_id": agency["id"], "name": f"协管员{i:06d}", "active": not left},
                   "user.created", admin)
        aux = add(Auxiliary, {
            "user_id": user["id"], "agency_id": agency["id"], "command_agency_id": None, "badge_no": f"NJ{i:06d}",
            "name": user["name"], "birth_date": born_on, "education": "college", "hire_method": "direct",
            "dispatch_company": None, "hired_on": hired_on, "status": "departed" if left else "active",
            "categories": ["patrol", "publicity", "clerical"], "zones": None, "background": {}, "preferences": {},
            "status_reason": "合同期满" if left else None, "left_on": hired_on + timedelta(days=400) if left else None,
            "items_recovered": ["证件", "制服"] if left else None, "photo": None, "photo_type": None,
            "id_number_hash": None, "id_number_masked": None}, "auxiliary.hired", admin)
        add(Training, {"auxiliary_id": aux["id"], "kind": "pre_job", "hours": 40.0,
                       "completed_on": hired_on + timedelta(days=10), "passed": True, "recorded_by": admin},
            "training.recorded", admin)
        add(Credential, {"auxiliary_id": aux["id"], "credential_no": f"C{i:08d}", "version": 1, "kid": "scale",
                         "status": "revoked" if left else "valid", "status_changed_at": at}, "credential.issued",
            admin)
        if not left:
            working.append((aux["id"], user["id"], agency["id"], agency["id"]))
    for model, values in rows.items():
        copy_rows(conn, model, values)
    leaves.copy(conn)
    people = {"justice": justice["username"], "big_admin": admins[0]["username"], "big_agency": staffed[0]["id"],
              "agencies": [a["id"] for a in staffed]}
    return Staff(working, officers), people, leaves
