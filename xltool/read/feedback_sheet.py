"""The 问题清单 / Issues sheet of a patched feedback workbook, written as SpreadsheetML.

The same sheet `feedback._list_sheet` builds with openpyxl: optional title and a summary line
(merged across the table), a header row, one row per issue with a link to the marked cell when its
sheet is visible (Excel cannot jump to a hidden sheet), column widths, an autofilter, frozen
header, the header row printed on every page, landscape fitted to the page width. Strings are
inline (`t="inlineStr"`): the shared string table stays as it was. Text goes through `safe_text`,
and text a spreadsheet would take for a formula gets a quote prefix, as `write_text` does.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from ..base.text import needs_quote, safe_text
from ..check.issues import Issue, count
from .feedback_styles import MAIN, Styles
from .feedback_text import WIDTHS, row_values

REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_M = f"{{{MAIN}}}"
_LAST = "ABCDEFG"[len(WIDTHS) - 1]
_WRAP = {"wrapText": "1", "vertical": "top"}


def _cell(row: etree._Element, ref: str, value: Any, s: int) -> None:
    c = etree.SubElement(row, f"{_M}c", r=ref, s=str(s))
    if isinstance(value, str):
        c.set("t", "inlineStr")
        t = etree.SubElement(etree.SubElement(c, f"{_M}is"), f"{_M}t")
        t.text = value
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    elif value is not None:
        c.set("t", "n")
        etree.SubElement(c, f"{_M}v").text = repr(value) if isinstance(value, float) else str(value)


def _text(styles: Styles, value: Any, **style: Any) -> tuple[Any, int]:
    """(value, format) as `write_text` stores text; numbers as they are."""
    if isinstance(value, str):
        value = safe_text(value, quote=False)
        return value, styles.listing(quote=needs_quote(value), **style)
    return value, styles.listing(**style)


def list_sheet(
    issues: list[Issue],
    links: dict[int, str],
    t: dict[str, Any],
    lang: str,
    title: str | None,
    styles: Styles,
) -> tuple[bytes, int]:
    """(worksheet XML, header row) of the list sheet; `links[n]` is where issues[n] jumps to."""
    errors, warns = count(issues)
    top = [(title, "title")] if title else []
    top.append((t["summary"].format(e=errors, w=warns) if issues else t["none"], "summary"))
    head = len(top) + 1
    last = head + len(issues)
    ws = etree.Element(f"{_M}worksheet", nsmap={None: MAIN, "r": REL})
    etree.SubElement(etree.SubElement(ws, f"{_M}sheetPr"), f"{_M}pageSetUpPr", fitToPage="1")
    etree.SubElement(ws, f"{_M}dimension", ref=f"A1:{_LAST}{last}")
    view = etree.SubElement(etree.SubElement(ws, f"{_M}sheetViews"), f"{_M}sheetView", tabSelected="1")
    view.set("workbookViewId", "0")
    first = f"A{head + 1}"
    etree.SubElement(view, f"{_M}pane", ySplit=str(head), topLeftCell=first, activePane="bottomLeft", state="frozen")
    etree.SubElement(view, f"{_M}selection", pane="bottomLeft", activeCell=first, sqref=first)
    etree.SubElement(ws, f"{_M}sheetFormatPr", baseColWidth="8", defaultRowHeight="15")
    cols = etree.SubElement(ws, f"{_M}cols")
    for n, width in enumerate(WIDTHS, 1):
        etree.SubElement(cols, f"{_M}col", min=str(n), max=str(n), width=str(width), customWidth="1")
    data = etree.SubElement(ws, f"{_M}sheetData")
    for r, (text, font) in enumerate(top, 1):
        value, s = _text(styles, text, font=font)
        _cell(etree.SubElement(data, f"{_M}row", r=str(r)), f"A{r}", value, s)
    row = etree.SubElement(data, f"{_M}row", r=str(head))
    header = styles.listing(font="bold", fill="header", align={"horizontal": "center"})
    for c, label in enumerate(t["head"]):
        _cell(row, f"{'ABCDEFG'[c]}{head}", label, header)
    hyperlinks = []
    for n, issue in enumerate(issues):
        r = head + 1 + n
        row = etree.SubElement(data, f"{_M}row", r=str(r))
        for c, value in enumerate(row_values(n, issue, t, lang)):
            style: dict[str, Any] = {"align": _WRAP}
            if c == 1:
                style["fill"] = issue.severity
            if c == 2 and n in links:
                style["font"] = "link"
                hyperlinks.append((f"C{r}", links[n]))
            _cell(row, f"{'ABCDEFG'[c]}{r}", *_text(styles, value, **style))
    etree.SubElement(ws, f"{_M}autoFilter", ref=f"A{head}:{_LAST}{last}")
    merges = etree.SubElement(ws, f"{_M}mergeCells", count=str(len(top)))
    for r in range(1, len(top) + 1):
        etree.SubElement(merges, f"{_M}mergeCell", ref=f"A{r}:{_LAST}{r}")
    if hyperlinks:
        links_el = etree.SubElement(ws, f"{_M}hyperlinks")
        for ref, location in hyperlinks:
            etree.SubElement(links_el, f"{_M}hyperlink", ref=ref, location=location)
    margins = {"left": "0.75", "right": "0.75", "top": "1", "bottom": "1", "header": "0.5", "footer": "0.5"}
    etree.SubElement(ws, f"{_M}pageMargins", **margins)
    etree.SubElement(ws, f"{_M}pageSetup", orientation="landscape", fitToHeight="0")
    return etree.tostring(ws, xml_declaration=True, encoding="UTF-8", standalone=True), head
