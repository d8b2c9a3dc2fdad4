"""The OpenAPI document is one a client can live with: `verb_noun` operation ids, declared tags, typed binary
answers, every status an operation can answer with an example of its own, and a catalogue of every error
code, read from the source, that a new code cannot slip past. The docs pages load nothing from elsewhere."""

import ast
import importlib
import re
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.capacity import ServiceBusy
from api.domain.errors import DomainError
from api.error_codes import PACKAGES, by_code, unresolved
from api.main import create_app
from api.uploads import UploadTooLarge
from tests.conftest import make_settings
from verification.photo import PhotoRejected

ROOT = Path(__file__).resolve().parents[2]
VERB_NOUN = re.compile(r"^[a-z]+(_[a-z0-9]+)+$")
# Operations that never open a database session (readyz asks the database on a connection of its own).
NO_DATABASE = {"read_jwks", "read_complaint_form", "read_log_key", "read_log_keys", "read_health", "read_readiness"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    application = create_app(make_settings(tmp_path_factory.mktemp("openapi")), migrate=False)
    yield application
    application.state.ctx.engine.dispose()


@pytest.fixture(scope="module")
def spec(app: FastAPI) -> dict[str, Any]:
    document: dict[str, Any] = TestClient(app).get("/openapi.json").json()
    return document


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield method.upper(), path, op


def _op(spec: dict[str, Any], operation_id: str) -> dict[str, Any]:
    return next(op for _, _, op in _operations(spec) if op["operationId"] == operation_id)


def _codes(op: dict[str, Any], status: str) -> list[str]:
    return list(op["responses"][status]["content"]["application/problem+json"]["examples"])


def test_operation_ids_are_unique_verb_noun(spec: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in _operations(spec)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert [i for i in ids if not VERB_NOUN.match(i)] == []
    assert {"issue_token", "create_agency", "list_tasks", "verify_token", "cosign_task"} <= set(ids)


def test_every_tag_used_is_declared_with_a_description(spec: dict[str, Any]) -> None:
    declared = {t["name"]: t.get("description") for t in spec["tags"]}
    for method, path, op in _operations(spec):
        assert len(op["tags"]) == len(set(op["tags"])), f"{method} {path}"
        for tag in op["tags"]:
            assert declared.get(tag), f"{method} {path}: tag {tag!r} is not declared with a description"


@pytest.mark.parametrize(("operation_id", "media_types"), [
    ("read_badge_card", {"image/png"}),
    ("read_badge_pdf", {"application/pdf"}),
    ("read_photo", {"image/jpeg", "image/png"}),
    ("read_public_photo", {"image/jpeg", "image/png"}),
    ("download_evidence", {"application/octet-stream"}),
])
def test_binary_answers_are_binary_strings(spec: dict[str, Any], operation_id: str, media_types: set[str]) -> None:
    content = _op(spec, operation_id)["responses"]["200"]["content"]
    assert set(content) == media_types
    assert all(c["schema"] == {"type": "string", "format": "binary"} for c in content.values())


def test_text_answers_are_strings(spec: dict[str, Any]) -> None:
    assert _op(spec, "read_metrics_chart")["responses"]["200"]["content"] == {
        "image/svg+xml": {"schema": {"type": "string"}}}
    roster = _op(spec, "read_roster")["responses"]["200"]["content"]
    assert roster["text/csv"]["schema"] == {"type": "string"} and "application/json" in roster


def test_every_error_answer_has_problem_examples_of_its_own_status(spec: dict[str, Any]) -> None:
    catalogue = by_code()
    assert "example" not in spec["components"]["schemas"]["Problem"]
    for method, path, op in _operations(spec):
        for status, response in op["responses"].items():
            if status[0] not in "45":
                continue
            where = f"{method} {path} {status}"
            examples = response["content"]["application/problem+json"]["examples"]
            assert examples, where
            for code, example in examples.items():
                value = example["value"]
                assert value["code"] == code and value["status"] == int(status), where
                assert int(status) in catalogue[code].statuses, f"{where}: {code}"
                assert value["type"].endswith(f"/{code}") and value["detail"], where


def test_the_statuses_a_client_meets_are_documented(spec: dict[str, Any]) -> None:
    assert "invalid_credentials" in _codes(_op(spec, "issue_token"), "401")
    assert {"invalid_refresh_token", "refresh_token_reused"} <= set(_codes(_op(spec, "refresh_token"), "401"))
    assert "not_found" in _codes(_op(spec, "create_user"), "404")  # an unknown agency
    assert "not_found" in _codes(_op(spec, "hire_auxiliary"), "404")
    assert "headcount_quota_full" in _codes(_op(spec, "hire_auxiliary"), "409")
    assert "training_required" in _codes(_op(spec, "issue_credential"), "409")
    assert "id_conflict" in _codes(_op(spec, "create_task"), "409")
    assert "invalid_transition" in _codes(_op(spec, "transition_agency_complaint"), "409")
    # One set of photo refusals: the ID photo and a citizen's badge photo answer the same codes.
    for status in ("413", "415"):
        assert _codes(_op(spec, "upload_photo"), status) == _codes(_op(spec, "verify_image"), status)
    assert {"image_unreadable", "image_too_many_pixels"} <= set(_codes(_op(spec, "upload_photo"), "422"))
    assert _codes(_op(spec, "upload_evidence"), "413") == ["evidence_too_large"]
    assert "unsupported_image_type" in _codes(_op(spec, "verify_image"), "415")
    for method, path, op in _operations(spec):
        where = f"{method} {path}"
        forms = {"application/x-www-form-urlencoded", "multipart/form-data"}
        if forms & set(op.get("requestBody", {}).get("content", {})):
            assert "bad_request" in _codes(op, "400"), where
        if op.get("security"):
            assert "unauthenticated" in _codes(op, "401"), where
        if op["operationId"] not in NO_DATABASE:
            assert "service_busy" in _codes(op, "503"), where
            assert "Retry-After" in op["responses"]["503"]["headers"], where


def test_every_code_is_catalogued_with_status_and_article(spec: dict[str, Any]) -> None:
    info = spec["info"]
    listed = {e["code"]: e for e in info["x-error-codes"]}
    assert listed.keys() == by_code().keys()
    assert spec["components"]["schemas"]["ErrorCode"]["enum"] == sorted(listed)
    assert listed["officer_required"]["statuses"] == [422] and listed["officer_required"]["articles"] == ["第八条"]
    assert listed["headcount_quota_full"]["statuses"] == [409]
    assert listed["service_busy"]["statuses"] == [503] and listed["rate_limited"]["statuses"] == [429]
    assert listed["image_too_large"]["statuses"] == [413]
    assert set(listed["ineligible"]["articles"]) == {"第十三条", "第十四条"}
    for code in listed:
        assert f"| `{code}` |" in info["description"], code


def test_every_code_is_answered_by_some_operation(spec: dict[str, Any]) -> None:
    answered = {code for _, _, op in _operations(spec) for status, r in op["responses"].items()
                if status[0] in "45" for code in r["content"]["application/problem+json"]["examples"]}
    # Answered by the router itself, or by nothing that raises them today, for any operation.
    generic = {"method_not_allowed", "forbidden", "payload_too_large", "unsupported_media_type"}
    assert set(by_code()) - answered - generic == set()


def test_the_catalogue_reads_every_refusal_in_the_source() -> None:
    assert unresolved() == []


def _refusal_classes(module: object) -> dict[str, type]:
    roots = (DomainError, PhotoRejected, UploadTooLarge)
    return {name: value for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, roots)}


def test_a_code_raised_anywhere_is_in_the_catalogue() -> None:
    """Independent of the catalogue's own reading: every snake_case string among the first two arguments of a
    call of any refusal class (found by the class hierarchy at run time) must be a catalogued code."""
    catalogue = by_code()
    missing = []
    for package in PACKAGES:
        root = Path(importlib.import_module(package).__file__ or "").parent
        for file in root.rglob("*.py"):
            module_name = ".".join((package, *file.relative_to(root).with_suffix("").parts)).removesuffix(
                ".__init__")
            classes = _refusal_classes(importlib.import_module(module_name))
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in classes):
                    continue
                for arg in node.args[:2]:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) \
                            and VERB_NOUN.match(arg.value) and arg.value not in catalogue:
                        missing.append(f"{module_name}:{node.lineno} {arg.value}")
    assert missing == []
    assert catalogue["service_busy"].statuses == (ServiceBusy.status,)


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if (tag, name) in {("script", "src"), ("link", "href"), ("img", "src"), ("redoc", "spec-url")} and value:
                self.urls.append(value)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_same_origin_files(app: FastAPI, page: str) -> None:
    client = TestClient(app)
    r = client.get(page)
    assert r.status_code == 200
    assets = _Assets()
    assets.feed(r.text)
    assert len(assets.urls) >= 2, assets.urls
    for url in assets.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        assert client.get(url).status_code == 200, url
    found = re.findall(r"https?://[^\s'\"<>]+", r.text)
    assert found == [], found
    for url in re.findall(r"url: '([^']+)'", r.text):  # Swagger UI's document, set in its script
        assert client.get(url).status_code == 200, url


def test_the_vendored_docs_files_ship_in_the_package() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    static = ROOT / "api" / "static" / "docs"
    files = [p.relative_to(ROOT / "api").as_posix() for p in static.rglob("*") if p.is_file()]
    assert {"static/docs/swagger-ui/swagger-ui-bundle.js", "static/docs/swagger-ui/swagger-ui.css",
            "static/docs/redoc/redoc.standalone.js", "static/docs/swagger-ui/LICENSE",
            "static/docs/redoc/LICENSE"} <= set(files)
    assert [f for f in files if not any(fnmatch(f, p) for p in package_data["api"])] == []
