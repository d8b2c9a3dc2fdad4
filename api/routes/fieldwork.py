"""Field work from the phone: shifts, task records, co-signing, corrections, evidence, offline sync, and the
Article 19 cases that refused work leaves behind."""

import uuid
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, UploadFile, status
from sqlalchemy import Select

from api.deps import Admin, AgencyAdmin, AuxiliaryUser, ContextDep, CurrentUser, OfficerUser, SessionDep, writes
from api.domain.duties import DutyCode
from api.domain.errors import DomainError
from api.domain.fieldwork.article19 import article19_cases_visible_to, case_parties
from api.domain.fieldwork.context import load_field_context
from api.domain.fieldwork.cosign import cosign_task
from api.domain.fieldwork.evidence import get_evidence, store_evidence
from api.domain.fieldwork.reassignment import reassign_task
from api.domain.fieldwork.records import ShiftKind
from api.domain.fieldwork.shifts import pair_shifts, record_shift_event, shifts_query
from api.domain.fieldwork.sync import SyncItem, sync_records
from api.domain.fieldwork.tasks import (
    Recorder,
    TaskBundle,
    bundle_tasks,
    correct_task,
    record_new_task,
    tasks_query,
    visible_task,
)
from api.domain.models import Article19Case, Auxiliary, ShiftEvent, Task, TaskStatus
from api.domain.oversight.rectification import beijing_today, orders_of_cases
from api.domain.oversight_tables import RectificationStatusName
from api.domain.pagination import paginate
from api.errors import wants_english
from api.storage import BlobResponse
from api.uploads import limited_upload_route
from schemas.common import Instant, Page
from schemas.shifts import CheckIn, CheckOut, ShiftEventRead, ShiftRead
from schemas.sync import (
    ShiftSyncResult,
    SyncProblem,
    SyncRequest,
    SyncResponse,
    read_shifts,
    read_tasks,
    sync_answer_json,
    task_answer,
)
from schemas.tasks import (
    Article19CaseRead,
    AuxiliaryRef,
    CosignCreate,
    EvidenceRead,
    Person,
    RectificationRef,
    TaskCreate,
    TaskRead,
    TaskReassign,
    forbidden_flags,
    new_task_answer,
    new_task_read,
    task_read,
)

router = APIRouter(prefix="/api", tags=["fieldwork"])
# Evidence is refused by size while it arrives, before multipart parsing spools it to disk.
_evidence = APIRouter(route_class=limited_upload_route(lambda s: s.evidence_max_bytes, "evidence_too_large",
                                                       "证据文件", "evidence file"))

SAME_AGAIN: dict[int | str, dict[str, Any]] = {
    200: {"description": "the same record was sent again: the stored record, nothing new written"}
}
TaskStatusName = Literal["recorded", "pending_cosign", "cosigned", "rejected", "superseded"]


def _one(session: SessionDep, task: Task, *, created_by: Auxiliary | None = None) -> TaskRead:
    # A record made this instant has nothing hanging off it yet: no co-signature, evidence or successor.
    if created_by is not None:
        return task_read(TaskBundle(task, None, [], None, auxiliary=Recorder.of(created_by)))
    return task_read(bundle_tasks(session, [task])[0])


def _waiting(tasks: list[Task]) -> list[uuid.UUID]:
    return [t.id for t in tasks if t.status == TaskStatus.PENDING_COSIGN]


def _waiting_made(items: list[SyncItem[Task]]) -> list[uuid.UUID]:
    """The records a sync batch made that wait for their officer's co-signature, in the order sent."""
    waiting = []
    for i in items:
        if i.row is not None:
            task_id, status_ = i.row["id"], i.row["status"]
        elif i.record is not None and i.result == "created":
            task_id, status_ = i.record.id, i.record.status
        else:
            continue
        if status_ == TaskStatus.PENDING_COSIGN:
            waiting.append(task_id)
    return waiting


def _created(response: Response, created: bool) -> None:
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK


