"""What a badge says to a citizen who checks it (第九条、第二十三条、第二十四条、第二十七条).

The status changes the instant the agency acts: it is read from the credential and the auxiliary at each
check, never from the token. Scans of badges that are no longer valid are recorded for their agency.
"""

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.duties import DUTIES, DUTY_BY_CODE, Duty
from api.domain.models import (
    Agency,
    Auxiliary,
    AuxiliaryStatus,
    Credential,
    CredentialStatus,
    DeadBadgeScan,
)
from verification.tokens import BadTokenError, KeyRing


class BadgeStatus(StrEnum):
    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    INVALID = "invalid"


NOTICES: dict[BadgeStatus, str] = {
    BadgeStatus.VALID: (
        "行政执法辅助人员不具有独立的执法资格，只能在行政执法机关及其执法人员的指挥和监督下开展辅助性工作"
        "（第六条）。协助执法时应当佩戴证件并主动出示（第九条）。"
    ),
    BadgeStatus.SUSPENDED: (
        "该证件已暂停使用，持证人目前不得从事行政执法辅助工作。请勿配合其执法要求，"
        "可拨打12345政务服务热线或在本页投诉；遇紧急情况请拨打110。"
    ),
    BadgeStatus.REVOKED: (
        "该证件已注销：持证人已离职或证件已被收回（第二十七条），不再是行政执法辅助人员。"
        "请勿配合其执法要求，可拨打12345或在本页举报；遇紧急情况请拨打110。"
    ),
    BadgeStatus.SUPERSEDED: (
        "该证件已作废：已补发新证件，旧证件不得再使用。请勿配合其执法要求，"
        "可拨打12345或在本页举报；遇紧急情况请拨打110。"
    ),
    BadgeStatus.INVALID: (
        "无法核验此证件：它不是本市签发的有效证件，可能是伪造或被篡改的。请勿配合其执法要求，"
        "可拨打12345或在本页举报；遇紧急情况请拨打110。"
    ),
}

_DEAD = {BadgeStatus.SUSPENDED, BadgeStatus.REVOKED, BadgeStatus.SUPERSEDED}


@dataclass(frozen=True)
class BadgeCheck:
    status: BadgeStatus
    auxiliary: Auxiliary | None = None
    agency: Agency | None = None
    command_agency: Agency | None = None
    independent: list[Duty] = field(default_factory=list)
    assisted: list[Duty] = field(default_factory=list)

    @property
    def notice(self) -> str:
        return NOTICES[self.status]


def _status(aux: Auxiliary, credential: Credential, newest_version: int) -> BadgeStatus:
    if credential.status == CredentialStatus.SUPERSEDED or credential.version < newest_version:
        return BadgeStatus.SUPERSEDED
    if credential.status == CredentialStatus.REVOKED or aux.status == AuxiliaryStatus.DEPARTED:
        return BadgeStatus.REVOKED
    if credential.status == CredentialStatus.SUSPENDED or aux.status != AuxiliaryStatus.ACTIVE:
        return BadgeStatus.SUSPENDED
    return BadgeStatus.VALID


def _check(session: Session, credential: Credential, *, channel: str) -> BadgeCheck:
    aux = session.get(Auxiliary, credential.auxiliary_id)
    if aux is None:
        return BadgeCheck(BadgeStatus.INVALID)
    newest = session.scalar(
        select(func.max(Credential.version)).where(Credential.auxiliary_id == aux.id)
    ) or credential.version
    status = _status(aux, credential, newest)
    if status in _DEAD:
        session.add(
            DeadBadgeScan(credential_id=credential.id, auxiliary_id=aux.id, status=status, channel=channel)
        )
        session.flush()
    agency = session.get(Agency, aux.agency_id)
    command = session.get(Agency, aux.command_agency_id) if aux.command_agency_id else agency
    if status != BadgeStatus.VALID:
        return BadgeCheck(status, aux, agency, command)
    independent = [DUTY_BY_CODE[c] for c in aux.categories if c in DUTY_BY_CODE and not DUTY_BY_CODE[c].assisted]
    independent.sort(key=DUTIES.index)
    assisted = [d for d in DUTIES if d.assisted]
    return BadgeCheck(status, aux, agency, command, independent, assisted)


def check_token(session: Session, keyring: KeyRing, token: str, *, channel: str) -> BadgeCheck:
    """Check a badge token: the signature first, then the credential as it stands now."""
    try:
        claims = keyring.verify_badge(token)
    except BadTokenError:
        return BadgeCheck(BadgeStatus.INVALID)
    credential = session.get(Credential, claims.credential_id)
    if credential is None or credential.version != claims.version:
        return BadgeCheck(BadgeStatus.INVALID)
    return _check(session, credential, channel=channel)


def check_badge_no(session: Session, badge_no: str, *, channel: str) -> BadgeCheck | None:
    """Check by the number printed on the badge: the newest credential of that number. None if unknown."""
    aux_id = session.scalar(select(Auxiliary.id).where(Auxiliary.badge_no == badge_no.strip().upper()))
    if aux_id is None:
        return None
    credential = session.scalar(
        select(Credential).where(Credential.auxiliary_id == aux_id).order_by(Credential.version.desc()).limit(1)
    )
    if credential is None:
        return BadgeCheck(BadgeStatus.INVALID)
    return _check(session, credential, channel=channel)


def valid_photo(session: Session, badge_no: str) -> tuple[bytes, str] | None:
    """The ID photo, only while the badge is valid: a dead badge shows no face to vouch for."""
    aux = session.scalar(select(Auxiliary).where(Auxiliary.badge_no == badge_no.strip().upper()))
    if aux is None or aux.status != AuxiliaryStatus.ACTIVE or aux.photo is None:
        return None
    return aux.photo, aux.photo_type or "image/jpeg"


def dead_scan_counts(session: Session, agency_id: uuid.UUID) -> list[tuple[uuid.UUID, str, int]]:
    """Per auxiliary of the agency: how often a no-longer-valid badge of theirs was scanned."""
    rows = session.execute(
        select(DeadBadgeScan.auxiliary_id, Auxiliary.badge_no, func.count())
        .join(Auxiliary, Auxiliary.id == DeadBadgeScan.auxiliary_id)
        .where(Auxiliary.agency_id == agency_id)
        .group_by(DeadBadgeScan.auxiliary_id, Auxiliary.badge_no)
        .order_by(func.count().desc())
    )
    return [(r[0], r[1], r[2]) for r in rows]
