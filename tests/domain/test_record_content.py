"""A record's content, the input of its content hash, keeps the shape it had when records were first stored:
the draft as ``dataclasses.asdict`` makes it, the flags nested."""

import hashlib
import json
import math
import uuid
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from api.domain.fieldwork.phone_ids import _canonical, content_hash
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


def _as_first_hashed(payload: dict[str, Any]) -> str:
    """The content hash as it was first written: ``_canonical`` of the payload, dumped."""
    text = json.dumps(_canonical(payload), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_content_hash_is_the_dump_of_the_canonical_payload_for_awkward_content() -> None:
    """The hash writes its JSON directly: every stored record's hash must stay what the dump made it."""
    east = timezone(timedelta(hours=8))
    texts = ["", 'quote " backslash \\ tab \t newline \n nul \x00 del \x7f', "\u2028 😀 新街口 \ufeff"]
    numbers: list[Any] = [0.0, -0.0, 32.041, 1e-7, 1e22, 5e-324, math.inf, -math.inf, 3, -7, 10**20, True, None]
    for text in texts:
        for number in numbers:
            task = TaskDraft(id=uuid.uuid4(), category="patrol", description=text,
                             started_at=datetime(2026, 11, 26, 9, 30, 0, 7, tzinfo=east), ended_at=None,
                             lat=number, lon=-number if isinstance(number, float) else number,
                             assignment_ref=text or None, flags=TaskFlags(state_secret=bool(text)))
            payload = {**task.content(), "corrects_id": None}
            assert content_hash(payload) == _as_first_hashed(payload), (text, number)
    odd: dict[str, Any] = {"list": [1, "a", (2.5, None)], "nested": {"b": {"z": 1, "a": date(2026, 1, 2)}, 7: "int",
                                                                     "7x": "ok"},
                           "naive": datetime(2026, 1, 2, 3, 4), "nan": math.nan, 'quote " key\n': 1, "键": "值"}
    assert content_hash(odd) == _as_first_hashed(odd)
    alike: dict[str, Any] = {"keys": {1: "one", "1": "one as text"}}  # keys that read alike: the dump decides
    assert content_hash(alike) == _as_first_hashed(alike)
