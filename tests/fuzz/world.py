"""A small populated world to fuzz against, a client that reports server errors as statuses, and the
checks every answer must pass.

Each request runs inside a savepoint that is rolled back afterwards, so every hostile request meets the
same world (a request that happened to succeed cannot starve the ones after it), and a refused write can
be compared against that one baseline.
"""

import io
import json
import sys
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import segno
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from httpx2 import Response
from PIL import Image
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from api.db import leaf_info
from api.domain.audit.checkpoints import make_checkpoint, publish
from api.domain.audit.tree import integrate_all
from api.domain.models import AuxiliaryStatus, Complaint, Role
from api.security import encode_access
from schemas.auxiliaries import TrainingCreate
from tests.conftest import Backends, app_on, make_settings
from tests.factories import (
    PASSWORD,
    make_agency,
    make_auxiliary,
    make_officer,
    make_user,
    shift_payload,
    task_payload,
)
from tests.fuzz.admin_world import build_accounts, build_rectification
from tests.fuzz.payloads import Case
from tests.fuzz.spec import Operation

ROLES = ("justice_admin", "agency_admin", "officer", "auxiliary", "anonymous")
PROBLEM = "application/problem+json"

# Refusals that keep their writes on purpose (api/domain/errors.py: keep_writes), and what they may write.
KEEPS_WRITES = {"forbidden_work": {"article19_cases", "log_pending"}, "refresh_token_reused": {"refresh_tokens"}}
TABLES = (
    "agencies", "users", "refresh_tokens", "officers", "auxiliaries", "trainings", "credentials",
    "dead_badge_scans", "shift_events", "tasks", "cosignatures", "evidence", "article19_cases", "log_pending",
    "log_leaves", "log_nodes", "log_checkpoints",
    "complaints", "complaint_events", "case_notices", "complaint_photos", "task_reassignments",
    "rectification_orders", "rectification_events", "push_subscriptions",
)
# Columns a refused request could change in place without adding a row.
MUTABLE = {
    "agencies": ("id", "headcount_used"),
    "users": ("id", "active"),
    "refresh_tokens": ("id", "used_at", "revoked_at"),
    "auxiliaries": ("id", "status", "status_reason", "command_agency_id", "photo_type", "left_on"),
    "credentials": ("id", "status"),
    "tasks": ("id", "status", "officer_id"),
    "complaints": ("id", "status", "finding", "action", "decided_at"),
    "rectification_orders": ("id", "status", "due_on", "measures", "answered_at", "closed_at"),
    "push_subscriptions": ("id", "user_id", "p256dh", "auth"),
}


def _snapshot_sql() -> str:
    parts = [f"SELECT '{t}' AS t, CAST(count(*) AS TEXT) AS v FROM {t}" for t in TABLES]
    for table, cols in MUTABLE.items():
        row = " || '|' || ".join(f"COALESCE(CAST({c} AS TEXT), '~')" for c in cols)
        parts.append(f"SELECT '{table}' AS t, {row} AS v FROM {table}")
    return " UNION ALL ".join(parts)


SNAPSHOT = text(_snapshot_sql())
Snapshot = dict[str, list[str]]


def snapshot(connection: Connection) -> Snapshot:
    out: Snapshot = {t: [] for t in TABLES}
    for table, value in connection.execute(SNAPSHOT):
        out[table].append(value)
    return {t: sorted(v) for t, v in out.items()}


def png(size: tuple[int, int] = (60, 80)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 180, 160)).save(buf, format="PNG")
    return buf.getvalue()


def qr_png(text_: str) -> bytes:
    buf = io.BytesIO()
    segno.make(text_, error="m").save(buf, kind="png", scale=6, border=4)
    return buf.getvalue()


