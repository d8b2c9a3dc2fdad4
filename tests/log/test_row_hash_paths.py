"""The incremental check hashes logged rows read as column tuples (``values_hash``), the writers hash the ORM
objects they hold (``row_hash``): both must give one hash for one row, of every logged table, or the check
would see every record as altered (or, worse, miss a change the other form sees). Both write the canonical JSON
a column at a time; it must be, byte for byte, ``canonical`` of the row's plain values, as every logged row was
hashed before."""

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from api.demo import load_demo
from api.domain.audit.log import (
    LOGGED,
    _plain,
    canonical,
    hashed_columns,
    keyed_values_hold,
    keyed_values_match,
    row_hash,
    values_hash,
    values_hashes,
)
from api.domain.base import Base
from api.domain.models import (
    Auxiliary,
    CaseNotice,
    Complaint,
    ComplaintPhoto,
    Cosignature,
    Evidence,
    Officer,
    Task,
    TaskReassignment,
    TaskStatus,
    User,
)
from tests.conftest import TEST_LEAF_KEY


def _the_demos_missing_kinds(db: Session) -> None:
    """A row of each logged table the demo leaves empty (their columns, not their rules, are what is tested)."""
    task = db.scalars(select(Task).where(Task.officer_id.is_not(None))).first()
    officer = db.scalars(select(Officer)).first()
    complaint, user = db.scalars(select(Complaint)).first(), db.scalars(select(User)).first()
    assert task and task.officer_id and officer and complaint and user
    db.add_all([
        Evidence(task_id=task.id, sha256="a" * 64, bytes=2048, content_type="image/jpeg", filename="现场.jpg",
                 uploaded_by=user.id),
        TaskReassignment(task_id=task.id, from_officer_id=task.officer_id, to_officer_id=officer.id,
                         actor_id=user.id, reason=None),
        CaseNotice(complaint_id=complaint.id, agency_id=complaint.agency_id, category="attitude",
                   action="warning", text="通报", published_by=user.id),
        ComplaintPhoto(complaint_id=complaint.id, sha256="b" * 64, bytes=4096, content_type="image/jpeg",
                       width=640, height=480),
    ])
    db.flush()


def test_a_row_read_as_columns_hashes_as_the_orm_object_of_every_logged_table(client: TestClient,
                                                                              db: Session) -> None:
    load_demo(client.app.state.ctx, quiet=True)  # type: ignore[attr-defined]
    _the_demos_missing_kinds(db)
    seen = set()
    for entity, model in LOGGED.items():
        key = inspect(model).primary_key[0]
        objects = {str(inspect(o).identity[0]): o for o in db.scalars(  # type: ignore[index]
            select(model).order_by(key).limit(200).execution_options(populate_existing=True))}
        columns = hashed_columns(model)
        name = next(n for n, c in columns if c is key)
        for values in db.execute(select(*(c.label(n) for n, c in columns)).order_by(key).limit(200)).mappings():
            row = objects[str(values[name])]
            assert values_hash(model, values) == row_hash(row) == _as_first_hashed(model, values), (
                entity, values[name])
            assert keyed_values_match(model, values, TEST_LEAF_KEY) == keyed_values_hold(row, TEST_LEAF_KEY)
            seen.add(entity)
        rows = list(db.execute(select(*(c.label(n) for n, c in columns)).order_by(key).limit(200)).mappings())
        assert values_hashes(model, rows) == [values_hash(model, values) for values in rows], entity
    assert seen == set(LOGGED), set(LOGGED) - seen


