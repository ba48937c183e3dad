"""What a feedback workbook says, shared by its two writers (the XML patcher and the openpyxl path).

Both writers must produce the same cells, comments and list rows, so the wording, colours, column
widths and the rules for which formulas are dropped are defined here once.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from openpyxl.utils.cell import column_index_from_string

from ..base.text import safe_text
from ..check.issues import Issue

AUTHOR = "xltool"
FILLS = {"error": "FFC7CE", "warning": "FFEB9C", "header": "D9E1F2"}
WIDTHS = (6, 8, 28, 16, 60, 20, 20)
TITLE_COLOUR, LINK_COLOUR = "9C0006", "0563C1"
CELL = re.compile(r"^\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6})$")
# a formula that reaches outside the workbook (DDE, external references, web and hyperlink functions)
LIVE = re.compile(r"\||\[|\b(?:WEBSERVICE|HYPERLINK|FILTERXML|IMPORTXML|IMPORTDATA|RTD|CALL|REGISTER|EXEC|DDE)\b", re.I)
TEXT = {
    "zh": {
        "sheet": "问题清单",
        "level": {"error": "错误", "warning": "警告"},
        "head": ("序号", "级别", "位置", "代码", "说明", "应为", "实际"),
        "expected": "应为：",
        "found": "实际：",
        "sep": "；",
        "none": "未发现问题",
        "summary": "共 {e} 个错误、{w} 个警告，请修改标红单元格后重新提交",
    },
    "en": {
        "sheet": "Issues",
        "level": {"error": "Error", "warning": "Warning"},
        "head": ("No.", "Level", "Location", "Code", "Message", "Expected", "Found"),
        "expected": "Expected: ",
        "found": "Found: ",
        "sep": "; ",
        "none": "No problems found",
        "summary": "{e} error(s), {w} warning(s); please correct the highlighted cells and resubmit",
    },
}


def value(v: Any) -> Any:
    """An expected/found value for a cell: a (finite) number, text, or None when unknown."""
    if isinstance(v, float) and math.isfinite(v):
        return int(v) if v.is_integer() else v
    if v is None or isinstance(v, (str, int)) and not isinstance(v, bool):
        return v
    return json.dumps(v, ensure_ascii=False, default=str)


def explain(issue: Issue, t: dict[str, Any], lang: str) -> str:
    """One issue for a comment: level and message, then expected and found when known."""
    # a rule's message names and values both sides: neither is this cell's target, so none is listed
    known = [] if issue.rule else [(t["expected"], value(issue.expected)), (t["found"], value(issue.found))]
    parts = t["sep"].join(f"{label}{v}" for label, v in known if v is not None)
    return f"【{t['level'][issue.severity]}】{issue.message(lang)}" + (f"\n{parts}" if parts else "")


def comment(group: list[Issue], t: dict[str, Any], lang: str) -> tuple[str, int]:
    """(text, height in px) of the one comment on a cell carrying `group`'s issues."""
    lines = [explain(i, t, lang) for i in group]
    text = lines[0] if len(lines) == 1 else "\n".join(f"{n}. {x}" for n, x in enumerate(lines, 1))
    text = safe_text(text, quote=False)
    return text, min(400, 30 + 16 * (text.count("\n") + 1 + len(text) // 24))


def severity(group: list[Issue]) -> str:
    """The fill a cell gets: red when any of its issues is an error."""
    return "error" if any(i.severity == "error" for i in group) else "warning"


def cell_ref(issue: Issue) -> tuple[str, int] | None:
    """(column letters, row) of the issue's cell when it is a cell inside Excel's grid."""
    m = CELL.match((issue.cell or "").strip().upper())
    if m is None or int(m.group(2)) > 2**20 or column_index_from_string(m.group(1)) > 16384:
        return None
    return m.group(1), int(m.group(2))


def neutralised(formula: str) -> str:
    """The text a dropped formula becomes (openpyxl keeps "=" + the <f> text as the cell value)."""
    return formula if formula.startswith("=") else "=" + formula


def row_values(n: int, issue: Issue, t: dict[str, Any], lang: str) -> tuple[Any, ...]:
    """The cells of the list sheet's row for issues[n]."""
    return (
        n + 1,
        t["level"][issue.severity],
        issue.location,
        issue.code,
        issue.message(lang),
        value(issue.expected),
        value(issue.found),
    )