def _check(
    kind: ShiftKind, ctx: ContextDep, session: SessionDep, user: AuxiliaryUser, body: CheckIn, response: Response
) -> ShiftEvent:
    fc = load_field_context(session, user, limits=ctx.field_limits, lock=True)
    event, created = record_shift_event(session, fc, body.to_draft(kind))
    _created(response, created)
    return event


@router.post("/shifts/check-in", response_model=ShiftEventRead, status_code=201, responses=SAME_AGAIN)
def check_in(ctx: ContextDep, session: SessionDep, user: AuxiliaryUser, body: CheckIn, response: Response
             ) -> ShiftEvent:
    """Start of a shift, with the phone's position and accuracy. `in_zone` is true when the whole accuracy
    circle lies in the auxiliary's responsibility zones, false when wholly outside, null when it crosses an
    edge or they have no zones: recorded, never refused. 409 `already_checked_in` while a shift is open; 409
    `shift_out_of_order` when dated before the last check-in or check-out. Like every record of field work:
    422 `time_in_future` more than a few minutes ahead of the server's clock, 422 `time_too_old` before the
    hire or older than the accepted age; 403 `credential_not_active` (第二十三条) unless the credential was
    valid when it happened; done before a suspension and received after it: kept, `recorded_before_suspension`."""
    return _check("check_in", ctx, session, user, body, response)


@router.post("/shifts/check-out", response_model=ShiftEventRead, status_code=201, responses=SAME_AGAIN)
def check_out(ctx: ContextDep, session: SessionDep, user: AuxiliaryUser, body: CheckOut, response: Response
              ) -> ShiftEvent:
    """End of the open shift, with the phone's position: `check_in_id` names the check-in it closes. 409
    `not_checked_in` without an open shift; 409 `shift_out_of_order` when dated before its check-in. Times
    and credential as for a check-in."""
    return _check("check_out", ctx, session, user, body, response)


