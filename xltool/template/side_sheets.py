"""The sheets around the data sheets: instructions first, then the checks list and the hidden identity.

Positions come from `spec.positions` and `Layout` (check rows, state cells), so the reader and the
tests find the same cells.
"""

from __future__ import annotations

from typing import Any

from ..check.evaluate import BLANK, Outcome
from ..check.formulas import FAIL_MARK, PASS_MARK, WARN_MARK, Compiler, mark
from ..spec.identity import Identity
from ..spec.identity import defined_name as identity_name
from ..spec.layout import Layout
from ..spec.positions import (
    CHECKS_COLUMNS,
    CHECKS_FIRST_ROW,
    CHECKS_HEADER_ROW,
    CHECKS_STATE_COL,
    INFO_FIRST_ROW,
    KEY_COL,
    META_KEY_COL,
    META_VALUE_COL,
    TITLE_ROW,
    VALUE_COL,
    abs_a1,
    meta_row,
    sheet_ref,
)
from ..spec.rules import Compare, RuleInstance
from .summary import write_summary

CHECKS_HEADINGS = {
    "rule": "规则",
    "title": "名称",
    "item": "对象",
    "state": "状态",
    "left": "左边",
    "right": "右边",
    "severity": "级别",
}
CHECKS_WIDTHS = {"rule": 8, "title": 44, "item": 30, "state": 8, "left": 12, "right": 12, "severity": 8}
CHECKS_TITLE = f"校验结果（自动计算，{PASS_MARK} 一致，{FAIL_MARK} 不一致，{WARN_MARK} 提示）"


def write_instructions(
    ws: Any,
    info: list[tuple[str, str]],
    lines: tuple[str, ...],
    title: str,
    summary: tuple[str, str],
    fm: dict[str, Any],
) -> None:
    """Title, the summary of every check, whom the template was issued to, and the filling instructions.
    `summary` is (state range, cached value)."""
    ws.set_column(KEY_COL, KEY_COL, 18)
    ws.set_column(VALUE_COL, VALUE_COL, 90)
    ws.merge_range(TITLE_ROW, KEY_COL, TITLE_ROW, VALUE_COL, title, fm["title"])
    write_summary(ws, VALUE_COL, summary[0], summary[1], fm)
    r = INFO_FIRST_ROW
    for key, value in info:
        ws.write_string(r, KEY_COL, key, fm["key"])
        ws.write_string(r, VALUE_COL, value, fm["cellval"])
        r += 1
    r += 1
    ws.write_string(r, KEY_COL, "填报说明", fm["heading"])
    for i, line in enumerate(lines, start=1):
        ws.write_string(r + i, KEY_COL, f"{i}.", fm["plain"])
        ws.write_string(r + i, VALUE_COL, line, fm["plain"])
        ws.set_row(r + i, 30)
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.activate()


def write_checks(
    ws: Any, layout: Layout, compiler: Compiler, outcomes: dict[tuple[str, int], Outcome], fm: dict[str, Any]
) -> None:
    """One row per rule instance: its state (the data sheet's check cell when it has one) and both sides."""
    sheet = layout.model.checks_sheet
    col = {name: i for i, name in enumerate(CHECKS_COLUMNS)}
    for name, i in col.items():
        ws.set_column(i, i, CHECKS_WIDTHS[name])
        ws.write_string(CHECKS_HEADER_ROW, i, CHECKS_HEADINGS[name], fm["header"])
    ws.merge_range(TITLE_ROW, 0, TITLE_ROW, len(CHECKS_COLUMNS) - 1, CHECKS_TITLE, fm["title"])
    state_cells, rows = layout.state_cells, layout.check_rows
    for rule in layout.model.rules:
        for inst in rule.instances:
            key = (rule.id, inst.index)
            r, o = rows[key], outcomes[key]
            ws.write_string(r, col["rule"], rule.id, fm["cellval"])
            ws.write_string(r, col["title"], rule.title_zh, fm["cellval"])
            ws.write_string(r, col["item"], inst.item_label or "", fm["cellval"])
            here = state_cells[key] == sheet_ref(sheet, r, CHECKS_STATE_COL)
            formula = compiler.check_formula(rule, inst, sheet) if here else "=" + state_cells[key]
            ws.write_formula(r, CHECKS_STATE_COL, formula, fm["check"], mark(o.state, rule.severity))
            for side in ("left", "right"):
                if isinstance(inst.check, Compare) and not rule.cross_year:
                    shown = getattr(o, side) if o.state != BLANK and getattr(o, side) is not None else 0
                    ws.write_formula(r, col[side], _side_formula(layout, compiler, inst, side), fm["cellval"], shown)
                else:
                    ws.write_blank(r, col[side], None, fm["cellval"])
            ws.write_string(r, col["severity"], "错误" if rule.severity == "error" else "提示", fm["cellval"])
    last = CHECKS_FIRST_ROW + max(len(rows), 1) - 1
    states = f"{abs_a1(CHECKS_FIRST_ROW, CHECKS_STATE_COL)}:{abs_a1(last, CHECKS_STATE_COL)}"
    for shown, style in ((FAIL_MARK, "red"), (WARN_MARK, "warn"), (PASS_MARK, "pass")):
        ws.conditional_format(states, {"type": "cell", "criteria": "==", "value": f'"{shown}"', "format": fm[style]})
    ws.freeze_panes(CHECKS_FIRST_ROW, 0)
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(CHECKS_HEADER_ROW)


def _side_formula(layout: Layout, compiler: Compiler, inst: RuleInstance, side: str) -> str:
    """One side of a comparison as a formula on the checks sheet, memoised per layout."""
    key = ("checks-side", inst.rule_id, inst.index, side)
    found = layout.memo.get(key)
    if not isinstance(found, str):
        found = layout.memo[key] = "=" + compiler.expr(getattr(inst.check, side), layout.model.checks_sheet)
    return found


def write_meta(wb: Any, ws: Any, sheet: str, identity: Identity) -> None:
    """The identity on a hidden sheet, as workbook names and as document properties (three copies, so a
    re-save by any spreadsheet program keeps at least one)."""
    ws.set_column(META_KEY_COL, META_KEY_COL, 22)
    ws.set_column(META_VALUE_COL, META_VALUE_COL, 60)
    for key, value in identity.items():
        r = meta_row(key)
        ws.write_string(r, META_KEY_COL, key)
        ws.write_string(r, META_VALUE_COL, value)
        wb.define_name(identity_name(key), "=" + sheet_ref(sheet, r, META_VALUE_COL))
        if value:
            wb.set_custom_property(identity_name(key), value)
    ws.hide()
