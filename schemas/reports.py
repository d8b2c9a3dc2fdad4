"""Oversight reports: the December roster filing (第十二条) and per-agency usage metrics (第三十条)."""

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class AgencyRef(BaseModel):
    id: uuid.UUID
    name: str
    code: str
    level: str


class DutyName(BaseModel):
    code: str
    name: str


class RosterAuxiliary(BaseModel):
    agency: AgencyRef = Field(description="the employing agency (the city-wide roster lists every agency's)")
    badge_no: str
    name: str
    id_number_masked: str | None = Field(description="居民身份证号码, masked (first six, last four)")
    hire_method: str = Field(description="direct | dispatch")
    hire_method_name: str
    dispatch_company: str | None
    hired_on: date
    status: str = Field(description="on 31 December of the year, not today: pending_training | active | "
                                    "suspended | departed")
    status_name: str
    left_on: date | None = Field(description="only a departure on or before 31 December of the year")
    command_agency: str = Field(
        description="the agency that commands them (第二十二条); the employer if not seconded"
    )
    categories: list[DutyName] = Field(description="independent duties granted (第七条)")
    training_hours: dict[str, float] = Field(description="hours of training that year, by kind (第二十条)")
    training_hours_year: float = Field(description="hours of training that year, all kinds")
    training_hours_total: float = Field(description="hours of every training completed up to 31 December")


class TaskCount(BaseModel):
    category: str
    name: str
    mode: str
    count: int


class RosterUsage(BaseModel):
    headcount_quota: int
    headcount_used: int
    tasks: int
    tasks_by_mode: dict[str, int]
    tasks_by_category: list[TaskCount]
    assisted_tasks: int
    cosigned: int
    rejected: int
    pending_cosign: int
    cosigned_share: float | None = Field(
        description="co-signed assisted tasks / assisted tasks; null if there were none"
    )
    complaints_received: int
    complaints_substantiated: int
    article19_cases: int


class RosterRead(BaseModel):
    """The December filing of one agency for one year (第十二条)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "agency": {"id": "8c1d7f5e-0000-4000-8000-000000000002", "name": "玄武区城市管理局",
                               "code": "XW-CG", "level": "district"},
                    "year": 2026,
                    "status_as_of": "2026-12-31",
                    "generated_at": "2026-12-10T02:00:00Z",
                    "auxiliaries": [
                        {"agency": {"id": "8c1d7f5e-0000-4000-8000-000000000002", "name": "玄武区城市管理局",
                                    "code": "XW-CG", "level": "district"},
                         "badge_no": "NJ20260000123", "name": "李协管", "id_number_masked": "320102********1232",
                         "hire_method": "dispatch",
                         "hire_method_name": "劳务派遣", "dispatch_company": "南京某人力资源有限公司",
                         "hired_on": "2024-03-01", "status": "active", "status_name": "在岗", "left_on": None,
                         "command_agency": "新街口街道办事处",
                         "categories": [{"code": "patrol", "name": "巡查责任区"}],
                         "training_hours": {"pre_job": 0, "political": 8, "legal": 16, "skills": 8,
                                            "mental_health": 4},
                         "training_hours_year": 36, "training_hours_total": 148}
                    ],
                    "usage": {"headcount_quota": 120, "headcount_used": 97, "tasks": 5210,
                              "tasks_by_mode": {"independent": 4300, "assisted": 910},
                              "tasks_by_category": [{"category": "patrol", "name": "巡查责任区",
                                                     "mode": "independent", "count": 3900}],
                              "assisted_tasks": 910, "cosigned": 880, "rejected": 12,
                              "pending_cosign": 18, "cosigned_share": 0.967, "complaints_received": 14,
                              "complaints_substantiated": 3, "article19_cases": 1},
                }
            ]
        }
    )

    agency: AgencyRef | None = Field(description="null: the whole city's roster (justice bureau only)")
    year: int
    status_as_of: date = Field(description="31 December of the year: the day every row's status is taken on")
    generated_at: datetime
    auxiliaries: list[RosterAuxiliary]
    usage: RosterUsage | None = Field(
        description="how the agency used its staff that year; null for the city-wide roster"
    )


class AgencyMetricsRead(BaseModel):
    agency: AgencyRef
    headcount_quota: int
    headcount_used: int
    auxiliaries: dict[str, int] = Field(description="current count by status: pending_training, active, ...")
    tasks_last_30_days: dict[str, int] = Field(description="by mode: independent, assisted")
    pending_cosign: int = Field(description="tasks waiting for a co-signature from this agency's officers")
    oldest_pending_since: datetime | None
    oldest_pending_hours: float | None
    complaints_open: int
    complaints_overdue: int = Field(description="open past their 15-day handling deadline")
    article19_cases: int
    article19_cases_last_30_days: int
    dead_badge_scans: int = Field(description="scans of suspended, revoked, superseded or expired badges")
    dead_badge_scans_last_30_days: int


class MetricsRead(BaseModel):
    """Usage figures per agency for the rule-of-law evaluation (第三十条)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "generated_at": "2026-12-10T02:00:00Z",
                    "agencies": [
                        {"agency": {"id": "8c1d7f5e-0000-4000-8000-000000000002", "name": "玄武区城市管理局",
                                    "code": "XW-CG", "level": "district"},
                         "headcount_quota": 120, "headcount_used": 97,
                         "auxiliaries": {"pending_training": 2, "active": 90, "suspended": 1, "departed": 4,
                                         "dismissed": 1},
                         "tasks_last_30_days": {"independent": 410, "assisted": 75},
                         "pending_cosign": 6, "oldest_pending_since": "2026-12-08T01:12:00Z",
                         "oldest_pending_hours": 48.8, "complaints_open": 3, "complaints_overdue": 1,
                         "article19_cases": 1, "article19_cases_last_30_days": 0,
                         "dead_badge_scans": 5, "dead_badge_scans_last_30_days": 2}
                    ],
                    "unassigned_complaints_open": 2,
                    "unassigned_complaints_overdue": 0,
                }
            ]
        }
    )

    generated_at: datetime
    agencies: list[AgencyMetricsRead]
    unassigned_complaints_open: int | None = Field(
        description="complaints tied to no agency (the justice bureau's queue); null for an agency admin"
    )
    unassigned_complaints_overdue: int | None
