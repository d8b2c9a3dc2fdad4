"""Training (第二十条) and the work credential (工作证件) it unlocks (第二十三条: 培训合格，发放证件).

A credential is issued only after a passed pre-job training. Reissuing makes the previous one ``superseded``:
its badge no longer verifies as valid. The badge token says only which credential and which version.
"""

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.base import BEIJING, utcnow
from api.domain.errors import Conflict, DomainError, RuleViolation
from api.domain.models import Auxiliary, AuxiliaryStatus, Credential, CredentialStatus, Training, User

PRE_JOB = "pre_job"
TrainingKind = Literal["pre_job", "political", "legal", "skills", "mental_health"]  # 第二十条
TRAINING_KINDS: dict[TrainingKind, str] = {
    "pre_job": "岗前培训",
    "political": "思想政治培训",
    "legal": "法律知识培训",
    "skills": "岗位技能培训",
    "mental_health": "心理健康培训",
}


class BadgeSigner(Protocol):
    def sign_badge(self, *, credential_id: uuid.UUID, version: int) -> tuple[str, str]: ...

    def sign_compact(self, *, credential_id: uuid.UUID, version: int) -> tuple[str, str]: ...


def departed_refusal() -> RuleViolation:
    return RuleViolation("auxiliary_departed", "第二十七条", "该辅助人员已离职", "the auxiliary has left",
                         status=409)


def record_training(
    session: Session,
    aux: Auxiliary,
    *,
    actor: User,
    kind: str,
    hours: float,
    completed_on: date,
    passed: bool,
) -> Training:
    if aux.has_left:
        raise departed_refusal()
    if kind not in TRAINING_KINDS:
        raise DomainError("unknown_training_kind", "未知的培训类型", f"unknown training kind {kind!r}")
    if completed_on > utcnow().astimezone(BEIJING).date():
        raise DomainError("completed_in_future", "培训完成日期不能晚于今天",
                          "completed_on lies in the future")
    training = Training(auxiliary_id=aux.id, kind=kind, hours=float(hours), completed_on=completed_on,
                        passed=passed, recorded_by=actor.id)
    session.add(training)
    audit.record(session, training, "training.recorded", actor_id=actor.id)
    return training


# Statements built once: their cache keys are worked out on first use, not at every status change (where
# building them again cost more than running them).
_TRAININGS = (select(Training).where(Training.auxiliary_id.in_(bindparam("ids", expanding=True)))
              .order_by(Training.completed_on, Training.created_at))
_NEWEST = (select(Credential).where(Credential.auxiliary_id == bindparam("aux_id"))
           .order_by(Credential.version.desc()).limit(1))


def trainings_of(session: Session, aux_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Training]]:
    ids = list(aux_ids)
    found: dict[uuid.UUID, list[Training]] = {i: [] for i in ids}
    if ids:
        for t in session.scalars(_TRAININGS, {"ids": ids}):
            found[t.auxiliary_id].append(t)
    return found


def current_credentials(session: Session, aux_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Credential]:
    """Each auxiliary's newest credential (the one whose badge counts), if any."""
    ids = list(aux_ids)
    if not ids:
        return {}
    newest = (
        select(Credential.auxiliary_id, func.max(Credential.version).label("version"))
        .where(Credential.auxiliary_id.in_(ids))
        .group_by(Credential.auxiliary_id)
        .subquery()
    )
    stmt = select(Credential).join(
        newest, (Credential.auxiliary_id == newest.c.auxiliary_id) & (Credential.version == newest.c.version)
    )
    return {c.auxiliary_id: c for c in session.scalars(stmt)}


def current_credential(session: Session, aux: Auxiliary) -> Credential | None:
    """The auxiliary's newest credential (``current_credentials`` for one: the last entry of its version index)."""
    return session.scalars(_NEWEST, {"aux_id": aux.id}).first()


def mark_credential(cred: Credential, status: CredentialStatus) -> None:
    """Set the credential's status, unlogged: the caller logs it (``set_credential_status`` does both)."""
    cred.status = status
    cred.status_changed_at = utcnow()


def set_credential_status(
    session: Session, cred: Credential, status: CredentialStatus, *, actor: User, action: str
) -> None:
    mark_credential(cred, status)
    audit.record(session, cred, action, actor_id=actor.id)


def _new_credential_no(year: int) -> str:
    return f"NJFZ-{year}-{secrets.randbelow(1_000_000):06d}"


@dataclass(frozen=True)
class IssuedCredential:
    credential: Credential
    token: str
    compact: str
    """The same badge in the compact form (verification/compact.py), signed by the same key."""


def issue_credential(
    session: Session, aux: Auxiliary, *, actor: User, signer: BadgeSigner
) -> IssuedCredential:
    """Issue, or reissue, the work credential; the auxiliary becomes ``active`` (持证上岗)."""
    if aux.has_left:
        raise departed_refusal()
    if aux.status == AuxiliaryStatus.SUSPENDED:
        raise Conflict("auxiliary_suspended", "该辅助人员已被暂停工作，恢复后方可发证",
                       "the auxiliary is suspended; reinstate them first")
    passed = session.scalar(
        select(func.count()).select_from(Training)
        .where(Training.auxiliary_id == aux.id, Training.kind == PRE_JOB, Training.passed.is_(True))
    )
    if not passed:
        raise RuleViolation("training_required", "第二十三条", "须经岗前培训合格后方可发放工作证件",
                            "a credential needs a passed pre-job training first", status=409)
    previous = current_credential(session, aux)
    if previous is not None and previous.status != CredentialStatus.SUPERSEDED:
        set_credential_status(session, previous, CredentialStatus.SUPERSEDED, actor=actor,
                              action="credential.superseded")
    version = (previous.version if previous else 0) + 1
    year = utcnow().astimezone(BEIJING).year
    for _ in range(8):
        cred_id = uuid.uuid4()
        token, kid = signer.sign_badge(credential_id=cred_id, version=version)
        cred = Credential(id=cred_id, auxiliary_id=aux.id, credential_no=_new_credential_no(year),
                          version=version, kid=kid, status=CredentialStatus.VALID, status_changed_at=utcnow())
        try:
            with session.begin_nested():
                session.add(cred)
                session.flush()
        except IntegrityError:
            # A number drawn twice, or another issue of this version that just won: draw again or give up.
            if session.scalar(select(Credential.id).where(Credential.auxiliary_id == aux.id,
                                                          Credential.version == version)):
                raise Conflict("credential_conflict", "该证件正在被另一请求签发，请重试",
                               "another request issued this credential at the same time; retry") from None
            continue
        audit.record(session, cred, "credential.issued", actor_id=actor.id)
        if aux.status != AuxiliaryStatus.ACTIVE:
            aux.status = AuxiliaryStatus.ACTIVE
            aux.status_reason = None
            audit.record(session, aux, "auxiliary.activated", actor_id=actor.id)
        code, _ = signer.sign_compact(credential_id=cred.id, version=version)
        return IssuedCredential(cred, token, code)
    raise RuntimeError("could not draw a free credential number")
