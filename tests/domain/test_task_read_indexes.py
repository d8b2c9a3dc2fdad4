"""The reads of tasks that must stay fast at a city's scale (bench/scale.py) use the indexes made for them
(migration 0015), whatever the planner would pick on a test's few rows: PostgreSQL only.

The plans are those of the statements the service's own code sends. Sequential scans and sorts are priced
out for the test (``SET LOCAL``), so the planner picks among indexes as it does on millions of rows: each
assertion fails if its index is missing, since what is left is another index with a filter or a sort."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, insert, text
from sqlalchemy.orm import Session

from api.domain.fieldwork.tasks import tasks_query
from api.domain.models import Agency, Auxiliary, Officer, Task, TaskStatus, User
from api.domain.oversight.reports import metrics
from api.domain.oversight.roster import roster
from api.domain.pagination import paginate
from bench.plans import caught, explain
from tests.factories import make_agency, make_auxiliary, make_officer

pytestmark = pytest.mark.usefixtures("postgresql_only")


@pytest.fixture
def postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("query plans are PostgreSQL's")


def _tasks(db: Session, aux: Auxiliary, officer: Officer, recorder: User, count: int) -> None:
    """``count`` tasks, one in a hundred waiting for the officer: as in a city, the waiting ones are few, so
    reading them from an index of all tasks costs more than from the partial one, even with the dead entries
    that earlier tests' rolled-back rows leave in the test database's indexes (thousands checked)."""
    start = datetime(2026, 3, 2, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        pending = i % 100 == 0
        rows.append({"id": uuid.uuid4(), "auxiliary_id": aux.id, "agency_id": aux.agency_id,
                     "command_agency_id": aux.commanding_agency_id, "category": "patrol",
                     "mode": "assisted" if pending else "independent",
                     "status": TaskStatus.PENDING_COSIGN if pending else TaskStatus.RECORDED,
                     "description": "巡查", "started_at": start + timedelta(hours=i), "lat": 32.04, "lon": 118.78,
                     "officer_id": officer.id if pending else None, "recorded_by": recorder.id,
                     "content_hash": "0" * 64})
    db.execute(insert(Task), rows)


def _plans(db: Session, connection: Connection, read: Callable[[], object]) -> list[str]:
    db.execute(text("ANALYZE tasks"))
    db.execute(text("SET LOCAL enable_seqscan = off"))
    db.execute(text("SET LOCAL enable_sort = off"))
    with caught(connection, table="tasks") as statements:
        read()
    assert statements, "the read sent no query of tasks"
    return [explain(connection, statement, parameters) for statement, parameters in statements]


@pytest.fixture
def city(db: Session) -> tuple[Agency, User, Officer]:
    agency = make_agency(db)
    user, aux = make_auxiliary(db, agency)
    officer_user, officer = make_officer(db, agency)
    _tasks(db, aux, officer, user, 20_000)
    return agency, officer_user, officer


def test_an_agencys_usage_of_a_year_is_read_from_its_index_alone(
        db: Session, connection: Connection, city: tuple[Agency, User, Officer]) -> None:
    agency, _, _ = city
    plans = _plans(db, connection, lambda: roster(db, agency=agency, year=2026))
    assert len(plans) == 2 and all("ix_tasks_agency_id_started_at" in p for p in plans), "\n\n".join(plans)


def test_the_citys_figures_read_tasks_from_the_two_indexes(
        db: Session, connection: Connection, city: tuple[Agency, User, Officer]) -> None:
    agency, _, _ = city
    recent, backlog = _plans(db, connection, lambda: metrics(db, agencies=[agency], include_unassigned=True))
    assert "ix_tasks_agency_id_started_at" in recent, recent
    assert "ix_tasks_pending_cosign" in backlog, backlog


def test_an_officers_pending_list_is_read_newest_first_from_the_pending_index(
        db: Session, connection: Connection, city: tuple[Agency, User, Officer]) -> None:
    _, officer_user, _ = city

    def page() -> object:
        stmt = tasks_query(db, officer_user, status=TaskStatus.PENDING_COSIGN, category=None, since=None)
        return paginate(db, stmt, created=Task.created_at, key=Task.id, limit=50, cursor=None)

    (plan,) = _plans(db, connection, page)
    assert "ix_tasks_pending_cosign" in plan and "Sort" not in plan, plan
