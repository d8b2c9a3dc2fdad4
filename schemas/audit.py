"""The audit check's answer."""

from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditVerifyRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"ok": False, "entries": 1832, "head": "9f2c…",
                                       "first_bad": {"seq": 412, "entity": "tasks", "entity_id": "…",
                                                     "action": "task.recorded", "reason": "row_altered"}}}
    )
    ok: bool
    entries: int
    head: str
    first_bad: dict[str, Any] | None = None
