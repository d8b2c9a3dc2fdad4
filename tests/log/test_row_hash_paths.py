"""The incremental check hashes logged rows read as column tuples (``values_hash``), the writers hash the ORM
objects they hold (``row_hash``): both must give one hash for one row, of every logged table, or the check
would see every record as altered (or, worse, miss a change the other form sees)."""

from fastapi.testclient import TestClient
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from api.demo import load_demo
from api.domain.audit.log import LOGGED, hashed_columns, keyed_values_hold, keyed_values_match, row_hash, values_hash
from api.domain.models import CaseNotice, Complaint, ComplaintPhoto, Evidence, Officer, Task, TaskReassignment, User
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
            assert values_hash(model, values) == row_hash(row), (entity, values[name])
            assert keyed_values_match(model, values, TEST_LEAF_KEY) == keyed_values_hold(row, TEST_LEAF_KEY)
            seen.add(entity)
    assert seen == set(LOGGED), set(LOGGED) - seen
