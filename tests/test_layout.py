"""The shape of the code: imports point one way (the contracts in pyproject.toml), the domain's modules stay
small, and each word of the Measures is defined once, in the domain, with a row of its table per word."""

import re
import subprocess
import sys
from pathlib import Path
from typing import get_args

from api.domain.complaints.catalogue import ACTIONS, CATEGORIES, ActionCode, ComplaintCategoryCode
from api.domain.duties import DUTIES, FORBIDDEN_WORK, DutyCode, ForbiddenFlagName
from api.domain.oversight.rectification import STEPS
from api.domain.oversight_tables import RectificationAction, RectificationStatus, RectificationStatusName
from api.domain.staff.assessments import GRADES, AssessmentGrade
from api.domain.staff.credentials import TRAINING_KINDS, TrainingKind
from api.domain.staff.eligibility import EDUCATION_RANK, Education
from api.domain.staff.status import RECOVERABLE_ITEMS, RecoverableItem
from api.error_codes import by_code
from schemas import auxiliaries, complaints, rectification, standing, tasks

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400


def test_imports_point_one_way() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_no_domain_module_is_over_400_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "api" / "domain").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_every_word_of_the_measures_has_exactly_one_row_in_its_table() -> None:
    assert list(get_args(DutyCode)) == [d.code for d in DUTIES]
    assert sorted(get_args(ForbiddenFlagName)) == sorted(f.flag for f in FORBIDDEN_WORK)
    assert list(get_args(TrainingKind)) == list(TRAINING_KINDS)
    assert list(get_args(Education)) == list(EDUCATION_RANK)
    assert list(get_args(RecoverableItem)) == list(RECOVERABLE_ITEMS)
    assert list(get_args(ComplaintCategoryCode)) == [c.code for c in CATEGORIES]
    assert list(get_args(ActionCode)) == [a.code for a in ACTIONS]
    assert list(get_args(RectificationStatusName)) == [s.value for s in RectificationStatus]
    assert list(get_args(RectificationAction)) == ["issue", *STEPS]
    assert list(get_args(AssessmentGrade)) == [g.code for g in GRADES]


def test_schemas_take_their_words_from_the_domain() -> None:
    # The very objects, imported: a copy of the Literal in a schema would be another object.
    assert vars(auxiliaries)["DutyCode"] is DutyCode and vars(tasks)["DutyCode"] is DutyCode
    assert vars(auxiliaries)["TrainingKind"] is TrainingKind and vars(auxiliaries)["Education"] is Education
    assert vars(complaints)["ComplaintCategoryCode"] is ComplaintCategoryCode
    assert vars(complaints)["ActionCode"] is ActionCode
    assert vars(rectification)["RectificationStatusName"] is RectificationStatusName
    assert vars(standing)["ActionCode"] is ActionCode and vars(standing)["AssessmentGrade"] is AssessmentGrade


def test_the_table_of_the_measures_names_tests_and_codes_that_exist() -> None:
    table = (ROOT / "docs" / "measures.md").read_text(encoding="utf-8")
    rows = [line for line in table.splitlines() if line.startswith("| 第")]
    assert rows
    missing = []
    for row in rows:
        _, article, _, codes, tests, _ = row.split("|")
        assert re.fullmatch(r" 第.+条.* ", article), row
        missing += [c for c in re.findall(r"`([a-z][a-z0-9_]*)`", codes) if c not in by_code()]
        named = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", tests)
        assert named, row
        missing += [f"{path}::{name}" for path, name in named
                    if f"def {name}(" not in (ROOT / path).read_text(encoding="utf-8")]
    assert missing == []
