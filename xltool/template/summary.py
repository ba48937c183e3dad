"""The summary cell under each sheet's title ("有 2 处不一致，请核对标红单元格" / 校验通过 / 尚未填写).

It counts the ✗ and ✓ of the checks sheet, so every sheet (the instructions included) shows the same
verdict; it turns red while a check fails, like the cells it points at.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..check.evaluate import FAIL, PASS, Outcome
from ..check.formulas import FAIL_MARK, PASS_MARK
from ..spec.positions import SUMMARY_ROW

FAILING_PREFIX, FAILING_SUFFIX = "有 ", " 处不一致，请核对标红单元格"
PASSED, NOT_FILLED = "校验通过", "尚未填写"


def failing_text(fails: int) -> str:
    return f"{FAILING_PREFIX}{fails}{FAILING_SUFFIX}"


def summary_formula(state_range: str) -> str:
    fails = f'COUNTIF({state_range},"{FAIL_MARK}")'
    failing = f'"{FAILING_PREFIX}"&{fails}&"{FAILING_SUFFIX}"'
    return f'=IF({fails}>0,{failing},IF(COUNTIF({state_range},"{PASS_MARK}")=0,"{NOT_FILLED}","{PASSED}"))'


def summary_value(outcomes: Iterable[Outcome]) -> str:
    """The formula's result for these outcomes (the cached value a reader without recalculation sees)."""
    listed = list(outcomes)
    fails = sum(1 for o in listed if o.state == FAIL and o.rule.severity == "error")
    if fails:
        return failing_text(fails)
    return PASSED if any(o.state == PASS for o in listed) else NOT_FILLED


def write_summary(ws: Any, last_col: int, state_range: str, value: str, formats: dict[str, Any]) -> None:
    """Merged summary row across the sheet's columns, red while a check fails. `ws` is a `Checked` worksheet."""
    fmt = formats["summary"]
    ws.merge_range(SUMMARY_ROW, 0, SUMMARY_ROW, last_col, "", fmt)
    ws.write_formula(SUMMARY_ROW, 0, summary_formula(state_range), fmt, value)
    red = {"type": "text", "criteria": "begins with", "value": FAILING_PREFIX, "format": formats["red"]}
    ws.conditional_format(SUMMARY_ROW, 0, SUMMARY_ROW, 0, red)  # a merge shows its first cell
