"""What a complainant holds (第二十四条 with 第十条(三)): the hash of their complaint's leaf at once, its place in
the log once the integrator gave it one, and, once a checkpoint covers it, an inclusion proof to that signed
checkpoint, so they can prove later, without trusting the service, that exactly this complaint was received."""

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.audit.checkpoints import latest_checkpoint
from api.domain.audit.tree import prove_inclusion
from api.domain.models import LogLeaf, LogPending

FILED = "complaint.filed"


@dataclass(frozen=True)
class Receipt:
    leaf_hash: bytes
    log_index: int | None


@dataclass(frozen=True)
class Inclusion:
    index: int
    size: int
    hashes: list[bytes]
    checkpoint: str


def filing_receipt(session: Session, complaint_id: uuid.UUID) -> Receipt | None:
    key = str(complaint_id)
    placed = session.execute(select(LogLeaf.leaf_hash, LogLeaf.idx).where(
        LogLeaf.entity == "complaints", LogLeaf.entity_id == key, LogLeaf.action == FILED)).first()
    if placed is not None:
        return Receipt(bytes(placed[0]), int(placed[1]))
    waiting = session.scalar(select(LogPending.leaf_hash).where(
        LogPending.entity == "complaints", LogPending.entity_id == key, LogPending.action == FILED))
    return Receipt(bytes(waiting), None) if waiting is not None else None


def filing_inclusion(session: Session, receipt: Receipt | None) -> Inclusion | None:
    if receipt is None or receipt.log_index is None:
        return None
    checkpoint = latest_checkpoint(session)
    if checkpoint is None or checkpoint.size <= receipt.log_index:
        return None
    return Inclusion(receipt.log_index, checkpoint.size, prove_inclusion(session, receipt.log_index,
                                                                         checkpoint.size), checkpoint.note)
