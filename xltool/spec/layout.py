"""Layout: a pure function model -> where every field, label and check sits in the workbook.

The writer and the reader both use it, so they cannot disagree about a cell. Tables in the schema
are described like HTML tables (cells with colspan/rowspan); this module places them on a grid,
adds the title and summary rows, the check rows/columns of each table, and computes for every field
the label path a reader sees (heading, caption, row labels, column headers) — which tests compare
with the official labels.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from .model import BlockSpec, CellSpec, Model
from .positions import (
    CHECKS_FIRST_ROW,
    CHECKS_STATE_COL,
    FIRST_BLOCK_ROW,
    SUMMARY_ROW,
    TITLE_ROW,
    a1,
    abs_a1,
    quoted_sheet,
    sheet_ref,
)


@dataclass(frozen=True)
class Box:
    """A rectangle of cells (merged when larger than one cell); 0-based."""

    sheet: str
    row: int
    col: int
    last_row: int
    last_col: int

    @property
    def merged(self) -> bool:
        return self.last_row > self.row or self.last_col > self.col

    @cached_property  # asked for every issue and total of every read: worked out once per box
    def a1(self) -> str:
        return a1(self.row, self.col)

    @property
    def where(self) -> str:
        return f"{self.sheet}!{self.a1}"

    @property
    def a1_range(self) -> str:
        """'B5' or 'B5:D6' for a merged box."""
        return self.a1 if not self.merged else f"{self.a1}:{a1(self.last_row, self.last_col)}"


@dataclass(frozen=True)
class FieldCell:
    pointer: str
    box: Box
    label_path: tuple[str, ...]
    derived: bool
    height: float | None = None

    @cached_property  # compared with the file's names on every read
    def defined_name(self) -> str:
        return defined_name(self.pointer)


@dataclass(frozen=True)
class TextCell:
    box: Box
    text: str  # the label text (what the label path uses)
    display: str  # what the cell shows (text + suffix)
    role: str  # heading | caption | header | label | check_label | legend


@dataclass(frozen=True)
class CheckCell:
    rule_id: str
    index: int
    box: Box


@dataclass
class SheetLayout:
    name: str
    orientation: str
    widths: list[float]
    fields: list[FieldCell] = field(default_factory=list)
    texts: list[TextCell] = field(default_factory=list)
    checks: list[CheckCell] = field(default_factory=list)
    heights: dict[int, float] = field(default_factory=dict)
    repeat_rows: tuple[int, int] | None = None
    last_row: int = 0

    @property
    def ncols(self) -> int:
        return len(self.widths)

    @property
    def title_box(self) -> Box:
        return Box(self.name, TITLE_ROW, 0, TITLE_ROW, self.ncols - 1)

    @property
    def summary_box(self) -> Box:
        return Box(self.name, SUMMARY_ROW, 0, SUMMARY_ROW, self.ncols - 1)


@dataclass
class Layout:
    model: Model
    sheets: list[SheetLayout]
    fields: dict[str, FieldCell]
    checks: dict[tuple[str, int], CheckCell]
    memo: dict[object, object] = field(default_factory=dict, repr=False)  # caches of later stages

    @property
    def fingerprint(self) -> str:
        if "fingerprint" not in self.memo:  # every read compares it: computed once per layout
            self.memo["fingerprint"] = fingerprint(self)
        return str(self.memo["fingerprint"])

    @property
    def sheet_names(self) -> list[str]:
        m = self.model
        return [m.instructions_sheet] + [s.name for s in self.sheets] + [m.checks_sheet, m.meta_sheet]

    @cached_property
    def check_rows(self) -> dict[tuple[str, int], int]:
        """(rule id, instance index) -> its row on the checks sheet."""
        keys = [(rule.id, inst.index) for rule in self.model.rules for inst in rule.instances]
        return {key: CHECKS_FIRST_ROW + i for i, key in enumerate(keys)}

    @property
    def check_state_range(self) -> str:
        """Every state cell (✓/✗/⚠) of the checks sheet, sheet-qualified: what summaries count."""
        last = CHECKS_FIRST_ROW + max(len(self.check_rows), 1) - 1
        first_cell, last_cell = abs_a1(CHECKS_FIRST_ROW, CHECKS_STATE_COL), abs_a1(last, CHECKS_STATE_COL)
        return f"{quoted_sheet(self.model.checks_sheet)}!{first_cell}:{last_cell}"

    @cached_property
    def state_cells(self) -> dict[tuple[str, int], str]:
        """(rule id, instance index) -> the cell computing its state: its check cell on a data sheet, else its
        row of the checks sheet (which then refers to the data sheet's cell rather than computing it twice)."""
        out = {}
        for key, row in self.check_rows.items():
            placed = self.checks.get(key)
            box = placed.box if placed else Box(self.model.checks_sheet, row, CHECKS_STATE_COL, row, CHECKS_STATE_COL)
            out[key] = sheet_ref(box.sheet, box.row, box.col)
        return out


def defined_name(pointer: str) -> str:
    """Workbook name of an input cell: 'f.' + pointer with '/' -> '.', valid in Excel and LibreOffice."""
    return "f" + pointer.replace("/", ".")


class _Grid:
    """HTML-table placement: cells flow left to right, skipping slots taken by row spans above."""

    def __init__(self) -> None:
        self.taken: set[tuple[int, int]] = set()

    def place(self, rows: tuple[tuple[CellSpec, ...], ...], top: int) -> list[tuple[CellSpec, int, int]]:
        out = []
        for r, row in enumerate(rows):
            c = 0
            for cell in row:
                while (top + r, c) in self.taken:
                    c += 1
                for dr in range(cell.rowspan):
                    for dc in range(cell.colspan):
                        self.taken.add((top + r + dr, c + dc))
                out.append((cell, top + r, c))
                c += cell.colspan
        return out


def _table(model: Model, sheet: SheetLayout, block: BlockSpec, top: int, heading: str | None) -> int:
    """Place one table block starting at row `top`; returns the next free row."""
    name = sheet.name
    row = top
    width = max(sum(c.colspan for c in r) for r in (block.header + block.body) if r)
    caption = block.caption
    if caption:
        sheet.texts.append(TextCell(Box(name, row, 0, row, width - 1), caption, caption, "caption"))
        row += 1
    grid = _Grid()
    header = grid.place(block.header, row)
    header_top, row = row, row + len(block.header)
    body = grid.place(block.body, row)
    body_top, row = row, row + len(block.body)
    if block.header and sheet.repeat_rows is None and len(block.body) > 10:
        sheet.repeat_rows = (header_top, body_top - 1)

    header_texts = []
    for cell, r, c in header:
        box = Box(name, r, c, r + cell.rowspan - 1, c + cell.colspan - 1)
        tc = TextCell(box, cell.text or "", (cell.text or "") + cell.suffix, "header")
        sheet.texts.append(tc)
        header_texts.append(tc)
    row_texts = []
    derived = model.derived
    placed_fields: list[FieldCell] = []
    for cell, r, c in body:
        box = Box(name, r, c, r + cell.rowspan - 1, c + cell.colspan - 1)
        if cell.field is None:
            tc = TextCell(box, cell.text or "", (cell.text or "") + cell.suffix, "label")
            sheet.texts.append(tc)
            row_texts.append(tc)
            continue
        if cell.height:
            sheet.heights[r] = cell.height
        placed_fields.append(FieldCell(cell.field, box, (), cell.field in derived, cell.height))
    for fc in placed_fields:
        b = fc.box
        path: list[str] = [heading] if heading else []
        if caption:
            path.append(caption)
        path += [
            t.text
            for t in sorted(row_texts, key=lambda t: t.box.col)
            if t.box.row <= b.row <= t.box.last_row and t.box.col < b.col
        ]
        path += [t.text for t in sorted(header_texts, key=lambda t: t.box.row) if t.box.col <= b.col <= t.box.last_col]
        sheet.fields.append(FieldCell(fc.pointer, b, tuple(path), fc.derived, fc.height))

    # check cells: rows below the table, or a column to its right
    by_ptr = {f.pointer: f for f in sheet.fields}
    first_field_col = min((f.box.col for f in placed_fields), default=0)
    legend: list[str] = []
    for rule_id, place in block.checks:
        rule = model.rule(rule_id)
        legend.append(f"{rule.id}：{rule.title_zh}")
        if place == "below":
            if first_field_col > 0:
                sheet.texts.append(
                    TextCell(Box(name, row, 0, row, first_field_col - 1), rule.id, rule.id, "check_label")
                )
            for inst in rule.instances:
                anchor = by_ptr.get(inst.anchor)
                if anchor is not None:
                    sheet.checks.append(
                        CheckCell(rule.id, inst.index, Box(name, row, anchor.box.col, row, anchor.box.col))
                    )
            row += 1
        else:  # right
            col = width
            width += 1
            if block.header:
                box = Box(name, header_top, col, body_top - 1, col)
                sheet.texts.append(TextCell(box, rule.id, rule.id, "check_label"))
            for inst in rule.instances:
                anchor = by_ptr.get(inst.anchor)
                if anchor is not None:
                    sheet.checks.append(
                        CheckCell(rule.id, inst.index, Box(name, anchor.box.row, col, anchor.box.row, col))
                    )
    if legend:
        text = "校验：" + "；".join(legend) + "。✓ 一致，✗ 不一致（相关单元格标红）。"
        sheet.texts.append(TextCell(Box(name, row, 0, row, max(width, sheet.ncols) - 1), text, text, "legend"))
        sheet.heights[row] = 15 * (1 + len(text) // 60)
        row += 1
    while sheet.ncols < width:
        sheet.widths.append(6.0)
    return row + 1


@lru_cache(maxsize=16)
def _build(model: Model) -> Layout:
    sheets: list[SheetLayout] = []
    for spec in model.sheets:
        sheet = SheetLayout(spec.name, spec.orientation, list(spec.columns) or [20.0] * 4)
        row = FIRST_BLOCK_ROW
        heading: str | None = None
        for block in spec.blocks:
            if block.type == "heading":
                heading = block.text or ""
                sheet.texts.append(TextCell(Box(spec.name, row, 0, row, sheet.ncols - 1), heading, heading, "heading"))
                row += 1
            else:
                row = _table(model, sheet, block, row, heading)
        sheet.last_row = row
        _fit_heights(sheet)
        sheets.append(sheet)
    fields = {f.pointer: f for s in sheets for f in s.fields}
    checks = {(c.rule_id, c.index): c for s in sheets for c in s.checks}
    return Layout(model, sheets, fields, checks)


def text_width(text: str) -> float:
    """Approximate width in Excel column units (a CJK character is about two '0' digits wide)."""
    import unicodedata

    return sum(1.9 if unicodedata.east_asian_width(ch) in "WF" else 1.0 for ch in text)


def _fit_heights(sheet: SheetLayout) -> None:
    """Give rows with wrapped labels the height their text needs (Excel does not auto-fit
    rows of files it did not lay out itself, and LibreOffice does not either)."""
    for t in sheet.texts:
        b = t.box
        if b.last_row != b.row or t.role in ("heading", "legend"):
            continue
        room = sum(sheet.widths[c] for c in range(b.col, min(b.last_col + 1, sheet.ncols))) - 1.5
        lines = max(1, -(-int(text_width(t.display)) // max(int(room), 1)))
        need = 14.0 * lines + 2
        if lines > 1 and need > sheet.heights.get(b.row, 15.0):
            sheet.heights[b.row] = need


def build_layout(model: Model) -> Layout:
    return _build(model)


def fingerprint(layout: Layout) -> str:
    """Hash of the pointer -> cell map and every label: two templates with the same fingerprint
    put the same fields in the same cells under the same labels."""
    items = [
        [f.pointer, f.box.sheet, f.box.a1, f.box.last_row, f.box.last_col, list(f.label_path)]
        for s in layout.sheets
        for f in s.fields
    ]
    texts = [[t.box.sheet, t.box.a1, t.display] for s in layout.sheets for t in s.texts]
    blob = json.dumps([layout.model.name, items, texts], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
