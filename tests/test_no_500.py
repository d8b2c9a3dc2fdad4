"""No client input produces a 500 (API.md, "Conventions").

Every operation of the app's own ``/openapi.json`` gets hostile input as each role (justice_admin,
agency_admin, officer, active auxiliary, anonymous): broken and hostile bodies, junk in every path and query
parameter, forged credentials, hostile uploads; then bodies mutated field by field by Hypothesis. Every answer
must be below 500 (or a 5xx the operation documents), every 4xx ``application/problem+json`` with a ``code``,
and a refused request must leave the stored rows as they were. The helpers live in ``tests/fuzz/``.

``AUXDUTY_FUZZ_EXAMPLES=500`` gives Hypothesis more examples per operation than the default few.
"""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.fuzz.battery import TRUNCATED_MULTIPART, base_case, battery
from tests.fuzz.mutations import mutated_case
from tests.fuzz.payloads import Case
from tests.fuzz.spec import OPERATIONS, Operation
from tests.fuzz.world import PROBLEM, ROLES, Fuzzer, fuzz_app, fuzz_connection, fuzz_world, fuzzer, snapshot

__all__ = ["fuzz_app", "fuzz_connection", "fuzz_world", "fuzzer"]  # fixtures, used by name

REFUSED_BEFORE_THE_BODY = (401, 403, 404)
# Mutated bodies per operation and backend: few enough for every run; raise it for a long hunt.
EXAMPLES = int(os.environ.get("AUXDUTY_FUZZ_EXAMPLES", "12"))
BODY_OPS = [op for op in OPERATIONS if op.body in ("json", "form")]


def _ids(op: Operation) -> str:
    return op.id


def test_the_change_detector_sees_a_changed_row(fuzzer: Fuzzer) -> None:
    savepoint = fuzzer.connection.begin_nested()
    try:
        fuzzer.connection.execute(text("UPDATE agencies SET headcount_used = headcount_used + 1"))
        changed = snapshot(fuzzer.connection)
    finally:
        savepoint.rollback()
    assert changed["agencies"] != fuzzer.baseline["agencies"]
    assert snapshot(fuzzer.connection) == fuzzer.baseline


@pytest.mark.parametrize("op", OPERATIONS, ids=_ids)
def test_hostile_requests_get_a_4xx_problem_and_change_nothing(fuzzer: Fuzzer, op: Operation) -> None:
    cases = battery(op, fuzzer.world)
    answers = {role: fuzzer.send(op, cases.base, role) for role in ROLES}
    probes = {role: r.status_code for role, r in answers.items()}
    # Only the photo decoder's own absence (a missing system library) excuses an operation; any other 5xx,
    # the documented 503s of a busy database included, is a failure here.
    unavailable = {r.status_code for r in answers.values()
                   if r.status_code == 503 and r.headers.get("content-type", "").startswith("application/problem")
                   and r.json().get("code") == "decoder_unavailable"}
    if unavailable and not any(200 <= s < 300 for s in probes.values()):
        pytest.skip(f"{op.id} answers its documented {unavailable} on this machine (a missing system library)")
    assert any(200 <= s < 300 for s in probes.values()), (
        f"no role can perform {op.id} with its base request {probes}: fix its base in tests/fuzz/world.py, "
        "or the fuzzing of this operation never gets past the door"
    )
    lead = next(role for role, s in probes.items() if 200 <= s < 300) if op.secured else "anonymous"
    # The whole battery goes to the first role that performs the operation. What the schema refused for it,
    # it refuses the same for every role (parameters and body are validated after the caller is known and
    # before any of the caller's code runs), so other roles that get past the door get only what got
    # through; a role turned away before that, or a token a public operation never reads, needs only the
    # few cases looked at before.
    refused_by_schema: set[str] = set()
    for case in cases.full:
        r = fuzzer.send(op, case, lead)
        if r.status_code == 422 and r.headers.get("content-type", "").startswith(PROBLEM) \
                and r.json().get("code") == "validation_error":
            refused_by_schema.add(case.label)
    for role, status in probes.items():
        if role == lead:
            continue
        if status in REFUSED_BEFORE_THE_BODY or (not op.secured and role != "anonymous"):
            cases_for_role = cases.reduced
        else:
            cases_for_role = [c for c in cases.full if c.label not in refused_by_schema]
        for case in cases_for_role:
            fuzzer.send(op, case, role)
    for case in cases.anonymous:
        fuzzer.send(op, case, "anonymous")
    fuzzer.assert_clean()


@pytest.mark.parametrize("op", BODY_OPS, ids=_ids)
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_bodies_get_a_4xx_problem_or_succeed(
    fuzzer: Fuzzer, op: Operation, data: st.DataObject
) -> None:
    role = fuzzer.acting_role(op, base_case(op, fuzzer.world))
    case = mutated_case(op, fuzzer.world, data)
    fuzzer.failures.clear()
    fuzzer.send(op, case, role)
    fuzzer.assert_clean()


UPLOAD_OPS = [op for op in OPERATIONS if op.body == "multipart"]


@pytest.mark.parametrize("op", UPLOAD_OPS, ids=_ids)
@pytest.mark.filterwarnings("ignore:Unclosed file <tempfile.SpooledTemporaryFile:ResourceWarning")
def test_truncated_multipart_is_refused(fuzzer: Fuzzer, op: Operation) -> None:
    base = base_case(op, fuzzer.world)
    assert base.content is not None
    cut = Case(TRUNCATED_MULTIPART, base.path, base.query, base.headers, base.content[: len(base.content) // 2])
    fuzzer.send(op, cut, fuzzer.acting_role(op, base))
    fuzzer.assert_clean()
