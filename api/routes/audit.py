"""The transparency log (第十条(三)): its signed checkpoint, key and proofs for anyone; a record's entries and
the integrity check for the justice bureau."""

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse

from api.deps import ContextDep, JusticeAdmin, SessionDep
from api.domain.audit.check import verify_log
from api.domain.audit.checkpoints import published_checkpoint
from api.domain.audit.log import KEY_ENTITIES, LOGGED
from api.domain.audit.tree import consistency, entries_of, inclusion
from api.domain.errors import NotFound
from schemas.audit import (
    AuditVerifyRead,
    ConsistencyProofRead,
    FirstBad,
    InclusionProofRead,
    LogEntries,
    LogEntryRead,
)

router = APIRouter(prefix="/api", tags=["oversight"])
public = APIRouter(prefix="/api/public/log", tags=["log"])
TEXT: dict[int | str, dict[str, Any]] = {200: {"content": {"text/plain": {"schema": {"type": "string"}}}}}
Count = Annotated[int, Query(ge=0, le=2**62)]


@public.get("/checkpoint", response_class=PlainTextResponse, responses=TEXT)
def read_checkpoint(session: SessionDep) -> PlainTextResponse:
    """The newest signed checkpoint: a C2SP signed note (origin, tree size, root hash in base64, an empty line,
    then one signature line per key)."""
    checkpoint = published_checkpoint(session)
    return PlainTextResponse(checkpoint.note, headers={"Cache-Control": "no-cache"})


@public.get("/key", response_class=PlainTextResponse, responses=TEXT)
def read_log_key(ctx: ContextDep) -> PlainTextResponse:
    """The note verifier key of the newest checkpoint signing key: `<name>+<key hash>+<base64 key>`."""
    return PlainTextResponse(ctx.log.keys.verifier_keys()[0] + "\n")


@public.get("/keys", response_class=PlainTextResponse, responses=TEXT)
def read_log_keys(ctx: ContextDep) -> PlainTextResponse:
    """Every key that signs checkpoints now, newest first, one verifier key per line (during a rotation)."""
    return PlainTextResponse("".join(f"{key}\n" for key in ctx.log.keys.verifier_keys()))


@public.get("/proof/inclusion", response_model=InclusionProofRead)
def read_inclusion_proof(session: SessionDep, index: Count, size: Count) -> InclusionProofRead:
    """The audit path of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3)."""
    return InclusionProofRead(index=index, size=size, hashes=[h.hex() for h in inclusion(session, index, size)])


@public.get("/proof/consistency", response_model=ConsistencyProofRead)
def read_consistency_proof(session: SessionDep, first: Count, second: Count) -> ConsistencyProofRead:
    """That the tree of `second` leaves only appended to the tree of `first` (RFC 9162 §2.1.4)."""
    hashes = consistency(session, first, second)
    return ConsistencyProofRead(first=first, second=second, hashes=[h.hex() for h in hashes])


@router.get("/audit/records/{entity}/{record_id}", response_model=LogEntries)
def read_record_entries(
    session: SessionDep,
    user: JusticeAdmin,
    entity: Annotated[str, Path(max_length=40, pattern=r"^[a-z0-9_]+$")],
    record_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")],
) -> LogEntries:
    """The log entries of one record, oldest first; `entity` is the plural resource name (`tasks`,
    `complaints`, `auxiliaries`, `credentials`, `evidence`, ...)."""
    if entity not in LOGGED and entity not in KEY_ENTITIES:
        raise NotFound("entity", "记录类型")
    return LogEntries(items=[
        LogEntryRead(index=e.idx, leaf_hash=bytes(e.leaf_hash).hex(), leaf_b64=base64.b64encode(e.leaf).decode(),
                     at=e.at, action=e.action)
        for e in entries_of(session, entity, record_id)
    ])


@router.get("/audit/verify", response_model=AuditVerifyRead, response_model_exclude_none=True)
def verify_audit(
    ctx: ContextDep, session: SessionDep, user: JusticeAdmin,
    full: Annotated[bool, Query(description="re-read every leaf from the first, not only those added since the "
                                "last passing check")] = False,
) -> AuditVerifyRead:
    """Check the tree against every published checkpoint, re-hash every logged row and evidence file, and look
    for rows with no leaf. `ok: false` names the first bad entry and its reason. Incremental from the last
    passing check unless `full=true`; whenever anything disagrees the full check runs and names the entry."""
    report = verify_log(session, ctx.log, evidence_dir=ctx.storage, full=full)
    return AuditVerifyRead(ok=report.ok, size=report.size, root=report.root, checks=report.checks,
                           first_bad=FirstBad(**report.first_bad) if report.first_bad else None,
                           mode="incremental" if report.mode == "incremental" else "full",
                           verified_from=report.verified_from)
