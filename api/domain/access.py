"""Who may see or change what (第五条: 谁使用、谁管理、谁负责): the one answer every list and every write uses.

    justice_admin   sees every agency's records; manages none of their staff (oversight, not management)
    agency_admin    sees and manages their own agency's: the staff it employs, and for daily command the
                    staff seconded to it (第二十二条), whom it also assesses (绩效考核)
    officer         no agency-wide reach: the records that name them
    auxiliary       no agency-wide reach: their own records

A record belongs to one or two agencies (employer, commanding agency); ``AgencyScope.where`` turns a scope
into the SQL condition on those columns, ``AgencyScope.covers`` answers for one loaded row.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.orm import InstrumentedAttribute

from api.domain.errors import Forbidden
from api.domain.models import Role, User


@dataclass(frozen=True)
class AgencyScope:
    """A set of agencies, or all of them."""

    everything: bool = False
    agency_ids: frozenset[uuid.UUID] = frozenset()

    @property
    def any(self) -> bool:
        return self.everything or bool(self.agency_ids)

    def covers(self, *agency_ids: uuid.UUID | None) -> bool:
        """True when any of ``agency_ids`` (a record's employer, its commanding agency) is in the scope."""
        return self.everything or any(a in self.agency_ids for a in agency_ids if a is not None)

    def where(self, *columns: InstrumentedAttribute[uuid.UUID] | InstrumentedAttribute[uuid.UUID | None]
              ) -> ColumnElement[bool]:
        """The SQL condition: a row whose agency in any of ``columns`` is in the scope."""
        if self.everything:
            return true()
        if not self.agency_ids:
            return false()
        return or_(*(column.in_(self.agency_ids) for column in columns))


NOWHERE = AgencyScope()


def visible_agencies(user: User) -> AgencyScope:
    """The agencies whose staff and records ``user`` may read."""
    if user.role == Role.JUSTICE_ADMIN:
        return AgencyScope(everything=True)
    if user.role == Role.AGENCY_ADMIN and user.agency_id is not None:
        return AgencyScope(agency_ids=frozenset({user.agency_id}))
    return NOWHERE


def managed_agencies(user: User) -> AgencyScope:
    """The agencies whose staff ``user`` may hire, train, credential, suspend, second and dismiss."""
    if user.role == Role.AGENCY_ADMIN and user.agency_id is not None:
        return AgencyScope(agency_ids=frozenset({user.agency_id}))
    return NOWHERE


def not_your_agency(detail_zh: str = "只能由用人机关管理本机关的行政执法辅助人员",
                    detail_en: str = "only the employing agency's admins manage its auxiliaries") -> Forbidden:
    return Forbidden("not_your_agency", detail_zh, detail_en, article="第五条")


def require_managed(user: User, agency_id: uuid.UUID, *, commanding_agency_id: uuid.UUID | None = None) -> None:
    """Refuse a write on ``agency_id``'s staff by anyone but that agency (第五条). With
    ``commanding_agency_id``, the agency that commands a seconded auxiliary may write too: the street that uses
    them assesses them (第二十二条: 街镇统筹指挥调配、使用下沉的行政执法辅助人员，并进行绩效考核)."""
    if not managed_agencies(user).covers(agency_id, commanding_agency_id):
        if commanding_agency_id is not None:
            raise not_your_agency("只能由用人机关或下沉所在街镇考核该辅助人员",
                                  "only the employing agency, or the street commanding them, assesses an auxiliary")
        raise not_your_agency()


def require_visible(user: User, *agency_ids: uuid.UUID | None) -> None:
    """Refuse a read of records kept about staff (their standing) by anyone but the agencies that employ or
    command them and the justice bureau (第五条). The person themself may read their record, not these."""
    if not visible_agencies(user).covers(*agency_ids):
        raise not_your_agency("只能由用人机关、指挥机关或司法行政部门查看",
                              "only the employing or commanding agency and the justice bureau may read this")
