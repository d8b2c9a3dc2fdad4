"""The printable badge card (工作证件) of an auxiliary, with the QR code citizens scan (第二十三条、第二十四条).

Only the employing agency prints it (第五条), and only while the credential is valid. The QR carries a fresh
signature of the current credential version: it verifies exactly like the token returned at issue.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.domain.access import managed_agencies, not_your_agency
from api.domain.errors import Conflict
from api.domain.models import CredentialStatus, User
from api.domain.organisation.agencies import get_agency
from api.domain.staff.credentials import BadgeSigner, current_credential
from api.domain.staff.lookup import visible_auxiliary
from verification.card import render_badge_card


@dataclass(frozen=True)
class BadgeCard:
    badge_no: str
    png: bytes


def print_badge_card(
    session: Session, *, user: User, aux_id: uuid.UUID, signer: BadgeSigner, public_base_url: str
) -> BadgeCard:
    aux = visible_auxiliary(session, aux_id, user=user)
    if not managed_agencies(user).covers(aux.agency_id):
        raise not_your_agency("只有用人机关可以打印工作证件", "only the employing agency prints badges")
    credential = current_credential(session, aux)
    if credential is None or credential.status != CredentialStatus.VALID:
        raise Conflict("credential_not_valid", "该辅助人员没有有效的工作证件，不能打印（第二十三条）",
                       "no valid credential to print", article="第二十三条")
    token, _ = signer.sign_badge(credential_id=credential.id, version=credential.version)
    agency = get_agency(session, aux.agency_id)
    command = get_agency(session, aux.command_agency_id) if aux.command_agency_id else None
    png = render_badge_card(
        name=aux.name, badge_no=aux.badge_no, agency=agency.name, command_agency=command.name if command else None,
        qr_text=f"{public_base_url}/v/{token}", photo=aux.photo,
    )
    return BadgeCard(aux.badge_no, png)
