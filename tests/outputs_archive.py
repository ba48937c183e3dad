"""An archive of 30 organisations built by the real `collect` from generated filled workbooks.

2023 (the year summed): 18 townships and 12 county departments on the roster; 25 accepted (one of
them resubmitted: the second, corrected file is the one archived as current), 2 with rule errors,
1 filled into another organisation's template (wrong_org), 2 missing. 2022: five of them, so
last year's figures and the cross-year rule W4 have something to compare with.

Every accepted report's values are kept (`Built.accepted`), so a test can sum them on its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from support import credit_code
from test_collect import BASE, workbook, write_roster
from test_collect import DEPTS as DEPT_NAMES
from test_collect import TOWNS as TOWN_NAMES

from xltool.collect.run import collect

T0 = 1_706_000_000


code = credit_code  # a valid 统一社会信用代码 from its first 17 characters


TOWNS = [
    (f"示例县{t}{'办事处' if t.endswith('街道') else '人民政府'}", code(f"11330000MB{n:07d}"), "township")
    for n, t in enumerate(TOWN_NAMES[:18])
]
DEPTS = [(f"示例{d}", code(f"11330000MC{n:07d}"), "county_department") for n, d in enumerate(DEPT_NAMES[:12])]
ROSTER = TOWNS + DEPTS
MISSING = [TOWNS[16], DEPTS[11]]
WITH_ERRORS = [TOWNS[3], DEPTS[4]]
WRONG_ORG = TOWNS[7]  # fills the template issued to TOWNS[17] (which also sends its own, correct file)
RESUBMITTED = TOWNS[1]
INJECTED = TOWNS[5]
PREVIOUS = [TOWNS[0], TOWNS[1], TOWNS[2], DEPTS[0], DEPTS[1]]


def report_values(org: tuple[str, str, str], n: int, year: int = 2023) -> dict[str, Any]:
    """A consistent report: `n` more applications from natural persons, all disclosed, and a fee amount
    with decimals; every total that includes them moves too, so R1-R4 hold."""
    v = dict(BASE)
    v.update({"/year": year, "/organization/name": org[0], "/organization/code": org[1]})
    for p in (
        "/applications/received/natural_person",
        "/applications/received/total",
        "/applications/results/disclosed/natural_person",
        "/applications/results/disclosed/total",
        "/applications/results/total/natural_person",
        "/applications/results/total/total",
    ):
        v[p] = BASE[p] + n
    v["/proactive/licensing/decisions"] = 30 + n
    v["/proactive/fees/amount"] = Decimal("1.25") + Decimal(n) / Decimal(100)
    return v


def _cell_values(v: dict[str, Any]) -> dict[str, Any]:
    """What the writer is given: amounts as floats (a workbook cell holds a float)."""
    return {k: float(x) if isinstance(x, Decimal) else x for k, x in v.items()}


@dataclass
class Built:
    root: Path
    archive: Path
    roster: Path
    accepted: dict[str, dict[str, Any]]  # organisation -> the values of its current accepted report
    previous: dict[str, dict[str, Any]]  # organisation -> its 2022 values


def _put(inbox: Path, name: str, data: bytes, minute: int) -> None:
    path = inbox / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (T0 + 60 * minute, T0 + 60 * minute))


def build(root: Path) -> Built:
    archive, roster = root / "档案", write_roster(root / "roster.csv", ROSTER)
    previous: dict[str, dict[str, Any]] = {}
    inbox22 = root / "inbox-2022"
    for i, org in enumerate(PREVIOUS):
        v = report_values(org, i, 2022)
        previous[org[0]] = v
        _put(inbox22, f"{i:02d}.xlsx", workbook(org, _cell_values(v), 2022), i)
    collect(inbox22, archive, roster=roster, year=2022, jobs=2)

    inbox = root / "inbox-2023"
    accepted: dict[str, dict[str, Any]] = {}
    wrong_template = TOWNS[17]
    for i, org in enumerate(ROSTER):
        if org in MISSING:
            continue
        v = report_values(org, i)
        if org in WITH_ERRORS:
            v["/applications/received/natural_person"] += 1  # 一+二 no longer equals （七）+四: R1 and R2
            _put(inbox, f"{org[0]}.xlsx", workbook(org, _cell_values(v)), 100 + i)
            continue
        if org == WRONG_ORG:  # filled into the template issued to another organisation
            _put(inbox, f"{org[0]}.xlsx", workbook(wrong_template, _cell_values(v)), 100 + i)
            continue
        if org == INJECTED:  # township text a spreadsheet would run as a formula
            v["/problems"] = '=HYPERLINK("http://example.invalid","点击")'
        if org == RESUBMITTED:
            first = report_values(org, 500)
            _put(inbox, f"{org[0]}-初版.xlsx", workbook(org, _cell_values(first)), 10)
        _put(inbox, f"{org[0]}.xlsx", workbook(org, _cell_values(v)), 100 + i)
        accepted[org[0]] = v
    collect(inbox, archive, roster=roster, year=2023, jobs=2)
    return Built(root, archive, roster, accepted, previous)
