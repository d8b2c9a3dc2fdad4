"""The OpenAPI document as clients see the service: `verb_noun` operation ids, binary answers typed as
such, every status an operation can answer with a problem+json example of its own, and the catalogue of
error codes (``info.x-error-codes``, the `ErrorCode` schema and a table in the description), read from the
source by ``api.error_codes``."""

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from api.deps import hold_db_slot
from api.error_codes import ErrorCode, by_code, error_codes

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details. `code` is stable (one of `ErrorCode`; the table in the "
                   "description and `info.x-error-codes` give each one's status and article); `article` "
                   "names the rule of the Measures that refused the request; `detail` is Chinese unless "
                   "`Accept-Language: en`; `errors` lists each bad field of a 422 `validation_error`.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable: one of `ErrorCode`"},
        "article": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}, "type": {"type": "string"}}}},
    },
}
_STATUS_TEXT = {
    "400": "the form or multipart body cannot be parsed",
    "401": "missing, expired or invalid credentials",
    "403": "not allowed for this caller",
    "404": "absent, or not the caller's to know about",
    "409": "the state of a record, or an earlier record, says no",
    "410": "gone from storage",
    "413": "the upload is larger than its limit",
    "415": "not a media type this operation accepts",
    "422": "a field is invalid (`validation_error`) or a rule of the Measures refused it (`article`)",
    "429": "rate limit reached; retry after `Retry-After` seconds",
    "503": "no database slot (or photo decoder) came free in time, or the database is down; retry after "
           "`Retry-After` seconds; nothing of the request was kept",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}