@router.get("/shifts", response_model=Page[ShiftRead])
def list_shifts(
    session: SessionDep,
    user: CurrentUser,
    auxiliary_id: uuid.UUID | None = None,
    since: Annotated[Instant | None, Query(alias="from", description="checked in at or after this instant")] = None,
    until: Annotated[Instant | None, Query(alias="to", description="checked in before this instant")] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[ShiftRead]:
    """Shifts, latest check-in first: each check-in with the check-out that closed it (null while open), its
    length, and `in_zone` at either end. An auxiliary sees their own; an agency admin those of the staff the
    agency employs or, seconded to it, commands (第五条、第二十二条); the justice bureau all; an officer none."""
    stmt = shifts_query(session, user, auxiliary_id=auxiliary_id, since=since, until=until)
    rows, next_cursor = paginate(session, cast("Select[tuple[ShiftEvent]]", stmt), created=ShiftEvent.at,
                                 key=ShiftEvent.id, limit=limit, cursor=cursor)
    return Page(items=[
        ShiftRead(id=shift.check_in.id, auxiliary_id=shift.check_in.auxiliary_id, duration_s=shift.duration_s,
                  check_in=ShiftEventRead.model_validate(shift.check_in),
                  check_out=ShiftEventRead.model_validate(shift.check_out) if shift.check_out else None)
        for shift in pair_shifts(session, rows)
    ], next_cursor=next_cursor)


@router.post("/tasks", response_model=TaskRead, status_code=201, responses=SAME_AGAIN)
@writes
def create_task(ctx: ContextDep, session: SessionDep, user: AuxiliaryUser, body: TaskCreate, response: Response,
                background: BackgroundTasks) -> TaskRead:
    """Record a task. Independent duties (第七条) are `recorded` at once if granted to the auxiliary;
    assisted duties (第八条) name the directing officer and wait in `pending_cosign`. Work that 第十九条
    forbids is refused with `forbidden_work` and kept as an Article 19 case against whoever asked.
    `started_at` and `ended_at`: 422 `time_in_future` more than a few minutes ahead of the server's clock,
    422 `time_too_old` before the hire or older than the accepted age. 403 `credential_not_active`
    (第二十三条) unless the credential was valid when the work started; work done before a suspension and
    received after it is kept, `recorded_before_suspension: true`. Once it is stored, the named officer's
    subscribed browsers are told it waits for them (Web Push, after the answer: see /api/push/subscriptions)."""
    fc = load_field_context(session, user, limits=ctx.field_limits)
    recorded, _ = record_new_task(session, fc, body.to_draft())
    if isinstance(recorded, Task):  # sent before: the stored record, with what hangs off it now
        _created(response, False)
        return _one(session, recorded)
    _created(response, True)
    if recorded["status"] == TaskStatus.PENDING_COSIGN:
        ctx.push.announce_later(background, [recorded["id"]])
    # A record made this instant has nothing hanging off it yet: no co-signature, evidence or successor.
    return new_task_read(recorded, AuxiliaryRef(id=fc.aux.id, name=fc.aux.name, badge_no=fc.aux.badge_no))


@router.get("/tasks", response_model=Page[TaskRead])
def list_tasks(
    session: SessionDep,
    user: CurrentUser,
    status_: Annotated[TaskStatusName | None, Query(alias="status")] = None,
    category: DutyCode | None = None,
    since: Annotated[Instant | None, Query(description="recorded at or after this instant")] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[TaskRead]:
    """Task records the caller may see, newest first: an auxiliary their own, an officer those naming them
    (`?status=pending_cosign` for what awaits their co-signature), an agency admin those of the agency that
    employs or commands the auxiliary, the justice bureau all. A co-signed record carries where the officer
    was: `distance_m`, `seconds_after_task`, and the flags `far_from_task` and `position_missing`."""
    stmt = tasks_query(session, user, status=status_, category=category, since=since)
    rows, next_cursor = paginate(
        session, cast("Select[tuple[Task]]", stmt), created=Task.created_at, key=Task.id, limit=limit,
        cursor=cursor,
    )
    return Page(items=[task_read(b) for b in bundle_tasks(session, rows)], next_cursor=next_cursor)


@router.get("/tasks/{task_id}", response_model=TaskRead)
def read_task(session: SessionDep, user: CurrentUser, task_id: uuid.UUID) -> TaskRead:
    """One task record with its co-signature, evidence and version chain (`corrects_id`, `superseded_by`)."""
    return _one(session, visible_task(session, user, task_id))


@router.post("/tasks/{task_id}/cosign", response_model=TaskRead)
def cosign_task_route(
    ctx: ContextDep, session: SessionDep, user: OfficerUser, task_id: uuid.UUID, body: CosignCreate
) -> TaskRead:
    """The named officer approves (`cosigned`) or rejects (`rejected`) an assisted record (第八条). Only that
    officer may, only once, and only while the record is `pending_cosign`. The officer's phone sends its
    position (`lat`, `lon`, `accuracy_m`): the co-signature keeps the distance to the task's position and the
    time since the work, and is flagged `far_from_task` beyond the threshold, or `position_missing` without a
    position. The flags are for oversight (第二十五条); the decision stands."""
    task, _ = cosign_task(
        session, user=user, task_id=task_id, approve=body.decision == "approve", note=body.note,
        position=body.position(), far_m=ctx.settings.cosign_far_metres,
    )
    return _one(session, task)


@router.post("/tasks/{task_id}/reassign", response_model=TaskRead)
def reassign_task_route(ctx: ContextDep, session: SessionDep, user: AgencyAdmin, task_id: uuid.UUID,
                        body: TaskReassign, background: BackgroundTasks) -> TaskRead:
    """Name another officer to co-sign a record waiting for a co-signature (`pending_cosign`), in place of the
    one it names (say, an officer whose account was deactivated): the agency admin of the agency that
    commands the auxiliary (403 `not_your_agency` for the employer of a seconded auxiliary), naming an active
    officer of that agency (422 `officer_not_available`, 第八条). The step shows in the record's
    `reassignments` and in the log; the first officer can no longer co-sign it (their attempt is refused as
    not_named_officer); the new one is told (Web Push).
    409 `not_pending_cosign`, `officer_already_named`."""
    task, _ = reassign_task(session, actor=user, task_id=task_id, officer_id=body.officer_id, reason=body.reason)
    ctx.push.announce_later(background, _waiting([task]))
    return _one(session, task)


@router.post("/tasks/{task_id}/corrections", response_model=TaskRead, status_code=201, responses=SAME_AGAIN)
def correct_task_route(
    ctx: ContextDep, session: SessionDep, user: AuxiliaryUser, task_id: uuid.UUID, body: TaskCreate,
    response: Response, background: BackgroundTasks,
) -> TaskRead:
    """A corrected version of a record, with a new phone-made id. The old version stays unchanged but for
    its status, `superseded` (第十条(三)); the new one has `version` + 1 and `corrects_id`, and passes every
    check again (it may keep the old version's time, however old). A record can be corrected once; correct
    its newest version. Needs a credential valid now. An assisted version waits for its officer again, who is
    told (Web Push)."""
    fc = load_field_context(session, user, limits=ctx.field_limits)
    task, created = correct_task(session, fc, task_id=task_id, payload=body.to_draft())
    _created(response, created)
    if created:
        ctx.push.announce_later(background, _waiting([task]))
    return _one(session, task, created_by=fc.aux if created else None)


@_evidence.post("/tasks/{task_id}/evidence", response_model=EvidenceRead, status_code=201,
             responses={**SAME_AGAIN, 413: {"description": "the file is larger than the limit"}})
def upload_evidence(
    ctx: ContextDep, session: SessionDep, user: CurrentUser, task_id: uuid.UUID, file: UploadFile,
    response: Response,
) -> EvidenceRead:
    """Attach a file (photo, recording, document) to a task: the recording auxiliary or the named officer.
    Stored by its SHA-256 and never changed; the same file again for the same task answers the stored
    record. 503 `storage_unavailable` when the file store does not answer: nothing was kept, retry."""
    task = visible_task(session, user, task_id)
    evidence, created = store_evidence(
        session, task=task, user=user, stream=file.file, filename=file.filename,
        content_type=file.content_type, store=ctx.storage,
        max_bytes=ctx.settings.evidence_max_bytes,
    )
    _created(response, created)
    return EvidenceRead.model_validate(evidence)


@router.get("/tasks/{task_id}/evidence/{evidence_id}", response_class=BlobResponse,
            responses={200: {"content": {"application/octet-stream": {}}, "description": "the stored bytes"}})
def download_evidence(
    ctx: ContextDep, session: SessionDep, user: CurrentUser, task_id: uuid.UUID, evidence_id: uuid.UUID
) -> BlobResponse:
    """The exact bytes stored for an evidence file, with `ETag` its SHA-256, re-hashed before they are sent.
    503 `storage_unavailable` when the file store does not answer."""
    task = visible_task(session, user, task_id)
    evidence, blob = get_evidence(session, task=task, evidence_id=evidence_id, store=ctx.storage)
    return BlobResponse(
        blob,
        size=evidence.bytes,
        media_type=evidence.content_type,
        filename=evidence.filename or evidence.sha256,
        headers={"X-Content-Type-Options": "nosniff", "ETag": f'"{evidence.sha256}"'},
    )


def _problem(exc: DomainError, english: bool) -> SyncProblem:
    errors = exc.extra.get("errors")
    return SyncProblem(
        code=exc.code,
        article=exc.article,
        detail=exc.detail_en if english else exc.detail_zh,
        status=exc.status,
        errors=cast("list[dict[str, str]]", errors) if isinstance(errors, list) else None,
    )


@router.post("/sync", response_model=SyncResponse)
@writes
def sync_records_route(
    ctx: ContextDep, request: Request, session: SessionDep, user: AuxiliaryUser, body: SyncRequest,
    background: BackgroundTasks,
) -> Response:
    """Send what the phone recorded offline: up to 500 tasks and 500 shift events. Each record is answered
    on its own: `created`, `duplicate` (already stored with the same content) or `error` with the problem
    it would have had on its own endpoint. One bad record never loses the others. Shift events are applied in
    the order of their `at`, whatever the order sent; work done before a suspension is kept, flagged
    `recorded_before_suspension`. The officers named by the new assisted records are told (Web Push), one
    message each."""
    english = wants_english(request)
    fc = load_field_context(session, user, limits=ctx.field_limits, lock=bool(body.shifts))
    batch = sync_records(session, fc, tasks=read_tasks(body.tasks), shifts=read_shifts(body.shifts))
    ctx.push.announce_later(background, _waiting_made(batch.tasks))
    # Records made by this batch have nothing hanging off them yet (as _one): only the others are bundled.
    bundles = {b.task.id: b for b in bundle_tasks(
        session, [i.record for i in batch.tasks if i.record and i.result != "created"])}
    recorder = Recorder.of(fc.aux)
    for i in batch.tasks:
        if i.record is not None and i.result == "created":
            bundles[i.record.id] = TaskBundle(i.record, None, [], None, auxiliary=recorder)
    auxiliary = AuxiliaryRef(id=recorder.id, name=recorder.name, badge_no=recorder.badge_no)
    return Response(sync_answer_json(
        tasks=[
            task_answer(i.index, i.id, i.result,
                        (new_task_answer(i.row, auxiliary) if i.row is not None
                         else task_read(bundles[i.record.id]) if i.record else None),
                        _problem(i.problem, english) if i.problem else None)
            for i in batch.tasks
        ],
        shifts=[
            ShiftSyncResult(
                index=i.index, id=i.id, result=i.result,
                record=ShiftEventRead.model_validate(i.record) if i.record else None,
                problem=_problem(i.problem, english) if i.problem else None,
            )
            for i in batch.shifts
        ],
    ), media_type="application/json")


@router.get("/article19-cases", response_model=Page[Article19CaseRead])
def list_article19_cases(
    session: SessionDep,
    user: Admin,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[Article19CaseRead]:
    """Refused attempts to make an auxiliary do forbidden work (第十九条), newest first, with who asked and
    what was asked (第二十九条), and where the rectification order a case led to stands (`rectification`).
    The justice bureau sees all; an agency admin their agency's."""
    rows, next_cursor = paginate(
        session, cast("Select[tuple[Article19Case]]", article19_cases_visible_to(user)),
        created=Article19Case.created_at, key=Article19Case.id, limit=limit, cursor=cursor,
    )
    users, auxes = case_parties(session, rows)

    def person(user_id: uuid.UUID) -> Person:
        u = users[user_id]
        return Person(id=u.id, name=u.name, role=u.role)

    orders = orders_of_cases(session, [c.id for c in rows])
    today = beijing_today()
    items = []
    for case in rows:
        aux = auxes.get(case.auxiliary_id) if case.auxiliary_id else None
        order = orders.get(case.id)
        items.append(
            Article19CaseRead(
                id=case.id,
                attempt_id=case.attempt_id,
                agency_id=case.agency_id,
                requested_by=person(case.requested_by),
                reported_by=person(case.reported_by),
                auxiliary=AuxiliaryRef(id=aux.id, name=aux.name, badge_no=aux.badge_no) if aux else None,
                flags=forbidden_flags(case.flags),
                request=case.request,
                created_at=case.created_at,
                rules_version=case.rules_version,
                rectification=RectificationRef(id=order.id, status=cast("RectificationStatusName", order.status),
                                               due_on=order.due_on, overdue=order.overdue(today))
                if order else None,
            )
        )
    return Page(items=items, next_cursor=next_cursor)


router.include_router(_evidence)
