"""The printable badge card (工作证件) of an auxiliary, with the QR code citizens scan (第二十三条)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.deps import Admin, ContextDep, SessionDep
from api.domain.privacy_tables import ReadKind
from api.domain.staff.badge_card import print_badge_card, print_badge_pdf
from api.read_log import log_personal_reads

router = APIRouter(prefix="/api", tags=["auxiliaries"])


@router.get("/auxiliaries/{aux_id}/badge.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}, "description": "the card, 638×1011 px at 300 dpi"}})
def read_badge_card(
    ctx: ContextDep, session: SessionDep, user: Admin, aux_id: Annotated[uuid.UUID, Path()]
) -> Response:
    """The badge card to print, for the employing agency: photo, name, badge number, agency, command agency
    and the QR code of the current credential. 409 `credential_not_valid` while the credential is not valid."""
    card = print_badge_card(session, user=user, aux_id=aux_id, signer=ctx.keyring,
                            public_base_url=ctx.settings.public_base_url, qr_form=ctx.settings.badge_qr)
    log_personal_reads(session, user, ReadKind.BADGE_CARD, [aux_id])  # the photo and the name, printed
    return Response(card.png, media_type="image/png", headers={
        "Content-Disposition": f'inline; filename="badge-{card.badge_no}.png"', "Cache-Control": "no-store"})


@router.get("/auxiliaries/{aux_id}/badge.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}},
                             "description": "the card as a one-page vector PDF, CR80 (54 × 85.6 mm)"}})
def read_badge_pdf(
    ctx: ContextDep, session: SessionDep, user: Admin, aux_id: Annotated[uuid.UUID, Path()]
) -> Response:
    """The badge card for card printers, as a vector PDF: the same face as `badge.png` (photo, name, badge
    number, agency, command agency, the QR code drawn as vector squares), with the address where anyone can
    check the number printed beside it. For the employing agency; 409 `credential_not_valid` while the
    credential is not valid."""
    card = print_badge_pdf(session, user=user, aux_id=aux_id, signer=ctx.keyring,
                           public_base_url=ctx.settings.public_base_url, qr_form=ctx.settings.badge_qr)
    log_personal_reads(session, user, ReadKind.BADGE_CARD, [aux_id])  # the photo and the name, printed
    return Response(card.pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="badge-{card.badge_no}.pdf"', "Cache-Control": "no-store"})