@dataclass
class World:
    ids: dict[str, str]
    headers: dict[str, dict[str, str]]
    values: dict[str, str] = field(default_factory=dict)
    # Operation id → role → the account that role acts as there, where the role's usual one cannot
    # (a check-out needs an auxiliary whose shift is open; a check-in, one whose shift is not).
    acting_as: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)

    def headers_for(self, op: Operation, role: str) -> dict[str, str]:
        return self.acting_as.get(op.id, {}).get(role) or self.headers[role]


@dataclass(repr=False)
class Fuzzer:
    """Sends cases for one operation and collects every broken promise instead of stopping at the first."""

    client: TestClient
    connection: Connection
    tracebacks: list[str]
    world: World
    baseline: Snapshot
    failures: list[str] = field(default_factory=list)
    sent: int = 0
    acting: dict[str, str] = field(default_factory=dict)

    @property
    def backend(self) -> str:
        return self.connection.dialect.name

    def acting_role(self, op: Operation, base: Case) -> str:
        """The first role whose valid request succeeds: the one whose hostile bodies reach the domain."""
        if op.id not in self.acting:
            role = next((r for r in ROLES if 200 <= self.send(op, base, r).status_code < 300), None)
            assert role is not None, f"no role can perform {op.id} with its base request"
            self.acting[op.id] = role
        return self.acting[op.id]

    def send(self, op: Operation, case: Case, role: str) -> Response:
        merged = {**self.world.headers_for(op, role), **case.headers}
        headers = {k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in merged.items()}
        savepoint = self.connection.begin_nested()
        try:
            self.tracebacks.clear()
            r = self.client.request(case.method or op.method, case.url, content=case.content, headers=headers)
            self.sent += 1
            self._check(op, case, role, r)
        finally:
            savepoint.rollback()
        return r

    def _fail(self, op: Operation, case: Case, role: str, r: Response, why: str) -> None:
        body = (case.content or b"")[:300]
        trace = ("\n" + self.tracebacks[-1]) if self.tracebacks else ""
        self.failures.append(
            f"{why}\n    case {case.label!r} as {role}: {case.method or op.method} {case.url[:300]}\n"
            f"    headers {str(dict(case.headers))[:300]}\n"
            f"    body {body!r}{'…' if len(case.content or b'') > 300 else ''}\n"
            f"    -> {r.status_code} {r.headers.get('content-type')} {r.text[:300]!r}{trace}"
        )

    def _check(self, op: Operation, case: Case, role: str, r: Response) -> None:
        status = r.status_code
        if status >= 500 and str(status) not in op.statuses:
            self._fail(op, case, role, r, f"{status} from client input")
            return
        media = r.headers.get("content-type", "").split(";")[0]
        if 400 <= status < 500:
            body: dict[str, Any] = {}
            if media == "text/html" and op.html:
                pass  # the no-script form shows itself again with what to fix
            elif media != PROBLEM:
                self._fail(op, case, role, r, f"{status} is {media!r}, not problem+json")
                return
            else:
                body = r.json()
                if not isinstance(body.get("code"), str) or body.get("status") != status:
                    self._fail(op, case, role, r, "problem+json without a code or with the wrong status")
                    return
            if (case.method or op.method) not in ("GET", "HEAD"):
                self._check_unchanged(op, case, role, r, body.get("code") if media == PROBLEM else None)
        elif media.endswith("json") and 200 <= status < 300:

            def strict(constant: str) -> Any:
                raise ValueError(f"non-JSON constant {constant}")

            try:
                json.loads(r.content, parse_constant=strict)
            except ValueError as exc:
                self._fail(op, case, role, r, f"{status} body is not strict JSON: {exc}")

    def _check_unchanged(self, op: Operation, case: Case, role: str, r: Response, code: str | None) -> None:
        after = snapshot(self.connection)
        allowed = KEEPS_WRITES.get(code or "", set())
        changed = [t for t in TABLES if t not in allowed and after[t] != self.baseline[t]]
        if changed:
            self._fail(op, case, role, r, f"refused ({code}) but stored data changed in {changed}")

    def assert_clean(self, limit: int = 30) -> None:
        """Fail with every broken promise (the first ``limit`` of them), each with the request that broke it."""
        if not self.failures:
            return
        shown = "\n\n".join(self.failures[:limit])
        more = f"\n\n… and {len(self.failures) - limit} more" if len(self.failures) > limit else ""
        pytest.fail(f"{len(self.failures)} of {self.sent} requests broke the contract:\n\n{shown}{more}",
                    pytrace=False)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_connection(request: pytest.FixtureRequest, backends: Backends) -> Iterator[Connection]:
    """One connection per backend for the whole module, in an outer transaction rolled back at the end:
    the world is built once, and every request runs in a savepoint of its own inside it."""
    engine = backends.engine(request.param)
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


