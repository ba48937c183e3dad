"""Feedback workbook: the organisation's own file sent back with every problem cell marked.

Each issue cell is filled (red error, yellow warning; number format, borders, protection kept) and
gets one comment explaining all its issues; a last, unprotected sheet 问题清单 lists every issue
with links. The source is never modified. Issue text (which quotes user data) goes through
`sanitize`, so nothing written can become a formula. Protection of the other sheets is kept.

Two writers, one result: `feedback_patch` edits the returned file's XML (about the cost of a read);
`openpyxl_feedback` loads, marks and saves it with openpyxl (the reference, several times slower)
and writes every file the patcher declines (see its docstring for which).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import defaultdict
from io import BytesIO
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.cell import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from ..base.errors import InputFileError
from ..base.files import write_atomic
from ..base.internals import existing_cells
from ..base.text import write_text
from ..check.issues import Issue, count, sort_issues
from .feedback_patch import patch
from .feedback_styles import Unhandled
from .feedback_text import (
    AUTHOR,
    FILLS,
    LINK_COLOUR,
    LIVE,
    TEXT,
    TITLE_COLOUR,
    WIDTHS,
    cell_ref,
    comment,
    neutralised,
    row_values,
    severity,
)
from .safety import Sniffed, sniff

log = logging.getLogger(__name__)

_FILL = {k: PatternFill(fill_type="solid", start_color="FF" + v, end_color="FF" + v) for k, v in FILLS.items()}


def _target(wb: Workbook, issue: Issue) -> tuple[Worksheet, str] | None:
    """(sheet, coordinate of the cell to mark) when the issue's cell exists; merged -> top-left."""
    ref = cell_ref(issue)
    ws = wb[issue.sheet] if ref and issue.sheet in wb.sheetnames else None
    if ref is None or not isinstance(ws, Worksheet):
        return None  # no such sheet or cell, or a chart sheet
    coord = f"{ref[0]}{ref[1]}"
    rng = next((r for r in ws.merged_cells.ranges if coord in r), None)
    return ws, coord if rng is None else f"{get_column_letter(rng.min_col)}{rng.min_row}"


def _sniff(source: Path) -> Sniffed:
    """The source's bytes after the safety gate, refused unless an .xlsx/.xlsm workbook."""
    sniffed = sniff(source)
    if sniffed.kind not in ("xlsx", "xlsm"):
        kind = sniffed.kind
        raise InputFileError(
            "FEEDBACK_NEEDS_XLSX",
            f"反馈只能写入 .xlsx 工作簿（此文件是 .{kind}），请用Excel另存为 .xlsx",
            f"feedback needs an .xlsx workbook (this is .{kind})",
            str(source),
            {"kind": kind},
        )
    return sniffed


def _load(sniffed: Sniffed, source: Path) -> Workbook:
    """Open the checked bytes with openpyxl; its warnings about parts it drops are logged."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", category=UserWarning, module="openpyxl")
        try:  # the reader stops after the rows it needs; this parses everything, damage included
            wb = load_workbook(BytesIO(sniffed.data), keep_vba=False, rich_text=False)
        except Exception as exc:  # noqa: BLE001 - any parser failure on hostile input
            raise InputFileError(
                "UNREADABLE_WORKBOOK",
                "文件的部分内容已损坏，无法生成反馈工作簿；请用Excel打开后另存为 .xlsx 再提交",
                "part of the workbook is damaged, so no feedback workbook can be written; "
                "open it in Excel, save it as .xlsx and submit again",
                str(source),
                {"error": repr(exc)[:300]},
            ) from None
    for w in caught:  # openpyxl says which parts it drops (e.g. an unsupported extension): log it
        if issubclass(w.category, UserWarning) and "openpyxl" in (w.filename or ""):
            log.info("%s: openpyxl: %s", source, w.message)
        else:  # anything else goes on as it came
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return wb


def _neutralise(wb: Workbook, marked: set[tuple[str, str]]) -> None:
    """Formulas a user typed stay text in the copy sent back out: `=cmd|' /C calc'!A0` or
    `=WEBSERVICE(...)` in an input cell would run again on every machine that opens the feedback.

    Dropped (the formula text kept as a string cell): every formula in an unlocked (input) cell or
    in a cell an issue marks, and any formula anywhere that reaches outside the workbook (DDE,
    external references, web and hyperlink functions). The template's own totals and checks stay."""
    for ws in wb.worksheets:
        for cell in existing_cells(ws):
            if cell.data_type != "f":
                continue
            text = cell.value if isinstance(cell.value, str) else str(getattr(cell.value, "text", "") or "")
            unlocked = cell.protection is not None and not cell.protection.locked
            if unlocked or (ws.title, cell.coordinate) in marked or LIVE.search(text):
                write_text(cell, neutralised(text))


def _mark(wb: Workbook, issues: list[Issue], t: dict[str, Any], lang: str) -> dict[int, tuple[Worksheet, str]]:
    """Fill and comment every issue cell; returns where issues[n] was marked, by n."""
    for ws in wb.worksheets:  # comments of an earlier feedback round are stale
        for cell in existing_cells(ws):  # iter_rows would create every empty cell
            if cell.comment is not None and cell.comment.author == AUTHOR:
                cell.comment = None
    where: dict[int, tuple[Worksheet, str]] = {}
    groups: dict[tuple[str, str], list[Issue]] = defaultdict(list)
    for n, issue in enumerate(issues):
        if (found := _target(wb, issue)) is not None:
            where[n] = found
            groups[(found[0].title, found[1])].append(issue)
    for (sheet, coord), group in groups.items():
        cell = wb[sheet][coord]
        cell.fill = _FILL[severity(group)]
        text, height = comment(group, t, lang)
        cell.comment = Comment(text, AUTHOR, height=height, width=260)
    return where


