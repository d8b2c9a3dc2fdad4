"""The words the desk shows: the Measures' own, imported from the domain where it defines them, and the few
names of statuses that only a page needs."""

from api.domain.complaints.catalogue import ACTIONS, CATEGORIES, TRANSITIONS
from api.domain.duties import DUTIES, FORBIDDEN_WORK
from api.domain.models import ComplaintStatus
from api.domain.oversight.rectification import STATUS_ZH as ORDER_STATUS_ZH
from api.domain.oversight.roster import HIRE_METHODS_ZH, STATUSES_ZH
from api.domain.staff.assessments import GRADES, SCORE_HEADS
from api.domain.staff.credentials import TRAINING_KINDS
from api.domain.staff.eligibility import EDUCATION_ZH, ELIGIBILITY, PREFERENCES_ZH
from api.domain.staff.status import RECOVERABLE_ITEMS

AUX_STATUS: dict[str, str] = {str(k): v for k, v in STATUSES_ZH.items()}
CREDENTIAL_STATUS = {"valid": "有效", "suspended": "暂停使用", "revoked": "已注销", "superseded": "已作废"}
TASK_STATUS = {"recorded": "已记录", "pending_cosign": "待会签", "cosigned": "已会签", "rejected": "已驳回",
               "superseded": "已更正"}
TASK_MODE = {"independent": "独立", "assisted": "协助"}
COMPLAINT_STATUS = {"received": "已受理", "investigating": "调查中", "resolved": "已办结", "dismissed": "不予支持"}
COMPLAINT_STEP = {"investigating": "开始调查", "resolved": "办结（查实并处理）", "dismissed": "不予支持（结案）"}
ORDER_STATUS: dict[str, str] = {str(k): v for k, v in ORDER_STATUS_ZH.items()}
CHANNELS = {"page": "扫码打开核验页", "api": "接口查询", "image": "上传照片核验", "number": "输入证件编号"}

DUTY_NAMES = {d.code: d.name_zh for d in DUTIES}
INDEPENDENT_DUTIES = [(d.code, f"{d.name_zh}（{d.article}{d.item}）") for d in DUTIES if not d.assisted]
FORBIDDEN_NAMES = {f.flag: f"{f.name_zh}（第十九条{f.item}）" for f in FORBIDDEN_WORK}
CATEGORY_NAMES = {c.code: c.name_zh for c in CATEGORIES}
ACTION_NAMES = {a.code: a.name_zh for a in ACTIONS}
ACTION_OPTIONS = [(a.code, f"{a.name_zh}（{a.article}）") for a in ACTIONS]
GRADE_NAMES = {g.code: g.name_zh for g in GRADES}
TRAINING_OPTIONS = list(TRAINING_KINDS.items())
TRAINING_NAMES: dict[str, str] = {k: v for k, v in TRAINING_KINDS.items()}
EDUCATION_OPTIONS = list(EDUCATION_ZH.items())
HIRE_METHOD_OPTIONS = list(HIRE_METHODS_ZH.items())
ITEMS = dict(RECOVERABLE_ITEMS)
# 第十四条's statements about a person, worded as their rule words them.
RECORD_FLAGS = [(r.code, f"{r.detail_zh}（{r.article}{r.item}）") for r in ELIGIBILITY
                if r.code in ("criminal_record", "pending_criminal_case", "dismissed_for_violation",
                              "serious_dishonesty")]
PREFERENCES = list(PREFERENCES_ZH.items())


def next_steps(status: str) -> list[tuple[str, str]]:
    """The moves a complaint in ``status`` may make, in the order of the table (catalogue.TRANSITIONS)."""
    allowed = TRANSITIONS.get(ComplaintStatus(status), frozenset())
    return [(s, COMPLAINT_STEP[s]) for s in ("investigating", "resolved", "dismissed") if s in allowed]


GLOBALS = {
    "AUX_STATUS": AUX_STATUS, "CREDENTIAL_STATUS": CREDENTIAL_STATUS, "TASK_STATUS": TASK_STATUS,
    "TASK_MODE": TASK_MODE, "COMPLAINT_STATUS": COMPLAINT_STATUS, "ORDER_STATUS": ORDER_STATUS,
    "CHANNELS": CHANNELS, "DUTY_NAMES": DUTY_NAMES, "FORBIDDEN_NAMES": FORBIDDEN_NAMES,
    "CATEGORY_NAMES": CATEGORY_NAMES, "ACTION_NAMES": ACTION_NAMES, "GRADE_NAMES": GRADE_NAMES,
    "TRAINING_NAMES": TRAINING_NAMES, "EDUCATION_ZH": EDUCATION_ZH, "HIRE_METHODS_ZH": HIRE_METHODS_ZH,
    "ITEMS": ITEMS, "PREFERENCES_ZH": PREFERENCES_ZH, "SCORE_HEADS": SCORE_HEADS,
}
