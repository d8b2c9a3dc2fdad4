"""Columns added to logged tables after rows were logged (``__audit_late__``): a row logged before them hashes
as it did, so the oversight check stays ok across the migration; a value written into one later is seen."""

import uuid
from datetime import UTC, datetime

from api.domain.audit.log import row_hash
from api.domain.models import Cosignature, ShiftEvent, Task

AT = datetime(2026, 11, 26, 0, 58, tzinfo=UTC)
# The hashes these rows had before 0009 added columns to their tables (computed with the code of then).
BEFORE_0007F = {
    "shift_events": "936d72f665e7f19233689222f6e2b3a87e68153c369bd0da1b9bcc8dd4a9cbde",
    "tasks": "6a2f80454c42d327af40d79ba719096f2fab9369ae635c2424a2d5d9d2af48cd",
    "cosignatures": "2464359c1534b3e9672745acee24ff81be29df16b7bbd2b3ec6bbc95679f5895",
}


def _event() -> ShiftEvent:
    return ShiftEvent(id=uuid.UUID(int=1), auxiliary_id=uuid.UUID(int=2), kind="check_in", at=AT, lat=32.04,
                      lon=118.781, accuracy_m=10.0, in_zone=True, content_hash="a" * 64, created_at=AT)


def _task() -> Task:
    return Task(id=uuid.UUID(int=3), auxiliary_id=uuid.UUID(int=2), agency_id=uuid.UUID(int=4),
                command_agency_id=uuid.UUID(int=4), category="inspection", mode="assisted", status="cosigned",
                description="检查", started_at=AT, ended_at=None, lat=32.04, lon=118.781, in_zone=None,
                officer_id=uuid.UUID(int=5), assignment_ref=None, legal_basis=None, corrects_id=None, version=1,
                recorded_by=uuid.UUID(int=6), content_hash="b" * 64, rules_version="宁政发〔2021〕12号/2026.1",
                created_at=AT)


def _cosignature() -> Cosignature:
    return Cosignature(id=uuid.UUID(int=7), task_id=uuid.UUID(int=3), officer_id=uuid.UUID(int=5),
                       decision="approve", note=None, lat=32.0406, lon=118.7813, created_at=AT)


def test_rows_logged_before_the_new_columns_hash_as_they_did() -> None:
    assert row_hash(_event()) == BEFORE_0007F["shift_events"]
    assert row_hash(_task()) == BEFORE_0007F["tasks"]
    assert row_hash(_cosignature()) == BEFORE_0007F["cosignatures"]


def test_a_value_written_into_a_new_column_changes_the_hash() -> None:
    event, task, cosignature = _event(), _task(), _cosignature()
    event.check_in_id = uuid.UUID(int=9)
    task.recorded_before_suspension = False
    cosignature.far_from_task = True
    assert row_hash(event) != BEFORE_0007F["shift_events"]
    assert row_hash(task) != BEFORE_0007F["tasks"]
    assert row_hash(cosignature) != BEFORE_0007F["cosignatures"]


def test_late_columns_are_columns_of_their_table() -> None:
    for late, table in ((ShiftEvent.__audit_late__, ShiftEvent.__table__), (Task.__audit_late__, Task.__table__),
                        (Cosignature.__audit_late__, Cosignature.__table__)):
        assert late and set(late) <= set(table.columns.keys()), table
