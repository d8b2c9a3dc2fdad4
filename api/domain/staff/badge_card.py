"""The printable badge card (工作证件) of an auxiliary, with the QR code citizens scan (第二十三条、第二十四条).

Only the employing agency prints it (第五条), and only while the credential is valid. The QR carries a fresh
signature of the current credential version, in the compact form (``/B/...``, docs/compact-qr.md) unless
``AUXDUTY_BADGE_QR=jws`` asks for the JWS URL (``/v/...``): either verifies like the token returned at issue. The card
comes as a PNG (card.py) or as a vector PDF for card printers (card_pdf.py), with the same face.
"""

import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from api.domain.access import managed_agencies, not_your_agency
from api.domain.errors import Conflict
from api.domain.models import CredentialStatus, User
from api.domain.organisation.agencies import get_agency
from api.domain.staff.credentials import BadgeSigner, current_credential
from api.domain.staff.lookup import visible_auxiliary
from verification.card import render_badge_card
from verification.card_pdf import render_badge_pdf
from verification.compact import compact_url

QrForm = Literal["compact", "jws"]

CHECK_PATH = "/check"
"""Where anyone can check a badge by its number (the citizen pages), printed beside the number."""


def check_url(public_base_url: str) -> str:
    """The address printed beside the number: without ``https://`` (typed by hand, and a browser adds it)."""
    url = public_base_url.rstrip("/") + CHECK_PATH
    return url.removeprefix("https://")


@dataclass(frozen=True)
class BadgeCard:
    badge_no: str
    png: bytes


@dataclass(frozen=True)
class BadgePdf:
    badge_no: str
    pdf: bytes


@dataclass(frozen=True)
class BadgeFace:
    """What the card shows."""

    name: str
    badge_no: str
    agency: str
    command_agency: str | None
    qr_text: str
    photo: bytes | None


def badge_face(
    session: Session, *, user: User, aux_id: uuid.UUID, signer: BadgeSigner, public_base_url: str,
    qr_form: QrForm = "compact",
) -> BadgeFace:
    """The face of the card to print, for an admin of the employing agency while the credential is valid."""
    aux = visible_auxiliary(session, aux_id, user=user)
    if not managed_agencies(user).covers(aux.agency_id):
        raise not_your_agency("只有用人机关可以打印工作证件", "only the employing agency prints badges")
    credential = current_credential(session, aux)
    if credential is None or credential.status != CredentialStatus.VALID:
        raise Conflict("credential_not_valid", "该辅助人员没有有效的工作证件，不能打印（第二十三条）",
                       "no valid credential to print", article="第二十三条")
    if qr_form == "compact":
        code, _ = signer.sign_compact(credential_id=credential.id, version=credential.version)
        qr_text = compact_url(public_base_url, code)
    else:
        token, _ = signer.sign_badge(credential_id=credential.id, version=credential.version)
        qr_text = f"{public_base_url.rstrip('/')}/v/{token}"
    agency = get_agency(session, aux.agency_id)
    command = get_agency(session, aux.command_agency_id) if aux.command_agency_id else None
    return BadgeFace(name=aux.name, badge_no=aux.badge_no, agency=agency.name,
                     command_agency=command.name if command else None, qr_text=qr_text,
                     photo=aux.photo)


def print_badge_card(
    session: Session, *, user: User, aux_id: uuid.UUID, signer: BadgeSigner, public_base_url: str,
    qr_form: QrForm = "compact",
) -> BadgeCard:
    face = badge_face(session, user=user, aux_id=aux_id, signer=signer, public_base_url=public_base_url,
                      qr_form=qr_form)
    png = render_badge_card(name=face.name, badge_no=face.badge_no, agency=face.agency,
                            command_agency=face.command_agency, qr_text=face.qr_text, photo=face.photo)
    return BadgeCard(face.badge_no, png)


def print_badge_pdf(
    session: Session, *, user: User, aux_id: uuid.UUID, signer: BadgeSigner, public_base_url: str,
    qr_form: QrForm = "compact",
) -> BadgePdf:
    """The same card as a vector PDF, with the address to check the number at printed beside it."""
    face = badge_face(session, user=user, aux_id=aux_id, signer=signer, public_base_url=public_base_url,
                      qr_form=qr_form)
    pdf = render_badge_pdf(name=face.name, badge_no=face.badge_no, agency=face.agency,
                           command_agency=face.command_agency, qr_text=face.qr_text, photo=face.photo,
                           check_url=check_url(public_base_url))
    return BadgePdf(face.badge_no, pdf)
