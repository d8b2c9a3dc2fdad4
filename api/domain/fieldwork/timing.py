"""When field work happened, and whether the auxiliary was allowed to do it then (第二十三条).

The phone's clock and an offline queue make every time on a record a claim. The claims refused (the limits
are ``TimeLimits``, fieldwork/context.py):

    time_in_future          more than ``max_future`` ahead of the server's clock (a phone set wrong)
    time_too_old            before the auxiliary was hired, or older than ``max_age`` on arrival
    credential_not_active   done while the auxiliary's credential was suspended or revoked, or before any
                            was issued and with none valid now (第二十三条)

Work done while the credential was valid but received after it was suspended or revoked is kept and flagged
``recorded_before_suspension``: a phone that was offline that day must not lose the day's records, and the
agency sees which records arrived after the suspension.
"""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from api.domain.base import BEIJING, utcnow
from api.domain.errors import DomainError
from api.domain.fieldwork.context import FieldContext


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:g}"


def check_work_times(
    fc: FieldContext,
    *,
    start: tuple[str, datetime],
    end: tuple[str, datetime] | None = None,
    earliest: datetime | None = None,
) -> None:
    """Refuse a record whose times the server cannot believe. ``start`` and ``end`` are (field name, instant);
    ``earliest`` lets a correction keep the time of the record it corrects, however old."""
    now, limits = utcnow(), fc.limits
    for name, at in (start, end) if end is not None else (start,):
        if at > now + limits.max_future:
            raise DomainError(
                "time_in_future",
                f"{name} 晚于服务器当前时间超过 {_minutes(limits.max_future)} 分钟，请校准手机时间",
                f"{name} is more than {_minutes(limits.max_future)} minutes ahead of the server's clock: "
                "check the phone's clock",
                field=name, server_time=now.isoformat(),
            )
    name, at = start
    if at.astimezone(BEIJING).date() < fc.aux.hired_on:
        raise DomainError("time_too_old", f"{name} 早于聘用日期", f"{name} is before the auxiliary was hired",
                          field=name, hired_on=fc.aux.hired_on.isoformat())
    oldest = now - limits.max_age
    if at < oldest and (earliest is None or at < earliest):
        days = f"{limits.max_age.total_seconds() / 86400:g}"
        raise DomainError("time_too_old", f"{name} 早于 {days} 天前，不再接收", f"{name} is more than {days} days old",
                          field=name, earliest=oldest.isoformat())


def recorded_before_suspension(session: Session, fc: FieldContext, at: datetime) -> bool:
    """Whether work done at ``at`` may be recorded (refused when the credential was out of force then), and
    whether it is to be flagged: done while the credential was valid, received after a suspension or
    revocation that followed it."""
    if fc.may_record and fc.valid_since is not None and fc.valid_since <= at:
        return False  # the usual case, answered without a query: valid since before the work, and still
    history = fc.credential_history(session)
    if history.lapsed_at(at):
        raise fc.not_active()
    if history.lapsed_after(at):
        return True
    if fc.may_record:
        return False  # done before this credential's issue or last reinstatement, with no lapse since
    raise fc.not_active()
