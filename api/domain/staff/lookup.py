"""Finding one auxiliary for a caller (第五条): read by their agency, the agency commanding them, the
justice bureau and themself; changed only by the agency that manages them. Anything else is 404."""

import uuid

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, undefer

from api.domain.access import require_managed, visible_agencies
from api.domain.errors import NotFound
from api.domain.models import Auxiliary, AuxiliaryStatus, User


def can_read(user: User, aux: Auxiliary) -> bool:
    """第五条: the employer, the street it is seconded to, the justice bureau, and the person themself."""
    return visible_agencies(user).covers(aux.agency_id, aux.command_agency_id) or aux.user_id == user.id


def _load(session: Session, aux_id: uuid.UUID, *, lock: bool) -> Auxiliary | None:
    stmt = select(Auxiliary).where(Auxiliary.id == aux_id).execution_options(populate_existing=True)
    if lock:
        # NO KEY UPDATE: serialises writes on this auxiliary without blocking inserts that reference it. The
        # photo comes with the row: every write logs the row, and its hash holds the photo, which would
        # otherwise be fetched on its own when the leaf is made.
        stmt = stmt.with_for_update(key_share=True).options(undefer(Auxiliary.photo))
    return session.scalars(stmt).one_or_none()


def visible_auxiliary(session: Session, aux_id: uuid.UUID, *, user: User) -> Auxiliary:
    """The auxiliary, if ``user`` may know of them; anyone else learns nothing, not even that they exist."""
    aux = _load(session, aux_id, lock=False)
    if aux is None or not can_read(user, aux):
        raise NotFound("auxiliary", "辅助人员")
    return aux


def managed_auxiliary(
    session: Session, aux_id: uuid.UUID, *, user: User, or_commanding: bool = False
) -> Auxiliary:
    """The auxiliary, locked for a write by an admin of their employing agency; with ``or_commanding``, also by
    an admin of the street they are seconded to (第二十二条: it assesses them)."""
    aux = _load(session, aux_id, lock=True)
    if aux is None or not can_read(user, aux):
        raise NotFound("auxiliary", "辅助人员")
    require_managed(user, aux.agency_id,
                    commanding_agency_id=aux.commanding_agency_id if or_commanding else None)
    return aux


def auxiliaries_query(
    *, user: User, agency_id: uuid.UUID | None, status: AuxiliaryStatus | None, search: str | None = None
) -> Select[Auxiliary]:
    """The auxiliaries ``user`` may list: an admin sees their own staff and those seconded to them. ``search``
    matches part of a name or of a badge number (whatever its case)."""
    scope = visible_agencies(user)
    stmt = select(Auxiliary).where(
        scope.where(Auxiliary.agency_id, Auxiliary.command_agency_id) if scope.any else Auxiliary.user_id == user.id
    )
    if agency_id is not None:
        stmt = stmt.where(Auxiliary.agency_id == agency_id)
    if status is not None:
        stmt = stmt.where(Auxiliary.status == status)
    if search and search.strip():
        text = search.strip()
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Auxiliary.name.like(pattern, escape="\\"),
                              Auxiliary.badge_no.like(pattern.upper(), escape="\\")))
    return stmt
