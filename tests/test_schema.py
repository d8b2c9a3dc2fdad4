"""The migrations are the schema: they match the models, and the app describes itself in OpenAPI."""

import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from api.domain.base import Base
from tests.problems import assert_problem

CONTRACT_PATHS = {
    "/api/auth/token", "/api/auth/refresh", "/api/me", "/api/agencies", "/api/users", "/api/auxiliaries",
    "/api/auxiliaries/{id}", "/api/auxiliaries/{id}/trainings", "/api/auxiliaries/{id}/credential",
    "/api/auxiliaries/{id}/suspend", "/api/auxiliaries/{id}/reinstate", "/api/auxiliaries/{id}/departure",
    "/api/auxiliaries/{id}/secondment", "/api/shifts/check-in", "/api/shifts/check-out", "/api/tasks",
    "/api/tasks/{id}/cosign", "/api/tasks/{id}/corrections", "/api/tasks/{id}/evidence", "/api/sync",
    "/v/{token}", "/api/public/verify/{token}", "/api/public/badges/{badge_no}", "/.well-known/jwks.json",
    "/api/article19-cases", "/api/audit/verify", "/api/public/verify-image", "/api/public/complaints",
    "/api/public/complaints/{tracking_no}", "/api/public/notices", "/api/complaints",
    "/api/complaints/{id}/transitions", "/api/reports/roster", "/api/reports/metrics",
    "/api/auxiliaries/{id}/photo", "/api/auxiliaries/{id}/badge.png",
}


def test_migrated_schema_matches_the_models(connection: Connection) -> None:
    ctx = MigrationContext.configure(connection, opts={"compare_type": True})
    assert compare_metadata(ctx, Base.metadata) == []


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_openapi_describes_the_contract(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    missing = {_shape(p) for p in CONTRACT_PATHS} - {_shape(p) for p in spec["paths"]}
    assert not missing, missing


def test_unknown_route_is_problem_json(client: TestClient) -> None:
    r = client.get("/api/nowhere", headers={"Accept-Language": "en"})
    assert assert_problem(r, 404, "not_found")["detail"] == "not found"


def test_openapi_documents_every_operation_with_examples_and_problem_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in str(spec)

    def example_of(schema: dict[str, object]) -> object:
        ref = schema.get("$ref")
        target = schemas[str(ref).split("/")[-1]] if ref else schema
        return target.get("example") or target.get("examples")

    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            assert op.get("description"), f"{where} has no description"
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                assert example_of(body["schema"]), f"{where}: request body without an example"
            for code, response in op["responses"].items():
                if code.startswith("4") and "content" in response:
                    assert "application/problem+json" in response["content"], f"{where} {code}"