def test_a_batch_hashes_each_row_as_alone_whichever_values_its_rows_share() -> None:
    """``values_hashes`` writes a value all rows share once: a late column empty in some rows only, a keyed
    column whose digest some rows hold, and every row sharing every value must all hash as ``values_hash``."""
    shared_id, at = uuid.uuid4(), datetime(2026, 11, 26, 3, 31, 2, 5, tzinfo=UTC)
    tasks = [{key: None for key, _ in hashed_columns(Task)} | {
        "id": uuid.uuid4(), "auxiliary_id": shared_id, "description": AWKWARD_TEXT[n % 4], "lat": 32.0,
        "started_at": at, "recorded_before_suspension": None if n % 2 else False, "version": 1} for n in range(6)]
    for batch in (tasks, tasks[1::2], [tasks[0]] * 3, tasks[:1], []):
        assert values_hashes(Task, batch) == [values_hash(Task, t) for t in batch]
    phone: dict[str, Any] = {key: None for key, _ in hashed_columns(Complaint)} | {"contact_phone": "13800000000"}
    for digests in ((None, "ab" * 32), ("ab" * 32, "ab" * 32), (None, None)):
        batch = [phone | {"contact_phone_digest": digest} for digest in digests]
        assert values_hashes(Complaint, batch) == [values_hash(Complaint, c) for c in batch]


def _as_first_hashed(model: type[Base], values: Mapping[Any, Any]) -> str:
    """The row hash as it was first written: a dict of the columns' plain values, dumped by ``canonical``."""
    late, keyed = getattr(model, "__audit_late__", ()), getattr(model, "__audit_keyed__", {})
    content = {key: _plain(values[key], column) for key, column in hashed_columns(model)
               if not (values[key] is None and key in late)
               and not (key in keyed and values[keyed[key]] is not None)}
    return hashlib.sha256(canonical(content)).hexdigest()


AWKWARD_TEXT = ['', 'quote " backslash \\ slash / tab \t newline \n nul \x00 bell \x07 del \x7f',
                'line-sep \u2028 para-sep \u2029 emoji 😀 新街口 \ufeff', "宁政发〔2021〕12号/2026.1"]
AWKWARD_FLOATS = [0.0, -0.0, 32.041, 118.78100000000001, 1e-7, 1.5e16, 1e22, 123456789012345678.0, 5e-324, -1.0]


def test_awkward_values_hash_as_canonical_json_of_them() -> None:
    at = datetime(2026, 11, 26, 11, 31, 2, 5, tzinfo=timezone(timedelta(hours=8)))
    for n, text in enumerate(AWKWARD_TEXT):
        for number in [*AWKWARD_FLOATS, 32, -7, 10**20, True]:  # ints and a bool in float columns too
            task = {key: None for key, _ in hashed_columns(Task)} | {
                "id": uuid.uuid4(), "description": text, "category": text, "lat": number, "lon": -number,
                "started_at": at, "ended_at": at.astimezone(UTC), "in_zone": n % 2 == 0, "version": n,
                "recorded_before_suspension": None if n % 2 else False, "created_at": at}
            assert values_hash(Task, task) == _as_first_hashed(Task, task), (text, number)
            cosignature = {key: None for key, _ in hashed_columns(Cosignature)} | {
                "note": text, "distance_m": number, "seconds_after_task": n, "far_from_task": True}
            assert values_hash(Cosignature, cosignature) == _as_first_hashed(Cosignature, cosignature)
    # A StrEnum status, bytes (hashed as their SHA-256), a date, a keyed column with and without its digest.
    odd = {key: None for key, _ in hashed_columns(Task)} | {"status": TaskStatus.PENDING_COSIGN,
                                                            "description": b"\x00\xff", "lat": 1.0}
    assert values_hash(Task, odd) == _as_first_hashed(Task, odd)
    hired = {key: None for key, _ in hashed_columns(Auxiliary)} | {"hired_on": date(2026, 1, 2), "name": "李"}
    assert values_hash(Auxiliary, hired) == _as_first_hashed(Auxiliary, hired)
    phone = {key: None for key, _ in hashed_columns(Complaint)} | {"contact_phone": "13800000000"}
    for digest in (None, "ab" * 32):
        assert values_hash(Complaint, phone | {"contact_phone_digest": digest}) == _as_first_hashed(
            Complaint, phone | {"contact_phone_digest": digest})
