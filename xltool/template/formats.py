"""Cell formats of the template: one place for its look (input shading, headers, checks, marks).

Input formats are the only unlocked ones, so "only inputs are editable" follows from the style a
cell gets. Colours are the usual Excel/WPS palette for good/bad/neutral cells.
"""

from __future__ import annotations

from typing import Any

from xlsxwriter.workbook import Workbook

INPUT_BG = "#FFF2CC"
DERIVED_BG = "#EDEDED"
HEADER_BG = "#D9E1F2"
RED_BG, RED_FG = "#FFC7CE", "#9C0006"
WARN_BG, WARN_FG = "#FFEB9C", "#9C5700"


def make_formats(wb: Workbook) -> dict[str, Any]:
    """Named formats: roles of label cells, field kinds for inputs, and check/mark styles."""
    base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter"}
    border = {"border": 1}

    def f(**kw: Any) -> Any:
        return wb.add_format({**base, **kw})

    return {
        "title": f(bold=True, font_size=16, align="center"),
        "summary": f(bold=True, align="center", font_color="#375623"),
        "heading": f(bold=True, font_size=12, align="left"),
        "caption": f(bold=True, align="left", bg_color=HEADER_BG, **border),
        "header": f(bold=True, align="center", text_wrap=True, bg_color=HEADER_BG, **border),
        "label": f(align="left", text_wrap=True, **border),
        "check_label": f(bold=True, align="center", text_wrap=True, font_color="#7F7F7F", **border),
        "legend": f(italic=True, font_size=9, font_color="#595959", text_wrap=True, valign="top"),
        "count": f(locked=False, bg_color=INPUT_BG, align="right", num_format="0", **border),
        "signed_count": f(locked=False, bg_color=INPUT_BG, align="right", num_format="0", **border),
        "integer": f(locked=False, bg_color=INPUT_BG, align="left", num_format="0", **border),
        "amount": f(locked=False, bg_color=INPUT_BG, align="right", num_format="General", **border),
        "text": f(locked=False, bg_color=INPUT_BG, text_wrap=True, valign="top", align="left", **border),
        "string": f(locked=False, bg_color=INPUT_BG, align="left", **border),
        "derived": f(bold=True, bg_color=DERIVED_BG, align="right", num_format="0", **border),
        "check": f(bold=True, align="center", **border),
        "red": wb.add_format({"bg_color": RED_BG, "font_color": RED_FG}),
        "warn": wb.add_format({"bg_color": WARN_BG, "font_color": WARN_FG}),
        "pass": wb.add_format({"font_color": "#00B050"}),
        "plain": f(text_wrap=True, valign="top"),
        "bold": f(bold=True),
        "key": f(bold=True, bg_color=HEADER_BG, **border),
        "cellval": f(text_wrap=True, **border),
    }
