"""What a citizen learns by scanning a badge (第二十四条).

Only what the Measures make public is here: who the person is, who employs and commands them, what they may
do alone (第七条) and only under an officer (第八条). Nothing else about them (第十条(一)).
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

VerificationStatus = Literal["valid", "suspended", "revoked", "superseded", "expired", "invalid"]


class DutyRead(BaseModel):
    """A duty category, with its Chinese name so the page needs no catalogue of its own."""

    code: str = Field(examples=["patrol"])
    name: str = Field(examples=["巡查责任区域，发现、劝阻、报告违法行为"])


class VerificationRead(BaseModel):
    """The answer to a badge check, the same whether the badge was scanned, photographed or typed in.

    Only `valid` shows the person and their duties as current; any other status means the badge must not be
    trusted, and `notice` says so in plain Chinese. Fields about the person are null when the token could not
    be tied to anyone (`invalid`).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "valid",
                    "badge_no": "A8972138",
                    "name": "张三",
                    "agency": "南京市玄武区城市管理局",
                    "command_agency": "玄武区新街口街道办事处",
                    "photo_url": "/api/public/photos/A8972138.jpg",
                    "independent_duties": [
                        {"code": "publicity", "name": "宣传法律、法规、规章和政策"},
                        {"code": "patrol", "name": "巡查责任区域，发现、劝阻、报告违法行为"},
                    ],
                    "assisted_duties": [
                        {"code": "scene_order", "name": "维护执法现场秩序"},
                    ],
                    "notice": "行政执法辅助人员不具有独立的执法资格，只能在执法人员指挥和监督下工作。",
                    "checked_at": "2026-11-26T08:30:00Z",
                }
            ]
        }
    )

    status: VerificationStatus
    badge_no: str | None
    name: str | None
    agency: str | None
    command_agency: str | None
    photo_url: str | None
    independent_duties: list[DutyRead]
    assisted_duties: list[DutyRead]
    notice: str
    checked_at: datetime
