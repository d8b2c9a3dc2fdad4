"""The rows of the incremental check hashed by worker processes, key range by key range, in the snapshot of the
check's transaction: the same multiset hash as one process's, and a row changed anywhere changes it
(PostgreSQL only: the workers read committed rows through the snapshot the check's session exports)."""

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.db import leaf_info
from api.domain.audit import verified
from api.domain.audit.verified import rows_digest
from tests.conftest import TEST_LEAF_KEY, Backends
from tests.factories import make_agency, make_auxiliary


@pytest.fixture
def committed(backends: Backends, backend: str) -> Engine:
    if backend != "postgresql":
        pytest.skip("worker processes hash rows on PostgreSQL only")
    engine = backends.engine("postgresql", purpose="rows")
    with Session(engine, info=leaf_info(TEST_LEAF_KEY)) as s:
        agency = make_agency(s, quota=40)
        for _ in range(30):
            make_auxiliary(s, agency)
        s.commit()
    return engine


def _digests(engine: Engine) -> tuple[tuple[bytes, int], tuple[bytes, int]]:
    with Session(engine, info=leaf_info(TEST_LEAF_KEY)) as s:
        one, two = {"rows": 0}, {"rows": 0}
        return (rows_digest(s, one), one["rows"]), (rows_digest(s, two, workers=2), two["rows"])


def test_workers_hash_the_rows_as_one_process_does_and_see_a_change(
        committed: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verified, "PARALLEL_FROM", 0)  # cut every table into key ranges, however small
    alone, together = _digests(committed)
    assert alone == together and alone[1] == 1 + 30 * 3  # the agency; each auxiliary, their user, their badge
    with committed.begin() as conn:
        conn.execute(text("UPDATE auxiliaries SET name = name || '改' WHERE id = "
                          "(SELECT id FROM auxiliaries ORDER BY id DESC LIMIT 1)"))
    changed_alone, changed_together = _digests(committed)
    assert changed_alone == changed_together and changed_alone[0] != alone[0]
