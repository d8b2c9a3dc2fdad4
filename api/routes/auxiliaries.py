"""Auxiliaries: hiring, records, training, credentials, photo, suspension, departure and secondment.

Writes belong to the employing agency's admins (第五条); the street an auxiliary is seconded to may read the
record for daily command (第二十二条). Anyone else is told the auxiliary does not exist.
"""

import uuid
from collections.abc import Sequence
from typing import Annotated, cast

from fastapi import APIRouter, File, Path, Query, Response, UploadFile, status
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api.deps import Admin, ContextDep, CurrentUser, SessionDep, writes
from api.domain.errors import NotFound
from api.domain.models import Auxiliary, AuxiliaryStatus, Credential, Training
from api.domain.pagination import paginate
from api.domain.privacy_tables import ReadKind
from api.domain.staff.credentials import (
    PRE_JOB,
    current_credential,
    current_credentials,
    issue_credential,
    record_training,
    trainings_of,
)
from api.domain.staff.eligibility import Application
from api.domain.staff.hiring import hire_auxiliary
from api.domain.staff.identity import record_id_number
from api.domain.staff.lookup import auxiliaries_query, managed_auxiliary, visible_auxiliary
from api.domain.staff.photo import clean_id_photo, image_too_large
from api.domain.staff.status import (
    record_departure,
    reinstate_auxiliary,
    second_auxiliary,
    set_photo,
    suspend_auxiliary,
)
from api.read_log import log_personal_reads
from api.uploads import limited_upload_route
from schemas.auxiliaries import (
    AuxiliaryCreate,
    AuxiliaryRead,
    AuxiliaryStatusName,
    CredentialIssued,
    CredentialSummary,
    DepartureCreate,
    IdNumberRecord,
    IdNumberRecorded,
    SecondmentRequest,
    StatusChange,
    TrainingCreate,
    TrainingRead,
    TrainingSummary,
)
from schemas.common import Page
from verification.compact import compact_url

router = APIRouter(prefix="/api", tags=["auxiliaries"])
_uploads = APIRouter(route_class=limited_upload_route(lambda s: s.photo_max_bytes, "image_too_large", "照片", "photo"))

AuxId = Annotated[uuid.UUID, Path(description="the auxiliary's id")]


def _to_read(aux: Auxiliary, trainings: Sequence[Training], credential: Credential | None) -> AuxiliaryRead:
    return AuxiliaryRead(
        id=aux.id,
        user_id=aux.user_id,
        name=aux.name,
        badge_no=aux.badge_no,
        status=aux.status,
        status_reason=aux.status_reason,
        agency_id=aux.agency_id,
        command_agency_id=aux.command_agency_id,
        categories=aux.categories,
        zones=aux.zones,
        birth_date=aux.birth_date,
        id_number_masked=aux.id_number_masked,
        education=aux.education,
        hire_method=aux.hire_method,
        dispatch_company=aux.dispatch_company,
        hired_on=aux.hired_on,
        record=aux.background,
        preferences=aux.preferences,
        left_on=aux.left_on,
        items_recovered=aux.items_recovered,
        has_photo=aux.photo_type is not None,
        trainings=TrainingSummary(
            pre_job_passed=any(t.kind == PRE_JOB and t.passed for t in trainings),
            total_hours=sum(t.hours for t in trainings),
            items=[TrainingRead.model_validate(t) for t in trainings],
        ),
        credential=CredentialSummary.model_validate(credential) if credential else None,
        created_at=aux.created_at,
    )


def _reads(session: Session, auxiliaries: Sequence[Auxiliary]) -> list[AuxiliaryRead]:
    ids = [a.id for a in auxiliaries]
    trainings, credentials = trainings_of(session, ids), current_credentials(session, ids)
    return [_to_read(a, trainings[a.id], credentials.get(a.id)) for a in auxiliaries]


def _read(session: Session, aux: Auxiliary) -> AuxiliaryRead:
    return _to_read(aux, trainings_of(session, [aux.id])[aux.id], current_credential(session, aux))


@router.post("/auxiliaries", response_model=AuxiliaryRead, status_code=status.HTTP_201_CREATED)
def hire_auxiliary_route(
    ctx: ContextDep, session: SessionDep, user: CurrentUser, body: AuxiliaryCreate
) -> AuxiliaryRead:
    """Hire an auxiliary into the agency's approved headcount (员额, 第十二条), with their own login.

    Only the admins of `agency_id` hire for it (第五条). Refusals: 422 `invalid_id_number` for an `id_number`
    that is not a 居民身份证号码 (GB 11643-1999: 18 characters, check character, birth date `birth_date`); 422
    `ineligible` listing every failed rule of 第十三条 (age 18 on `hired_on`, high-school education) and 第十四条
    (criminal record, pending case, dismissal, serious dishonesty; `dismissed_on_record`: dismissed by any
    agency of the city, matched by the id number) in `reasons`; 409 `already_employed` while any agency,
    this one included, employs the person; 422 `dispatch_company_required` / `dispatch_company_not_allowed`
    (第十五条); 422 `not_an_independent_duty` for an assisted category (第七条); 409 `headcount_quota_full`
    (第十二条), also when two hires race for the last place; 409 `username_taken`. The new auxiliary is
    `pending_training`; the id number is answered only masked.
    """
    application = Application(
        name=body.name,
        birth_date=body.birth_date,
        education=body.education,
        hire_method=body.hire_method,
        dispatch_company=body.dispatch_company,
        agency_id=body.agency_id,
        hired_on=body.hired_on,
        categories=list(body.categories),
        zones=body.zones.model_dump() if body.zones else None,
        record=body.record.model_dump(),
        id_number=body.id_number,
        preferences=body.preferences.model_dump(),
    )
    aux = hire_auxiliary(session, actor=user, application=application, username=body.username,
                         password=body.password, cost=ctx.hash_cost, id_key=ctx.id_key)
    return _read(session, aux)


