"""The words of complaint handling: categories (第九条、第十条), outcomes (第二十八条), the allowed moves
of a complaint as a table, the handling period, and the shapes of tracking numbers and access codes."""

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from api.domain.models import OPEN_COMPLAINT_STATUSES, ComplaintStatus

# Product choice, not a rule of the Measures: the agency should decide within 15 days of receipt.
HANDLING_PERIOD = timedelta(days=15)
# Phones' clocks drift; an incident "a few minutes from now" is a clock, not a lie.
CLOCK_SLACK = timedelta(minutes=10)
MAX_DESCRIPTION = 4000

# No 0/O, 1/I/L: the code is read off a screen and typed back on a phone.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# 31**10 ≈ 2**49.5: a random secret that long needs no slow hash, so SHA-256 is enough to store it.
ACCESS_CODE_LENGTH = 10
TRACKING_SUFFIX_LENGTH = 6
TRACKING_PATTERN = re.compile(rf"^TS\d{{8}}[{CODE_ALPHABET}]{{{TRACKING_SUFFIX_LENGTH}}}$")
BADGE_PATTERN = re.compile(r"^[A-Z0-9]{1,32}$")
PHONE_PATTERN = re.compile(r"^(\+?86[- ]?)?(1[3-9]\d{9}|0\d{2,3}[- ]?\d{7,8})$")


# 第九条、第十条 (categories) and 第二十八条 (outcomes); each is a row of CATEGORIES / ACTIONS below.
ComplaintCategoryCode = Literal[
    "no_identification", "privacy_leak", "abuse_or_bribery", "record_tampering", "beyond_scope", "rude_conduct",
    "other",
]
ActionCode = Literal["correction", "criticism", "discipline", "dismissal", "judicial_referral"]


@dataclass(frozen=True)
class ComplaintCategory:
    code: ComplaintCategoryCode
    article: str
    item: str
    name_zh: str
    name_en: str
    # The words on the citizen's complaint form: short, plain, in the complainant's terms.
    label_zh: str


# What a citizen may complain of: the duties of 第九条 and the prohibitions of 第十条.
CATEGORIES: tuple[ComplaintCategory, ...] = (
    ComplaintCategory("no_identification", "第九条", "第二款", "未佩戴证件、标识或未主动出示",
                      "no credential or badge worn or shown", "未出示证件"),
    ComplaintCategory("privacy_leak", "第十条", "（一）", "泄露秘密、个人隐私等应当保密的信息",
                      "leaking secrets or personal information", "泄露隐私或秘密"),
    ComplaintCategory("abuse_or_bribery", "第十条", "（二）", "滥用职权，索贿受贿，敲诈勒索",
                      "abuse of power, bribery, extortion", "滥用职权或索贿受贿"),
    ComplaintCategory("record_tampering", "第十条", "（三）", "删除、篡改、泄露执法文字、音像、电子数据材料",
                      "deleting, altering or leaking enforcement records", "删除或篡改执法记录"),
    ComplaintCategory("beyond_scope", "第十条", "（四）", "超出职责范围从事辅助活动或拒不履行职责",
                      "acting beyond their duties, or refusing them", "超出职责范围"),
    ComplaintCategory("rude_conduct", "第十条", "（五）", "行为粗暴，辱骂殴打行政相对人等不文明行为",
                      "rough, abusive or violent conduct", "行为粗暴或不文明"),
    ComplaintCategory("other", "第十条", "（六）", "其他违反法律、法规、规章的行为",
                      "other prohibited conduct", "其他"),
)
CATEGORY_BY_CODE: dict[str, ComplaintCategory] = {c.code: c for c in CATEGORIES}


@dataclass(frozen=True)
class Outcome:
    code: ActionCode
    article: str
    name_zh: str
    name_en: str


# 第二十八条: what the agency does about an auxiliary who broke 第十条.
ACTIONS: tuple[Outcome, ...] = (
    Outcome("correction", "第二十八条", "责令改正", "ordered to correct"),
    Outcome("criticism", "第二十八条", "通报批评", "criticised in a circular"),
    Outcome("discipline", "第二十八条", "给予相应处分", "disciplinary sanction"),
    Outcome("dismissal", "第二十八条", "解除劳动关系或退回劳务派遣机构",
            "contract ended or returned to the dispatcher"),
    Outcome("judicial_referral", "第二十八条", "移送司法机关处理", "referred to the judicial organs"),
)
ACTION_BY_CODE: dict[str, Outcome] = {a.code: a for a in ACTIONS}

TRANSITIONS: dict[ComplaintStatus, frozenset[ComplaintStatus]] = {
    ComplaintStatus.RECEIVED: frozenset({ComplaintStatus.INVESTIGATING, ComplaintStatus.DISMISSED}),
    ComplaintStatus.INVESTIGATING: frozenset({ComplaintStatus.RESOLVED, ComplaintStatus.DISMISSED}),
}
OPEN_STATUSES = OPEN_COMPLAINT_STATUSES  # and past due_at: Complaint.overdue
DECIDED_STATUSES = (ComplaintStatus.RESOLVED, ComplaintStatus.DISMISSED)

# What a complainant reads for each status (the tracking page).
STATUS_NAMES_ZH: dict[ComplaintStatus, str] = {
    ComplaintStatus.RECEIVED: "已受理，等待核查",
    ComplaintStatus.INVESTIGATING: "正在调查核实",
    ComplaintStatus.RESOLVED: "已办结",
    ComplaintStatus.DISMISSED: "已办结（经核查不予支持）",
}