_HEADERS = {"401": {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
            "429": _RETRY_AFTER, "503": _RETRY_AFTER}
_BINARY = {"type": "string", "format": "binary"}
# Codes an operation answers that its docstring does not name (those it names are read from it).
ANSWERS: dict[str, tuple[str, ...]] = {
    "issue_token": ("invalid_credentials", "login_locked", "service_busy"),
    "verify_audit": ("storage_unavailable",),
    "refresh_token": ("invalid_refresh_token", "refresh_token_reused"),
    "create_agency": ("agency_code_taken", "parent_required", "invalid_parent_level", "not_found"),
    "create_user": ("username_taken", "not_found", "not_your_agency"),
    "hire_auxiliary": ("not_found", "not_your_agency", "unknown_duty"),
    "record_id_number": ("not_your_agency",),
    "list_auxiliaries": ("invalid_cursor",),
    "record_training": ("unknown_training_kind", "completed_in_future", "auxiliary_departed", "not_your_agency"),
    "issue_credential": ("credential_conflict", "not_your_agency"),
    "suspend_auxiliary": ("not_your_agency",),
    "reinstate_auxiliary": ("not_your_agency",),
    "record_departure": ("left_before_hired", "unknown_item", "not_your_agency"),
    "second_auxiliary": ("not_your_agency",),
    "upload_photo": ("413:image_too_large", "unsupported_image_type", "image_unreadable", "image_too_many_pixels",
                     "not_your_agency"),
    "read_badge_card": ("not_your_agency",),
    "check_in": ("id_conflict", "not_an_auxiliary", "credential_not_active"),
    "check_out": ("id_conflict", "not_an_auxiliary", "credential_not_active", "time_in_future", "time_too_old"),
    "list_shifts": ("invalid_cursor",),
    "create_task": ("id_conflict", "not_an_auxiliary", "credential_not_active", "category_not_granted",
                    "officer_required", "422:officer_not_available", "assignment_required",
                    "legal_basis_required", "unknown_duty"),
    "list_tasks": ("invalid_cursor",),
    "cosign_task": ("not_an_officer", "not_named_officer", "not_pending_cosign", "403:officer_not_available"),
    "correct_task": ("id_conflict", "not_an_auxiliary", "credential_not_active", "time_in_future", "time_too_old",
                     "already_superseded",
                     "category_not_granted", "officer_required", "422:officer_not_available", "forbidden_work",
                     "assignment_required", "legal_basis_required"),
    "upload_evidence": ("evidence_too_large", "not_task_party"),
    "sync_records": ("not_an_auxiliary", "credential_not_active"),
    "list_article19_cases": ("invalid_cursor",),
    "read_checkpoint": ("404:no_checkpoint",),
    "read_inclusion_proof": ("proof_out_of_range",),
    "read_consistency_proof": ("proof_out_of_range",),
    "read_record_entries": ("not_found",),
    "download_evidence": ("evidence_file_missing", "evidence_altered"),
    "list_agency_complaints": ("invalid_cursor", "role_not_allowed"),
    "transition_agency_complaint": ("finding_required", "action_required", "action_only_when_resolved",
                                    "notice_only_when_resolved", "not_handling_agency", "auxiliary_departed"),
    "record_contract": ("not_your_agency",),
    "record_commendation": ("not_your_agency",),
    "record_sanction": ("not_your_agency", "left_before_hired"),
    "read_roster": ("not_found", "not_your_agency"),
    "list_alerts": ("invalid_cursor", "not_your_agency"),
    "add_complaint_photo": ("413:image_too_large", "unsupported_image_type", "image_unreadable",
                            "image_too_many_pixels", "too_many_photos", "complaint_closed", "complaint_not_found"),
    "read_complaint_photo": ("not_handling_agency", "not_found", "photo_file_missing", "photo_altered"),
    "read_metrics": ("not_found", "not_your_agency"),
    "read_metrics_chart": ("not_found", "not_your_agency"),
    "verify_image": ("no_qr_found", "foreign_qr", "413:image_too_large", "unsupported_image_type",
                     "image_too_many_pixels", "image_unreadable", "decoder_unavailable"),
}
# Endpoints that wait for a database slot in their body (api/routes/public.py) rather than through
# SessionDep, or count their rate limit there.
SLOT_IN_BODY = frozenset({"verify_token", "verify_badge_no", "read_verify_page", "read_compact_verify_page",
                          "verify_image"})
RATE_LIMIT_IN_BODY = frozenset({"verify_token", "read_verify_page", "read_compact_verify_page",
                                "read_complaint_form", "submit_complaint_form"})
# Answer 200 for any token: the page or `status` says what it is.
NO_404 = frozenset({"verify_token", "read_verify_page", "read_compact_verify_page",
                    "read_complaint_form", "submit_complaint_form"})
_MENTION = re.compile(r"(?:\b([45]\d\d)\s+)?`([a-z][a-z0-9_]*)`")


def operation_id(route: APIRoute) -> str:
    """The operation id is the endpoint's name, `verb_noun`: `create_agency_route` → `create_agency`."""
    return route.name.removesuffix("_route")


def _calls(dependant: Dependant) -> list[Callable[..., Any]]:
    found = []
    for dep in dependant.dependencies:
        if dep.call is not None:
            found.append(dep.call)
        found.extend(_calls(dep))
    return found


def _answers(route: RouteContext, op: dict[str, Any], path: str) -> dict[str, list[str]]:
    """status → the codes this operation may answer with it."""
    catalogue = by_code()
    found: dict[str, list[str]] = {}

    def add(code: str, status: int | None = None) -> None:
        entry = catalogue[code]  # a KeyError here: a listed code that nothing raises any more
        for s in [status] if status in entry.statuses else entry.statuses:
            codes = found.setdefault(str(s), [])
            if code not in codes:
                codes.append(code)

    name = op["operationId"]
    calls = _calls(route.dependant)
    names = {getattr(c, "__qualname__", "") for c in calls}
    media = op.get("requestBody", {}).get("content", {})
    if {"application/x-www-form-urlencoded", "multipart/form-data"} & set(media):
        add("bad_request")
    if op.get("security"):
        add("unauthenticated")
        add("invalid_token")
    if "require_role.<locals>.guard" in names:
        add("role_not_allowed")
    for status, code in _MENTION.findall(op.get("description", "")):
        if code in catalogue:
            add(code, int(status) if status else None)
    for listed in ANSWERS.get(name, ()):
        status, _, code = listed.rpartition(":")
        add(code, int(status) if status else None)
    if "{" in path and name not in NO_404 and "404" not in found:
        add("not_found")
    upload_code = getattr(route.original_route, "upload_code", None)
    if isinstance(upload_code, str):
        add(upload_code, 413)
    if op.get("parameters") or op.get("requestBody"):
        add("validation_error")
    if "rate_limited.<locals>.check" in names or name in RATE_LIMIT_IN_BODY:
        add("rate_limited")
    if hold_db_slot in calls or name in SLOT_IN_BODY:
        add("service_busy")
        add("database_unavailable")
    return found


def _example(entry: ErrorCode, status: int) -> dict[str, Any]:
    value: dict[str, Any] = {
        "type": f"https://auxduty.example/problems/{entry.code}", "title": entry.code.replace("_", " "),
        "status": status, "detail": entry.detail_zh, "code": entry.code,
    }
    if entry.articles:
        value["article"] = "、".join(entry.articles) if entry.code == "ineligible" else entry.articles[0]
    if entry.code == "validation_error":
        value["errors"] = [{"field": "started_at", "message": "Field required", "type": "missing"}]
    return value


def _problem(status: str, codes: list[str], described: str | None) -> dict[str, Any]:
    catalogue = by_code()
    text = described if described not in (None, "Validation Error") else _STATUS_TEXT.get(status, "refused")
    response: dict[str, Any] = {
        "description": f"{text}: " + ", ".join(f"`{c}`" for c in codes),
        "content": {"application/problem+json": {
            "schema": {"$ref": "#/components/schemas/Problem"},
            "examples": {c: {"summary": catalogue[c].detail_en, "value": _example(catalogue[c], int(status))}
                         for c in codes},
        }},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def _type_bodies(response: dict[str, Any]) -> None:
    """Bytes are binary strings and text is a string, and a binary answer is not also JSON."""
    content = response.get("content", {})
    for media, entry in content.items():
        if entry.get("schema"):
            continue
        if media.startswith(("image/", "application/octet-stream", "application/pdf")) and media != "image/svg+xml":
            entry["schema"] = dict(_BINARY)
        elif media.startswith("text/") or media == "image/svg+xml":
            entry["schema"] = {"type": "string"}
    if len(content) > 1 and content.get("application/json") == {"schema": {}}:
        del content["application/json"]


def _catalogue(spec: dict[str, Any]) -> None:
    codes = error_codes()
    spec["info"]["x-error-codes"] = [
        {"code": e.code, "statuses": list(e.statuses), **({"articles": list(e.articles)} if e.articles else {}),
         "detail_zh": e.detail_zh, "detail_en": e.detail_en}
        for e in codes
    ]
    rows = "\n".join(f"| `{e.code}` | {', '.join(map(str, e.statuses))} | {'、'.join(e.articles)} | {e.detail_en} |"
                     for e in codes)
    spec["info"]["description"] = (
        spec["info"].get("description", "") + "\n## Error codes\n\nEvery `code` a problem can carry, the "
        "statuses it comes with and the article it cites (`…` is filled in at run time):\n\n"
        "| code | status | article | meaning |\n| --- | --- | --- | --- |\n" + rows + "\n"
    )
    spec["components"]["schemas"]["ErrorCode"] = {
        "title": "ErrorCode", "type": "string", "enum": [e.code for e in codes],
        "description": "The stable `code` of a problem; see the table in the description for status and article.",
    }


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, description=app.description,
                           routes=app.routes, tags=app.openapi_tags)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Problem"] = PROBLEM_SCHEMA
        _catalogue(spec)
        routes = {r.unique_id: r for r in iter_route_contexts(app.routes) if isinstance(r.original_route, APIRoute)}
        for path, operations in spec["paths"].items():
            for op in operations.values():
                op["tags"] = list(dict.fromkeys(op.get("tags", [])))
                responses = op.setdefault("responses", {})
                for status, response in responses.items():
                    if status.startswith("2"):
                        _type_bodies(response)
                if "content" not in responses.get("200", {"content": None}) and "201" in responses:
                    # The same record sent again: 200 with the stored record, shaped as the 201.
                    responses["200"]["content"] = responses["201"].get("content", {})
                answers = _answers(routes[op["operationId"]], op, path)
                for status in [s for s in responses if s[0] in "45" and s not in answers]:
                    del responses[status]  # FastAPI's 422 of an operation without parameters
                for status, codes in sorted(answers.items()):
                    responses[status] = _problem(status, codes, responses.get(status, {}).get("description"))
                op["responses"] = dict(sorted(responses.items()))
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