@router.get("/auxiliaries", response_model=Page[AuxiliaryRead])
def list_auxiliaries_route(
    session: SessionDep,
    user: Admin,
    agency_id: Annotated[uuid.UUID | None, Query(description="employing agency")] = None,
    status_: Annotated[AuxiliaryStatusName | None, Query(alias="status")] = None,
    limit: Annotated[int | None, Query(description="page size; clamped to 1..200")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[AuxiliaryRead]:
    """List auxiliaries, newest first: an agency admin sees their own staff and those seconded to their
    street; the justice bureau sees all (filter with `agency_id`). Filter by `status`."""
    stmt = auxiliaries_query(user=user, agency_id=agency_id,
                             status=AuxiliaryStatus(status_) if status_ else None)
    # paginate() is annotated for SQLAlchemy 2.0's Select[tuple[T]]; 2.1 spells it Select[T].
    rows, next_cursor = paginate(session, cast("Select[tuple[Auxiliary]]", stmt),
                                 created=Auxiliary.created_at, key=Auxiliary.id, limit=limit, cursor=cursor)
    items = _reads(session, rows)
    # Each item carries birth date, education and criminal record: each is a read of personal data.
    log_personal_reads(session, user, ReadKind.AUXILIARY, (a.id for a in rows))
    return Page[AuxiliaryRead](items=items, next_cursor=next_cursor)


@router.get("/auxiliaries/{aux_id}", response_model=AuxiliaryRead)
def read_auxiliary_route(session: SessionDep, user: CurrentUser, aux_id: AuxId) -> AuxiliaryRead:
    """One auxiliary's record, with trainings and current credential. Visible to the employing agency, the
    street they are seconded to, the justice bureau and the auxiliary themself; anyone else gets 404."""
    read = _read(session, visible_auxiliary(session, aux_id, user=user))
    log_personal_reads(session, user, ReadKind.AUXILIARY, [read.id])
    return read


@router.put("/auxiliaries/{aux_id}/id-number", response_model=IdNumberRecorded)
def record_id_number_route(
    ctx: ContextDep, session: SessionDep, user: CurrentUser, aux_id: AuxId, body: IdNumberRecord
) -> IdNumberRecorded:
    """State the 居民身份证号码 of someone hired before it was asked, so that 第十四条 matches them city-wide. For
    the employing agency's admins, once: 409 `id_number_already_recorded` when the record has one (it is never
    changed here). 422 `invalid_id_number` as on hire, against the record's `birth_date`; 409 `already_employed`
    while they are employed and another agency's (or another of this agency's) current staff has the number.
    `dismissed_elsewhere` says an agency dismissed the person (第十四条(二)). The number is answered only masked."""
    aux = managed_auxiliary(session, aux_id, user=user)
    dismissed = record_id_number(session, aux, actor=user, raw=body.id_number, key=ctx.id_key)
    return IdNumberRecorded(**_read(session, aux).model_dump(), dismissed_elsewhere=dismissed)


@router.post("/auxiliaries/{aux_id}/trainings", response_model=TrainingRead,
             status_code=status.HTTP_201_CREATED)
def record_training_route(
    session: SessionDep, user: CurrentUser, aux_id: AuxId, body: TrainingCreate
) -> TrainingRead:
    """Record a training (第二十条): pre-job, political, legal, skills or mental health, with hours
    and result. A passed `pre_job` training is what a credential needs (第二十三条)."""
    aux = managed_auxiliary(session, aux_id, user=user)
    training = record_training(session, aux, actor=user, kind=body.kind, hours=body.hours,
                               completed_on=body.completed_on, passed=body.passed)
    return TrainingRead.model_validate(training)


@router.post("/auxiliaries/{aux_id}/credential", response_model=CredentialIssued,
             status_code=status.HTTP_201_CREATED)
def issue_credential_route(
    ctx: ContextDep, session: SessionDep, user: CurrentUser, aux_id: AuxId
) -> CredentialIssued:
    """Issue or reissue the work credential (工作证件) and its signed badge token; the auxiliary
    becomes `active`.

    409 `training_required` (第二十三条) without a passed pre-job training; 409 `auxiliary_departed`
    (第二十七条); 409 `auxiliary_suspended`. A reissue makes the previous badge `superseded`. `verify_url` is
    the JWS form of the badge's QR text, `compact_url` the compact form (`/B/...`, docs/compact-qr.md) that the
    printed card carries by default (`AUXDUTY_BADGE_QR`).
    """
    aux = managed_auxiliary(session, aux_id, user=user)
    issued = issue_credential(session, aux, actor=user, signer=ctx.keyring)
    cred = issued.credential
    return CredentialIssued(
        id=cred.id,
        auxiliary_id=aux.id,
        credential_no=cred.credential_no,
        token=issued.token,
        verify_url=f"{ctx.settings.public_base_url.rstrip('/')}/v/{issued.token}",
        compact_url=compact_url(ctx.settings.public_base_url, issued.compact),
        status=cred.status,
        version=cred.version,
        kid=cred.kid,
        issued_at=cred.created_at,
    )


@router.post("/auxiliaries/{aux_id}/suspend", response_model=AuxiliaryRead)
@writes
def suspend_auxiliary_route(
    session: SessionDep, user: CurrentUser, aux_id: AuxId, body: StatusChange
) -> AuxiliaryRead:
    """Suspend an active auxiliary: their badge scans as `suspended` at once. 409 `invalid_transition` unless
    active."""
    aux = managed_auxiliary(session, aux_id, user=user)
    return _read(session, suspend_auxiliary(session, aux, actor=user, reason=body.reason))


@router.post("/auxiliaries/{aux_id}/reinstate", response_model=AuxiliaryRead)
@writes
def reinstate_auxiliary_route(
    session: SessionDep, user: CurrentUser, aux_id: AuxId, body: StatusChange
) -> AuxiliaryRead:
    """Reinstate a suspended auxiliary: `active` again, their badge `valid`. 409 `invalid_transition` unless
    suspended."""
    aux = managed_auxiliary(session, aux_id, user=user)
    return _read(session, reinstate_auxiliary(session, aux, actor=user, reason=body.reason))


@router.post("/auxiliaries/{aux_id}/departure", response_model=AuxiliaryRead)
def record_departure_route(
    session: SessionDep, user: CurrentUser, aux_id: AuxId, body: DepartureCreate
) -> AuxiliaryRead:
    """Record a departure (第二十七条): the credential is revoked, the recovered items
    (证件、胸牌、臂章、服装) are recorded, the login is closed and the headcount place is freed.
    409 `auxiliary_departed` if repeated."""
    aux = managed_auxiliary(session, aux_id, user=user)
    departed = record_departure(session, aux, actor=user, left_on=body.left_on, reason=body.reason,
                                items_recovered=body.items_recovered)
    return _read(session, departed)


@router.post("/auxiliaries/{aux_id}/secondment", response_model=AuxiliaryRead)
def second_auxiliary_route(
    session: SessionDep, user: CurrentUser, aux_id: AuxId, body: SecondmentRequest
) -> AuxiliaryRead:
    """Second the auxiliary to a street/town below the employing agency for daily command
    (第二十二条), or end the secondment with `command_agency_id: null`. 422 `invalid_secondment` for
    any other agency."""
    aux = managed_auxiliary(session, aux_id, user=user)
    seconded = second_auxiliary(session, aux, actor=user, command_agency_id=body.command_agency_id)
    return _read(session, seconded)


@router.get("/auxiliaries/{aux_id}/photo", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "the ID photo"}})
def read_photo_route(session: SessionDep, user: CurrentUser, aux_id: AuxId) -> Response:
    """The auxiliary's ID photo, for those who may read their record."""
    aux = visible_auxiliary(session, aux_id, user=user)
    data = session.scalar(select(Auxiliary.photo).where(Auxiliary.id == aux.id))
    if data is None or aux.photo_type is None:
        raise NotFound("photo", "照片")
    log_personal_reads(session, user, ReadKind.ID_PHOTO, [aux.id])
    return Response(data, media_type=aux.photo_type,
                    headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@_uploads.put("/auxiliaries/{aux_id}/photo", response_model=AuxiliaryRead)
def upload_photo_route(
    ctx: ContextDep,
    session: SessionDep,
    user: CurrentUser,
    aux_id: AuxId,
    file: Annotated[UploadFile, File(description="the ID photo: JPEG or PNG")],
) -> AuxiliaryRead:
    """Set the ID photo printed on the badge and shown to citizens who verify it. JPEG or PNG only (415), at
    most `photo_max_bytes` (413), a real image of at most 40 megapixels (422). What is stored is the picture
    alone, re-encoded: EXIF (a phone's GPS position, time, device) and every other metadata are dropped, the
    EXIF orientation applied to the pixels first."""
    limit = ctx.settings.photo_max_bytes
    aux = managed_auxiliary(session, aux_id, user=user)
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise image_too_large(limit)
    photo = clean_id_photo(data, declared_type=file.content_type, max_bytes=limit)
    return _read(session, set_photo(session, aux, actor=user, data=photo.data, content_type=photo.media_type))


router.include_router(_uploads)
