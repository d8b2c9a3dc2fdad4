"""A record's content, the input of its content hash, keeps the shape it had when records were first stored:
the draft as ``dataclasses.asdict`` makes it, the flags nested."""

import uuid
from dataclasses import asdict
from datetime import UTC, datetime

from api.domain.fieldwork.phone_ids import content_hash
from api.domain.fieldwork.records import ShiftDraft, TaskDraft, TaskFlags


def test_content_is_the_draft_as_asdict_makes_it() -> None:
    task = TaskDraft(id=uuid.uuid4(), category="statutory_other", description="协助检查",
                     started_at=datetime(2026, 11, 26, 1, tzinfo=UTC), ended_at=datetime(2026, 11, 26, 2, tzinfo=UTC),
                     lat=32.04, lon=118.78, officer_id=uuid.uuid4(), assignment_ref=None, legal_basis="《条例》第十条",
                     flags=TaskFlags(fine_quota=True))
    shift = ShiftDraft(id=uuid.uuid4(), kind="check_in", at=datetime(2026, 11, 26, tzinfo=UTC), lat=32.04,
                       lon=118.78, accuracy_m=12.5)
    assert task.content() == asdict(task) and content_hash(task.content()) == content_hash(asdict(task))
    assert shift.content() == asdict(shift)
    assert task.flags.raised() == ["fine_quota"]
