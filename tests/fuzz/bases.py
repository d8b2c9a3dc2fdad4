"""The valid request each operation's hostile variants start from: its path, query, headers and body, pointing
into the fuzzed world (tests/fuzz/world.py)."""

import copy
from typing import Any

from tests.factories import PASSWORD, valid_id_number
from tests.fuzz.admin_world import due_on
from tests.fuzz.spec import Operation
from tests.fuzz.world import World, png, qr_png, recent


def path_values(op: Operation, world: World) -> dict[str, str]:
    ids, values = world.ids, world.values
    by_name = {
        "aux_id": ids["suspended"] if op.path.endswith("/reinstate")
        else ids["legacy"] if op.path.endswith("/id-number") else ids["aux"],
        "task_id": {"cosign": ids["pending"], "reassign": ids["pending_other"]}.get(op.path.rsplit("/", 1)[-1],
                                                                                     ids["recorded"]),
        "user_id": ids["inactive_user"] if op.path.endswith("/reactivate") else ids["officer_user"],
        "case_id": ids["case"],
        "order_id": ids["order_answered"] if op.path.endswith(("/close", "/reopen")) else ids["order_issued"],
        "evidence_id": ids["evidence"],
        "complaint_id": ids["complaint"],
        "photo_id": ids["photo"],
        "token": values["token"],
        "code": values["code"],
        "badge_no": values["badge_no"],
        "tracking_no": values["tracking_no"],
        "entity": "tasks",
        "record_id": ids["recorded"],
    }
    return {p.name: by_name[p.name] for p in op.params_in("path")}


BASE_QUERY = {"/api/public/log/proof/inclusion": "index=0&size=2",
              "/api/public/log/proof/consistency": "first=1&second=2"}


def base_query(op: Operation, world: World) -> str:
    if op.path == "/api/reports/roster":
        return f"agency_id={world.ids['district']}"
    return BASE_QUERY.get(op.path, "")


def base_headers(op: Operation, world: World) -> dict[str, str]:
    names = {p.name for p in op.params_in("header")}
    return {"X-Access-Code": world.values["access_code"]} if "x-access-code" in names else {}


# The ids in the documented examples stand for these records of the world.
EXAMPLE_IDS = {"agency_id": "district", "parent_id": "municipal", "command_agency_id": "street",
               "officer_id": "officer"}


def _richest_example(schema: dict[str, Any] | None) -> Any:
    """The documented example with the most fields (a resolved transition rather than a bare step)."""
    examples = [schema["example"]] if schema and "example" in schema else list((schema or {}).get("examples", []))
    return max(examples, key=lambda e: len(e) if isinstance(e, dict) else 0, default={})


# Field work is accepted for so long after it was done (time_too_old): the examples' times become recent ones.
RECENT_TIMES = {"at": 2, "started_at": 2.5, "ended_at": 2}  # hours ago


def _with_world_ids(node: Any, world: World) -> Any:
    if isinstance(node, dict):
        return {k: world.ids[EXAMPLE_IDS[k]] if k in EXAMPLE_IDS and v is not None
                else recent(hours=RECENT_TIMES[k]) if k in RECENT_TIMES and isinstance(v, str)
                else _with_world_ids(v, world)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_with_world_ids(v, world) for v in node]
    return node


def base_json(op: Operation, world: World) -> Any:
    """The operation's own documented example, its ids pointing into the world."""
    if op.id == "POST /api/auth/refresh":  # a live secret, which no example can hold
        return {"refresh_token": world.values["refresh_token"]}
    if op.id == "POST /api/auth/password":  # every account of the world has the builders' password
        return {"old_password": PASSWORD, "new_password": "紫金山下 玄武湖边 2026"}
    if op.id == "PUT /api/auxiliaries/{aux_id}/id-number":  # a number born on the builders' birth date
        return {"id_number": valid_id_number()}
    body = _with_world_ids(copy.deepcopy(_richest_example(op.body_schema)), world)
    return {**body, "due_on": due_on()} if isinstance(body, dict) and "due_on" in body else body


def base_form(op: Operation, world: World) -> dict[str, str]:
    if op.path == "/api/auth/token":
        return {"username": world.values["aux_username"], "password": PASSWORD}
    return {"category": "rude_conduct", "description": "推搡摊主", "occurred_at": "2026-11-26T10:00",
            "location": "新街口", "contact_phone": "13800138000"}


def base_upload(op: Operation, world: World) -> tuple[str, bytes, str, str]:
    """(field name, bytes, content type, filename) of a valid upload."""
    if op.path == "/api/public/verify-image":
        return "image", qr_png(world.values["verify_url"]), "image/png", "badge.png"
    if op.path.endswith(("/photo", "/photos")):
        return "file", png(), "image/png", "photo.png"
    return "file", b"more evidence bytes", "image/jpeg", "scene.jpg"


def fill_path(op: Operation, values: dict[str, str]) -> str:
    path = op.path
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path
