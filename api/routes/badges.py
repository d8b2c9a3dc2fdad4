"""The printable badge card (工作证件) of an auxiliary, with the QR code citizens scan (第二十三条)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response
from starlette.concurrency import run_in_threadpool

from api.deps import Admin, ContextDep, SessionDep
from api.domain.errors import Conflict, Forbidden
from api.domain.models import CredentialStatus
from api.domain.organisation.agencies import get_agency
from api.domain.staff.credentials import current_credential
from api.domain.staff.lookup import visible_auxiliary
from verification.card import render_badge_card

router = APIRouter(prefix="/api", tags=["auxiliaries"])


@router.get("/auxiliaries/{aux_id}/badge.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}, "description": "the card, 638×1011 px at 300 dpi"}})
async def read_badge_card(
    ctx: ContextDep, session: SessionDep, user: Admin, aux_id: Annotated[uuid.UUID, Path()]
) -> Response:
    """The badge card to print, for the employing agency: photo, name, badge number, agency, command agency
    and the QR code of the current credential. 409 `credential_not_valid` while the credential is not valid."""
    aux = await run_in_threadpool(visible_auxiliary, session, aux_id, user=user)
    if user.agency_id != aux.agency_id:
        raise Forbidden("not_your_agency", "只有用人机关可以打印工作证件", "only the employing agency prints badges",
                        article="第五条")
    credential = current_credential(session, aux)
    if credential is None or credential.status != CredentialStatus.VALID:
        raise Conflict("credential_not_valid", "该辅助人员没有有效的工作证件，不能打印（第二十三条）",
                       "no valid credential to print", article="第二十三条")
    # A fresh signature of the same credential version: it verifies exactly like the one issued.
    token, _ = ctx.keyring.sign_badge(credential_id=credential.id, version=credential.version)
    agency = get_agency(session, aux.agency_id)
    command = get_agency(session, aux.command_agency_id) if aux.command_agency_id else None
    png = await run_in_threadpool(
        render_badge_card, name=aux.name, badge_no=aux.badge_no, agency=agency.name,
        command_agency=command.name if command else None,
        qr_text=f"{ctx.settings.public_base_url}/v/{token}", photo=aux.photo,
    )
    return Response(png, media_type="image/png", headers={
        "Content-Disposition": f'inline; filename="badge-{aux.badge_no}.png"', "Cache-Control": "no-store"})
