"""The duty catalogue of 第七条 (independent) and 第八条 (assisted), and the forbidden work of 第十九条.

This file answers "what may an auxiliary do alone, and what only beside an officer?".
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

# The duty codes of 第七条 and 第八条, as the schemas and pages take them; each is a row of DUTIES below.
DutyCode = Literal[
    "publicity", "patrol", "clerical", "technical", "support", "assigned",
    "order_correction", "inspection", "document_service", "decision_execution", "scene_order", "statutory_other",
]
ForbiddenFlagName = Literal["fine_quota", "in_officer_name", "needs_professional_qualification", "state_secret"]
# The free-text field a record of a duty must carry: the agency's written assignment (第七条(六)) or the legal
# basis (第八条(六)); fieldwork/tasks.py refuses a record without it (assignment_required, legal_basis_required).
Requirement = Literal["assignment_ref", "legal_basis"]


class TaskMode(StrEnum):
    INDEPENDENT = "independent"
    ASSISTED = "assisted"


@dataclass(frozen=True)
class Duty:
    code: DutyCode
    article: str
    item: str
    name_zh: str
    name_en: str
    assisted: bool
    # Which free-text field a record of this duty must carry, and why.
    requires: Requirement | None = None

    @property
    def mode(self) -> TaskMode:
        return TaskMode.ASSISTED if self.assisted else TaskMode.INDEPENDENT


DUTIES: tuple[Duty, ...] = (
    Duty("publicity", "第七条", "（一）", "宣传相关法律、法规、规章和政策", "publicising laws and policies", False),
    Duty("patrol", "第七条", "（二）", "巡查责任区，及时发现、劝阻违法行为并上报",
         "patrolling the responsibility zone, dissuading and reporting violations", False),
    Duty("clerical", "第七条", "（三）", "文书制作、档案管理、接线查询、窗口接送材料、信息采集与录入",
         "documents, archives, hotline, window intake, data entry", False),
    Duty("technical", "第七条", "（四）", "计算机网络维护、数据分析统计、实验室分析、翻译",
         "network upkeep, statistics, laboratory analysis, translation", False),
    Duty("support", "第七条", "（五）", "通信保障、执法装备保管和维护保养",
         "communications, custody and upkeep of equipment", False),
    Duty("assigned", "第七条", "（六）", "行政执法机关交办的不影响实质性权利义务的其他辅助工作",
         "other assigned work affecting no one's substantive rights", False, requires="assignment_ref"),
    Duty("order_correction", "第八条", "（一）", "协助责令改正违法行为", "ordering a violation corrected", True),
    Duty("inspection", "第八条", "（二）", "协助开展行政检查、现场核查、调查取证",
         "inspections, on-site checks, evidence collection", True),
    Duty("document_service", "第八条", "（三）", "协助送达相关法律文书", "serving legal documents", True),
    Duty("decision_execution", "第八条", "（四）", "协助执行行政执法决定", "executing enforcement decisions", True),
    Duty("scene_order", "第八条", "（五）", "协助维持行政执法现场秩序", "keeping order at an enforcement scene", True),
    Duty("statutory_other", "第八条", "（六）", "法律、法规、规章规定的其他辅助执法工作",
         "other assisting work provided by law", True, requires="legal_basis"),
)

DUTY_BY_CODE: dict[str, Duty] = {d.code: d for d in DUTIES}
INDEPENDENT_CODES: frozenset[str] = frozenset(d.code for d in DUTIES if not d.assisted)
ASSISTED_CODES: frozenset[str] = frozenset(d.code for d in DUTIES if d.assisted)


@dataclass(frozen=True)
class ForbiddenFlag:
    flag: ForbiddenFlagName
    item: str
    name_zh: str
    name_en: str


# 第十九条: what no agency or officer may make an auxiliary do. Any of these set on a task or an
# assignment refuses it and opens an Article 19 case against whoever asked.
FORBIDDEN_WORK: tuple[ForbiddenFlag, ...] = (
    ForbiddenFlag("fine_quota", "（一）", "下达罚款、收费指标或将报酬与罚没款挂钩",
                  "a fine or fee quota, or pay tied to fines"),
    ForbiddenFlag("in_officer_name", "（三）", "以行政执法人员名义从事执法活动", "acting in an officer's name"),
    ForbiddenFlag("needs_professional_qualification", "（四）", "从事须具备专业资质的工作",
                  "work that needs a professional qualification"),
    ForbiddenFlag("state_secret", "（五）", "从事涉及国家秘密的执法活动", "enforcement work involving state secrets"),
)
FORBIDDEN_FLAGS: tuple[str, ...] = tuple(f.flag for f in FORBIDDEN_WORK)
