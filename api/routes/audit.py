"""The integrity check of the hash-chained audit log (第十条(三): records may not be deleted or altered)."""

from fastapi import APIRouter

from api.deps import Admin, SessionDep
from api.domain.audit.log import verify_log
from schemas.audit import AuditVerifyRead

router = APIRouter(prefix="/api", tags=["oversight"])


@router.get("/audit/verify", response_model=AuditVerifyRead)
def verify_audit(session: SessionDep, user: Admin) -> AuditVerifyRead:
    """Re-hash every logged row as it is stored now and walk the chain. `ok: false` names the first bad
    entry: a row changed or removed behind the application's back, or a broken or shortened log."""
    report = verify_log(session)
    return AuditVerifyRead(ok=report.ok, entries=report.entries, head=report.head, first_bad=report.first_bad)