def _list_sheet(
    wb: Workbook,
    issues: list[Issue],
    where: dict[int, tuple[Worksheet, str]],
    t: dict[str, Any],
    lang: str,
    title: str | None,
) -> None:
    """Add (replacing an old one) the last sheet listing every issue, unprotected and active."""
    if t["sheet"] in wb.sheetnames:
        del wb[t["sheet"]]
    ws, (errors, warns) = wb.create_sheet(t["sheet"]), count(issues)
    top = [(title, Font(bold=True, size=14))] if title else []
    top.append((t["summary"].format(e=errors, w=warns) if issues else t["none"], Font(bold=True, color=TITLE_COLOUR)))
    for r, (text, font) in enumerate(top, 1):
        write_text(ws.cell(r, 1), text)
        ws.cell(r, 1).font = font
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(WIDTHS))
    head, wrap = len(top) + 1, Alignment(wrap_text=True, vertical="top")
    for c, label in enumerate(t["head"], 1):
        cell = ws.cell(head, c, label)
        cell.font, cell.fill, cell.alignment = Font(bold=True), _FILL["header"], Alignment(horizontal="center")
    for n, issue in enumerate(issues):
        r = head + 1 + n
        for c, value in enumerate(row_values(n, issue, t, lang), 1):
            cell = ws.cell(r, c)
            cell.alignment = wrap
            if isinstance(value, str):
                write_text(cell, value)
            else:
                cell.value = value
        ws.cell(r, 2).fill = _FILL[issue.severity]
        if n in where and where[n][0].sheet_state == "visible":  # Excel cannot jump to a hidden sheet
            loc, (target, coord) = ws.cell(r, 3), where[n]
            quoted = target.title.replace("'", "''")
            loc.hyperlink = Hyperlink(ref=loc.coordinate, location=f"'{quoted}'!{coord}")
            loc.font = Font(color=LINK_COLOUR, underline="single")
    for c, width in enumerate(WIDTHS, 1):
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.auto_filter.ref = f"A{head}:{get_column_letter(len(WIDTHS))}{head + len(issues)}"
    ws.freeze_panes, ws.print_title_rows = f"A{head + 1}", f"{head}:{head}"
    ws.page_setup.orientation, ws.page_setup.fitToHeight = "landscape", 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    for other in wb.worksheets:  # one selected tab, else Excel opens with sheets grouped
        for view in (other.views if isinstance(other, Worksheet) else other.sheetViews).sheetView:
            view.tabSelected = False
    wb.active, ws.sheet_view.tabSelected = ws, True


def write_feedback(source: Path, issues: list[Issue], out: Path, *, lang: str = "zh", title: str | None = None) -> Path:
    """Write `source` with every issue marked to `out` (atomically, as .xlsx); returns `out`.

    Issues whose sheet and cell exist mark that cell (top-left of a merged range); the others (only
    a pointer) are in the list sheet only. `lang` "zh" (sheet 问题清单) or "en" (sheet Issues);
    `title`: optional first line of the list sheet. ValueError if `out` is `source`; InputFileError
    if the source is not a safe .xlsx/.xlsm (sniffed first; macros are not kept).
    """
    source, out = Path(source), Path(out)
    if lang not in TEXT:
        raise ValueError(f"lang must be one of {sorted(TEXT)}, got {lang!r}")
    if out.resolve() == source.resolve() or (out.exists() and source.exists() and os.path.samefile(out, source)):
        raise ValueError(f"feedback output {out} would overwrite its source {source}")
    sniffed = _sniff(source)
    try:
        data = patch(sniffed.data, issues, TEXT[lang], lang, title, sniffed.parts)
    except Unhandled as why:  # something the patcher does not handle with certainty
        log.debug("%s: feedback by openpyxl: %s", source, why)
        data = openpyxl_feedback(sniffed, source, issues, lang=lang, title=title)
    except Exception as exc:  # noqa: BLE001 - hostile input the patcher trips over: the exact path decides
        log.info("%s: feedback patcher failed (%r); by openpyxl", source, exc)
        data = openpyxl_feedback(sniffed, source, issues, lang=lang, title=title)
    return write_atomic(out, data)


def openpyxl_feedback(sniffed: Sniffed, source: Path, issues: list[Issue], *, lang: str, title: str | None) -> bytes:
    """The feedback workbook by an openpyxl round trip: the reference, and the path for every file
    `feedback_patch` does not handle (slower: openpyxl re-derives every style and merged border)."""
    t, wb = TEXT[lang], _load(sniffed, source)
    ordered = sort_issues(issues, wb.sheetnames)
    where = _mark(wb, ordered, t, lang)
    _neutralise(wb, {(ws.title, coord) for ws, coord in where.values()})
    _list_sheet(wb, ordered, where, t, lang, title)
    buffer = BytesIO()
    try:
        wb.save(buffer)
    except Exception as exc:  # noqa: BLE001 - content openpyxl loads but cannot write back
        raise InputFileError(
            "FEEDBACK_FAILED",
            f"无法生成反馈工作簿（{exc!r:.200}）",
            f"cannot write the feedback workbook ({exc!r:.200})",
            str(source),
            {"error": repr(exc)[:300]},
        ) from None
    return buffer.getvalue()
