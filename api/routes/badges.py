"""The printable badge card (工作证件) of an auxiliary, with the QR code citizens scan (第二十三条)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.deps import Admin, ContextDep, SessionDep
from api.domain.privacy_tables import ReadKind
from api.domain.staff.badge_card import print_badge_card
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
                            public_base_url=ctx.settings.public_base_url)
    log_personal_reads(session, user, ReadKind.BADGE_CARD, [aux_id])  # the photo and the name, printed
    return Response(card.png, media_type="image/png", headers={
        "Content-Disposition": f'inline; filename="badge-{card.badge_no}.png"', "Cache-Control": "no-store"})