@pytest.fixture(scope="module")
def fuzz_app(
    fuzz_connection: Connection, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, list[str]]]:
    """The app on the module's connection, with rate limits out of the way and server errors observed as
    statuses (with their tracebacks kept for the report) instead of raised into the test."""
    settings = make_settings(data_dir, rate_limit_scale=1e6, log_dir=tmp_path_factory.mktemp("fuzz-log"),
                             login_failures_per_username=10**6, login_failures_per_client=10**6)
    app: FastAPI = app_on(fuzz_connection, settings)
    tracebacks: list[str] = []

    async def keep_traceback(request: Request, exc: Exception) -> PlainTextResponse:
        tracebacks.append("".join(traceback.format_exception(exc)[-6:]))
        return PlainTextResponse("Internal Server Error", status_code=500)

    app.add_exception_handler(Exception, keep_traceback)
    # Each request hops between this thread, the client's event loop and the thread pool several times; a
    # shorter GIL switch interval than the default 5 ms keeps those hand-offs from idling (~10% faster, more
    # on a busy machine).
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, tracebacks
    finally:
        sys.setswitchinterval(interval)


@pytest.fixture(scope="module")
def fuzz_world(fuzz_app: tuple[TestClient, list[str]], fuzz_connection: Connection) -> tuple[World, Snapshot]:
    with Session(bind=fuzz_connection, join_transaction_mode="create_savepoint", expire_on_commit=False,
                 info=leaf_info(fuzz_app[0].app.state.ctx.leaf_key)) as db:  # type: ignore[attr-defined]
        world = build_world(fuzz_app[0], db)
        db.commit()  # releases the session's savepoint: the world stays, inside the outer transaction
    return world, snapshot(fuzz_connection)


@pytest.fixture
def fuzzer(
    fuzz_app: tuple[TestClient, list[str]], fuzz_connection: Connection, fuzz_world: tuple[World, Snapshot]
) -> Fuzzer:
    client, tracebacks = fuzz_app
    world, baseline = fuzz_world
    return Fuzzer(client, fuzz_connection, tracebacks, world, baseline)


def recent(**delta: float) -> str:
    """An instant ``delta`` before now: field work is accepted only for so long after it was done."""
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def _bearer(client: TestClient, user_id: uuid.UUID, role: Role) -> dict[str, str]:
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    token = encode_access(ctx.access_secret, user_id=user_id, role=role, lifetime=timedelta(minutes=15))
    return {"Authorization": f"Bearer {token}"}


