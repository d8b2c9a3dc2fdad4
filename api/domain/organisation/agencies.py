"""The agency tree (市级 → 区级 → 街镇) and who may act on which agency (第五条: 谁使用、谁管理、谁负责)."""

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.errors import Conflict, DomainError, NotFound
from api.domain.models import LEVEL_RANK, Agency, AgencyLevel


def create_agency(
    session: Session,
    *,
    name: str,
    code: str,
    level: AgencyLevel,
    parent_id: uuid.UUID | None,
    headcount_quota: int,
    actor_id: uuid.UUID | None = None,
) -> Agency:
    """An agency in the tree, below one of a higher level, with its approved headcount (员额, 第十二条)."""
    if parent_id is not None:
        parent = session.get(Agency, parent_id)
        if parent is None:
            raise NotFound("parent agency", "上级机关")
        if LEVEL_RANK[AgencyLevel(parent.level)] >= LEVEL_RANK[level]:
            raise DomainError(
                "invalid_parent_level",
                "上级机关的层级必须高于本机关（市级 → 区级 → 街镇）",
                "the parent must be of a higher level (municipal → district → street)",
            )
    elif level != AgencyLevel.MUNICIPAL:
        raise DomainError(
            "parent_required", "区级和街镇机关须指定上级机关", "district and street agencies need a parent"
        )
    agency = Agency(name=name, code=code, level=level, parent_id=parent_id, headcount_quota=headcount_quota)
    session.add(agency)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("agency_code_taken", "机关代码已被使用", f"agency code {code!r} is taken") from None
    audit.record(session, agency, "agency.created", actor_id=actor_id)
    return agency


def ancestors(session: Session, agency: Agency) -> list[Agency]:
    chain: list[Agency] = []
    current = agency
    while current.parent_id is not None:
        parent = session.get(Agency, current.parent_id)
        if parent is None:
            break
        chain.append(parent)
        current = parent
    return chain


def is_descendant(session: Session, agency: Agency, of: uuid.UUID) -> bool:
    return any(a.id == of for a in ancestors(session, agency))


def get_agency(session: Session, agency_id: uuid.UUID) -> Agency:
    agency = session.get(Agency, agency_id)
    if agency is None:
        raise NotFound("agency", "机关")
    return agency


def list_agencies(session: Session) -> list[Agency]:
    return list(session.scalars(select(Agency).order_by(Agency.level, Agency.code)))
