"""The transparency log's answers: proofs, a record's entries, the oversight check (第十条(三))."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Reason = Literal["row_altered", "row_removed", "row_unlogged", "file_altered", "file_missing", "log_truncated",
                 "log_rewritten", "bad_signature"]


class FirstBad(BaseModel):
    index: int | None = Field(None, description="the leaf index, or the tree size of the checkpoint concerned")
    entity: str | None = None
    entity_id: str | None = None
    reason: Reason


class AuditVerifyRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {
            "ok": False, "size": 1832, "root": "5f3c0e…",
            "checks": {"leaves": 1832, "checkpoints": 41, "rows": 1290, "files": 17}, "mode": "full",
            "verified_from": 0,
            "first_bad": {"entity": "tasks", "entity_id": "3f0c6a8e-5b1d-4c8e-9a57-2d1f0b6e7a10",
                          "reason": "row_altered"}}}
    )
    ok: bool
    size: int = Field(description="leaves in the tree as recomputed")
    root: str = Field(description="its root hash, hex")
    checks: dict[str, int] = Field(description="what was checked: leaves, checkpoints, rows, files")
    first_bad: FirstBad | None = None
    mode: Literal["full", "incremental"] = Field(
        description="incremental: from the last passing check, reading only the leaves added since (every row, "
        "checkpoint signature and file is still checked); full: every leaf from the first")
    verified_from: int = Field(description="the tree size the last passing check left, where this one started "
                               "(0 for a full check)")


class InclusionProofRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"index": 3, "size": 8, "hashes": ["d37e…", "fa61…"]}})
    index: int
    size: int
    hashes: list[str] = Field(description="RFC 9162 §2.1.3 audit path, hex, leaf to root")


class ConsistencyProofRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"first": 4, "second": 8, "hashes": ["5f3c…"]}})
    first: int
    second: int
    hashes: list[str] = Field(description="RFC 9162 §2.1.4 consistency proof, hex")


class LogEntryRead(BaseModel):
    index: int
    leaf_hash: str = Field(description="SHA-256(0x00 ‖ leaf), hex")
    leaf_b64: str = Field(description="the exact leaf bytes that were hashed, base64")
    at: datetime
    action: str


class LogEntries(BaseModel):
    items: list[LogEntryRead]
