"""The county summary as a workbook: a filled, locked template of the same format plus one sheet with
every organisation's figures side by side.

The template part is written by the template writer itself (same layout, formulas, checks,
protection), so the summary prints like any organisation's report and its totals recalculate. The
extra sheet has one row per organisation and one column per numeric field (the field's official
label path as header), a 合计 row of SUM formulas, last year's sum (上年) beside each total and the
cross-year rule's outcome.
"""

from __future__ import annotations

from typing import Any

from ..base.text import safe_text
from ..check.evaluate import flatten
from ..check.report_json import json_number
from ..spec.positions import col_letter
from ..template.writer import TemplateOptions, write_template
from .aggregate import Summary

SHEET = "各单位数据"
FIXED = ("单位名称", "统一社会信用代码", "层级")


def _cell_value(v: Any) -> Any:
    v = json_number(v)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _side_by_side(summary: Summary) -> Any:
    model = summary.model
    numeric = [f for f in model.fields if f.numeric and not f.identity]

    def write(wb: Any, fm: dict[str, Any]) -> None:
        ws = wb.add_worksheet(SHEET)
        head = wb.add_format({"bold": True, "text_wrap": True, "valign": "top", "border": 1, "bg_color": "#D9E1F2"})
        num = wb.add_format({"border": 1, "num_format": "General"})
        text = wb.add_format({"border": 1})
        bold = wb.add_format({"border": 1, "bold": True, "num_format": "General", "bg_color": "#EDEDED"})
        n_fixed = len(FIXED)
        for c, h in enumerate(FIXED):
            ws.write_string(0, c, h, head)
            ws.write_string(1, c, "", head)
        for c, f in enumerate(numeric, start=n_fixed):
            ws.write_string(0, c, f.label, head)
            ws.write_string(1, c, f.pointer, head)
        ws.set_row(0, 120)
        ws.set_column(0, 0, 30)
        ws.set_column(1, 2, 18)
        ws.set_column(n_fixed, n_fixed + len(numeric) - 1, 12)
        r = 2
        for o in summary.included:
            flat = flatten(model, o.report)
            ws.write_string(r, 0, safe_text(o.name, quote=False), text)
            ws.write_string(r, 1, safe_text(o.code, quote=False), text)
            ws.write_string(r, 2, model.levels.get(o.level, o.level), text)
            for c, f in enumerate(numeric, start=n_fixed):
                v = _cell_value(flat.get(f.pointer))
                if v is None:
                    ws.write_blank(r, c, None, num)
                else:
                    ws.write_number(r, c, v, num)
            r += 1
        first, last = 3, r  # 1-based rows of the organisations
        ws.write_string(r, 0, "合计", bold)
        ws.write_string(r, 1, "", bold)
        ws.write_string(r, 2, f"{len(summary.included)}个单位", bold)
        for c, f in enumerate(numeric, start=n_fixed):
            col = col_letter(c)
            total = _cell_value(summary.totals.get(f.pointer))
            ws.write_formula(r, c, f"=SUM({col}{first}:{col}{last})", bold, 0 if total is None else total)
        r += 1
        if summary.previous is not None:
            ws.write_string(r, 0, "上年", bold)
            ws.write_string(r, 1, "", bold)
            ws.write_string(r, 2, f"{len(summary.previous_orgs)}个单位", bold)
            for c, f in enumerate(numeric, start=n_fixed):
                v = _cell_value(summary.previous.get(f.pointer))
                if v is None:
                    ws.write_string(r, c, "—", bold)
                else:
                    ws.write_number(r, c, v, bold)
            r += 1
        r += 1
        for line in cross_year_lines(summary):
            ws.write_string(r, 0, line)
            r += 1
        ws.freeze_panes(2, 1)
        ws.autofilter(1, 0, max(1, last - 1), n_fixed + len(numeric) - 1)
        ws.set_landscape()
        ws.set_paper(9)
        ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True, "autofilter": True, "sort": True})

    return write


def cross_year_lines(summary: Summary) -> list[str]:
    """What the cross-year rules found on the sum, in words, for the sheet and the county's eye."""
    cross = [r.id for r in summary.model.rules if r.cross_year]
    if not cross:
        return []
    if summary.previous is None:
        return [f"{'、'.join(cross)}：归档中没有上年度数据，未做跨年度核对"]
    failed = [i for i in summary.issues if i.code in cross]
    if not failed:
        return [f"{'、'.join(cross)}：与上年度（{len(summary.previous_orgs)}个单位）核对一致"]
    return [i.message_zh for i in failed]


def summary_workbook(summary: Summary, *, issue_date: str = "") -> bytes:
    values = {p: json_number(v) for p, v in summary.totals.items()}
    opts = TemplateOptions(
        year=summary.data.year,
        org_name=str(values.get(summary.model.identity_fields.get("org_name", ""), "") or ""),
        level="county" if "county" in summary.model.levels else "",
        issue_date=issue_date,
        values=values,
        extra_sheets=_side_by_side(summary),
    )
    data, _ident = write_template(summary.model, opts)
    return data
