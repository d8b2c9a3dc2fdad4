"""One JSON line per request: its id, method, route template, status, duration and client, and nothing a client
sent as a secret: no badge token, password, phone number, access code or ``Authorization`` header."""

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import observability
from api.main import create_app
from api.observability import configure_logging
from api.settings import Settings
from tests.conftest import make_settings

TOKEN = f"eyJhbGciOiJFZERTQSIsImtpZCI6Ims3In0.{'c2VjcmV0LWJhZGdl' * 4}.{'U0lHTkFUVVJF' * 7}"
PASSWORD = "Hunter2-password-secret"
PHONE = "13912345678"
ACCESS_CODE = "ACCESS-code-7731"
BEARER = "eyJhbGciOiJIUzI1NiJ9.bearer-secret.c2ln"
SECRETS = (TOKEN, "c2VjcmV0LWJhZGdl", PASSWORD, PHONE, ACCESS_CODE, BEARER, "bearer-secret")


@pytest.fixture
def app_settings(data_dir: Path) -> Settings:
    return make_settings(data_dir, log_format="json")


def _lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def _requests(err: str) -> list[dict[str, Any]]:
    return [line for line in _lines(err) if line.get("event") == "request"]


def test_request_lines_carry_the_template_and_none_of_the_secrets(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    client.post("/api/auth/token", data={"username": "nobody", "password": PASSWORD})
    client.post(f"/api/auth/password?password={PASSWORD}", json={"old_password": PASSWORD, "new_password": PASSWORD},
                headers={"Authorization": f"Bearer {BEARER}"})
    client.get("/api/me", headers={"Authorization": f"Bearer {BEARER}"})
    client.get(f"/v/{TOKEN}")
    client.get(f"/api/public/verify/{TOKEN}?access_code={ACCESS_CODE}")
    client.get(f"/v/{TOKEN}/complaint")
    client.post("/api/public/complaints", json={
        "token": TOKEN, "category": "attitude", "description": f"电话 {PHONE}", "contact_phone": PHONE,
        "occurred_at": "2026-11-26T08:00:00+08:00", "access_code": ACCESS_CODE})
    client.get("/api/public/complaints/TS20261126-0001", headers={"X-Access-Code": ACCESS_CODE})
    client.get("/api/public/complaints/TS20261126-0001", headers={"X-Request-ID": TOKEN})
    err = capsys.readouterr().err
    for secret in SECRETS:
        assert secret not in err, secret
    lines = _requests(err)
    routes = [(line["method"], line["route"]) for line in lines]
    assert routes[1] in (("POST", "/api/auth/password"), ("POST", "unmatched"))  # whether or not it is there
    assert routes[:1] + routes[2:] == [
        ("POST", "/api/auth/token"), ("GET", "/api/me"), ("GET", "/v/{token}"), ("GET", "/api/public/verify/{token}"),
        ("GET", "/v/{token}/complaint"), ("POST", "/api/public/complaints"),
        ("GET", "/api/public/complaints/{tracking_no}"), ("GET", "/api/public/complaints/{tracking_no}"),
    ]
    for line in lines:
        assert {"request_id", "method", "route", "status", "duration_ms", "client", "level", "timestamp"} <= set(line)
        assert isinstance(line["status"], int) and line["duration_ms"] >= 0 and line["client"] == "testclient"


def test_a_sane_request_id_is_kept_and_echoed_and_any_other_replaced(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a9c:01"})
    made = client.get("/healthz")
    replaced = [client.get("/healthz", headers={b"X-Request-ID": value}).headers["x-request-id"]
                for value in (b"has space", b"x" * 65, TOKEN.encode(), b"-leading-dash", "été".encode())]
    assert kept.headers["x-request-id"] == "lb-7f3a9c:01"
    assert len(made.headers["x-request-id"]) == 32
    assert all(len(rid) == 32 and rid != TOKEN for rid in replaced)
    ids = [line["request_id"] for line in _requests(capsys.readouterr().err)]
    assert ids == [kept.headers["x-request-id"], made.headers["x-request-id"], *replaced]


def test_every_line_of_the_service_is_json_and_names_a_secret_key_only_as_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json")
    logging.getLogger("auxduty.test").warning("login", extra={"password": PASSWORD, "access_code": ACCESS_CODE})
    logging.getLogger("verification.test").info("photo decoded")
    err = capsys.readouterr().err
    assert PASSWORD not in err and ACCESS_CODE not in err
    first, second = _lines(err)
    assert first["password"] == "[redacted]" and first["level"] == "warning" and first["logger"] == "auxduty.test"
    assert second["event"] == "photo decoded"


def test_console_lines_for_a_person(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("console")
    try:
        logging.getLogger("auxduty.test").info("started", extra={"port": 8000})
        err = capsys.readouterr().err
        assert "started" in err and "port" in err and not err.startswith("{")
    finally:
        configure_logging("json")


def test_uvicorn_access_lines_with_raw_paths_are_dropped() -> None:
    configure_logging("json")
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s"',
                               ("127.0.0.1:5000", "GET", f"/v/{TOKEN}"), None)
    assert logging.getLogger("uvicorn.access").filter(record) is False


def test_a_crash_is_logged_as_a_500_without_its_message(
    app_settings: Settings, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(app_settings, migrate=False)

    async def crash() -> None:
        raise RuntimeError(f"password {PASSWORD}")

    app.add_api_route("/crash/{token}", crash)
    try:
        capsys.readouterr()
        assert TestClient(app, raise_server_exceptions=False).get(f"/crash/{TOKEN}").status_code == 500
        (line,) = _requests(capsys.readouterr().err)
        assert line["route"] == "/crash/{token}" and line["status"] == 500 and line["level"] == "error"
        assert PASSWORD not in json.dumps(line) and TOKEN not in json.dumps(line)
    finally:
        app.state.ctx.engine.dispose()


def test_made_request_ids_differ_and_a_forked_worker_makes_its_own() -> None:
    made = [observability._new_request_id() for _ in range(1000)]
    assert len(set(made)) == 1000 and all(len(rid) == 32 and int(rid, 16) >= 0 for rid in made)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # a worker forked by a process manager
        os.write(write, observability._new_request_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    theirs = os.read(read, 64).decode()
    os.close(read)
    assert len(theirs) == 32 and theirs[:16] != made[0][:16]


def test_a_json_request_line_is_the_line_structlogs_chain_writes(capsys: pytest.CaptureFixture[str]) -> None:
    """Request lines in JSON are written without structlog's chain, for speed: same fields, same redaction."""
    import structlog

    configure_logging("json")
    chain = structlog.wrap_logger(observability._StderrLines(), processors=[
        structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True), observability._redact,
        structlog.processors.JSONRenderer(ensure_ascii=False)]).bind(logger="auxduty.request")
    fields = {"method": "GET", "route": "/v/{token}", "status": 503, "duration_ms": 1.5, "client": "203.0.113.9"}
    tokens = structlog.contextvars.bind_contextvars(request_id="r-1", access_code=ACCESS_CODE, 姓名="张伟")
    try:
        capsys.readouterr()
        observability._request_lines.error("request", **fields)
        chain.error("request", **fields)
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
    fast, slow = _lines(capsys.readouterr().err)
    assert ACCESS_CODE not in json.dumps(fast, ensure_ascii=False) and fast["access_code"] == "[redacted]"
    assert fast.pop("timestamp").endswith("Z") and slow.pop("timestamp").endswith("Z")
    assert fast == slow and fast["level"] == "error" and fast["姓名"] == "张伟"


def test_request_lines_follow_the_loggers_level(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    """Written past the logging module for speed, but ``auxduty.request``'s level still holds (a deployment that
    wants no request lines raises it; ``logging.disable`` silences them too)."""
    logger = logging.getLogger("auxduty.request")
    level = logger.level
    capsys.readouterr()
    try:
        logger.setLevel(logging.WARNING)
        client.get("/healthz")
        client.get("/api/me")  # 401: still below WARNING
        assert _requests(capsys.readouterr().err) == []
        logger.setLevel(logging.INFO)
        client.get("/api/me")
        assert [line["route"] for line in _requests(capsys.readouterr().err)] == ["/api/me"]
        logging.disable(logging.INFO)
        client.get("/api/me")
        assert _requests(capsys.readouterr().err) == []
    finally:
        logging.disable(logging.NOTSET)
        logger.setLevel(level)
