"""The OpenAPI document as clients see the service: every error is problem+json, with an example."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details. `code` is stable; `article` names the rule of the Measures "
                   "that refused the request; `detail` is Chinese unless `Accept-Language: en`; `errors` "
                   "lists each bad field of a 422 `validation_error`.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "article": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}, "type": {"type": "string"}}}},
    },
    "example": {
        "type": "https://auxduty.example/problems/officer_required", "title": "officer required",
        "status": 422, "detail": "协助类工作须有执法人员在场指挥并会签", "code": "officer_required",
        "article": "第八条",
    },
}
_COMMON = {
    "401": "missing, expired or invalid access token",
    "403": "not allowed for this caller",
    "404": "absent, or not the caller's to know about",
    "422": "a field is invalid (`validation_error`) or a rule of the Measures refused it (`article`)",
    "429": "rate limit reached; see `Retry-After`",
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


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
        for path, operations in spec["paths"].items():
            public = path.startswith(("/api/public", "/v/", "/.well-known"))
            for op in operations.values():
                responses = op.setdefault("responses", {})
                applies = {
                    "401": bool(op.get("security")), "403": bool(op.get("security")), "404": "{" in path,
                    "422": True, "429": public,
                }
                for code, text in _COMMON.items():
                    existing = responses.get(code, {})
                    if not applies[code] and code not in responses:
                        continue
                    described = existing.get("description")
                    if described in (None, "Validation Error"):
                        described = text
                    if "content" not in existing or "HTTPValidationError" in str(existing):
                        responses[code] = _problem(described)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
