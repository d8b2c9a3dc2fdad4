"""The log keeper's integration (api/log_keeper.py ``integrate_now``): on SQLite, where a transaction holds the
one writer's turn, a few leaves per transaction, so writers queued behind it wait for a batch, not for a
second's leaves; on PostgreSQL, one transaction. Every leaf is integrated either way and the log verifies."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api import log_keeper
from api.domain.audit import log as audit
from api.domain.audit.check import verify_log
from api.domain.audit.tree import integrate, tree_size
from tests.factories import make_agency


def test_waiting_leaves_are_integrated_a_few_per_transaction_on_sqlite(
    client: TestClient, db: Session, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    agency = make_agency(db)
    log_keeper.integrate_now(ctx)  # whatever the fixtures left waiting
    before = tree_size(db)
    audit.record_many(db, [agency] * 10, "agency.noted", actor_id=None)
    db.flush()
    calls: list[tuple[int, int]] = []

    def counted(session: Session, *, batch: int) -> Any:
        done = integrate(session, batch=batch)
        assert done is not None
        calls.append((batch, done.added))
        return done

    monkeypatch.setattr(log_keeper, "SQLITE_BATCH", 4)
    monkeypatch.setattr(log_keeper, "integrate", counted)
    assert log_keeper.integrate_now(ctx) == before + 10
    assert tree_size(db) == before + 10
    if backend == "sqlite":
        assert calls == [(4, 4), (4, 4), (4, 2)]  # three transactions
    else:
        assert calls == []  # one transaction of up to tree.BATCH (integrate_all)
    assert verify_log(db).ok