def build_world(client: TestClient, db: Session) -> World:
    """Three agencies (municipal → district → street), one account of every role, an active and a
    suspended auxiliary, a recorded and a pending task with evidence, a complaint under investigation with a
    photo."""
    municipal = make_agency(db, level="municipal")
    district = make_agency(db, level="district", parent=municipal)
    street = make_agency(db, level="street", parent=district)
    justice = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=district)
    officer_user, officer = make_officer(db, district)
    aux_user, aux = make_auxiliary(db, district)
    _, suspended = make_auxiliary(db, district, status=AuxiliaryStatus.SUSPENDED)
    on_shift_user, _ = make_auxiliary(db, district)
    _, legacy = make_auxiliary(db, district, legacy=True)  # hired before the id number was asked
    headers = {
        "justice_admin": _bearer(client, justice.id, Role.JUSTICE_ADMIN),
        "agency_admin": _bearer(client, admin.id, Role.AGENCY_ADMIN),
        "officer": _bearer(client, officer_user.id, Role.OFFICER),
        "auxiliary": _bearer(client, aux_user.id, Role.AUXILIARY),
        "anonymous": {},
    }

    def ok(r: Response) -> dict[str, Any]:
        assert r.status_code in (200, 201), r.text
        body: dict[str, Any] = r.json()
        return body

    training = TrainingCreate(kind="pre_job", hours=40, completed_on=datetime(2024, 3, 20).date(), passed=True)
    ok(client.post(f"/api/auxiliaries/{aux.id}/trainings", json=training.model_dump(mode="json"),
                   headers=headers["agency_admin"]))
    credential = ok(client.post(f"/api/auxiliaries/{aux.id}/credential", headers=headers["agency_admin"]))
    ok(client.put(f"/api/auxiliaries/{aux.id}/photo", files={"file": ("p.png", png(), "image/png")},
                  headers=headers["agency_admin"]))
    recorded = ok(client.post("/api/tasks", json=task_payload(), headers=headers["auxiliary"]))
    pending = ok(client.post("/api/tasks", json=task_payload(category="inspection", officer_id=str(officer.id)),
                             headers=headers["auxiliary"]))
    evidence = ok(client.post(f"/api/tasks/{recorded['id']}/evidence",
                              files={"file": ("scene.jpg", b"evidence bytes", "image/jpeg")},
                              headers=headers["auxiliary"]))
    receipt = ok(client.post("/api/public/complaints", json={
        "badge_no": aux.badge_no, "category": "rude_conduct", "description": "劝离摊贩时推搡摊主。",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat()}))
    complaint = db.scalar(select(Complaint).where(Complaint.tracking_no == receipt["tracking_no"]))
    assert complaint is not None
    ok(client.post(f"/api/complaints/{complaint.id}/transitions", json={"to": "investigating"},
                   headers=headers["agency_admin"]))
    photo = ok(client.post(f"/api/public/complaints/{receipt['tracking_no']}/photos",
                           files={"file": ("scene.png", png((40, 30)), "image/png")},
                           headers={"X-Access-Code": receipt["access_code"]}))
    on_shift = _bearer(client, on_shift_user.id, Role.AUXILIARY)
    ok(client.post("/api/shifts/check-in", json=shift_payload(at=recent(hours=3)), headers=on_shift))
    more = build_accounts(client, db, headers, agency=district, officer_user=officer_user, officer=officer)
    more |= build_rectification(client, db, headers)
    login = ok(client.post("/api/auth/token", data={"username": aux_user.username, "password": PASSWORD}))
    log = client.app.state.ctx.log  # type: ignore[attr-defined]
    integrate_all(db)
    publish(log, make_checkpoint(db, log))
    return World(
        ids={"municipal": str(municipal.id), "district": str(district.id), "street": str(street.id),
             "officer": str(officer.id),
             "aux": str(aux.id), "suspended": str(suspended.id), "legacy": str(legacy.id),
             "recorded": recorded["id"],
             "pending": pending["id"], "evidence": evidence["id"], "complaint": str(complaint.id),
             "photo": photo["id"], **more},
        headers=headers,
        values={"token": credential["token"], "badge_no": aux.badge_no, "tracking_no": receipt["tracking_no"],
                "access_code": receipt["access_code"], "refresh_token": login["refresh_token"],
                "aux_username": aux_user.username, "verify_url": credential["verify_url"],
                "code": credential["compact_url"].rsplit("/", 1)[-1]},
        acting_as={"POST /api/shifts/check-out": {"auxiliary": on_shift}},
    )
