"""The publishable report as a neutral document tree, built from the model's layout blocks only.

Title, the official sections in schema order with their headings, narratives in place, the official
tables with their merged header cells (the schema's colspan/rowspan, exactly as the format prints
them) and numbers exactly as archived (an amount keeps the decimals it was archived with). The HTML
and DOCX writers only walk this tree, so they cannot disagree about what the report says. Last
year's figure beside each total and the cross-year rules go into a comparison table at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..base.text import safe_text
from ..check.evaluate import flatten
from ..check.validate import rule_issues
from ..spec.layout import _Grid  # the HTML-table placement the template uses (one home for it)
from ..spec.model import BlockSpec, CellSpec, Model
from .crossformat import add, group_pointers, previous_in_this_format


@dataclass(frozen=True)
class Cell:
    text: str
    colspan: int = 1
    rowspan: int = 1
    role: str = "label"  # header | label | value
    numeric: bool = False


@dataclass
class Table:
    caption: str | None
    header: list[list[Cell]]
    body: list[list[Cell]]
    widths: tuple[float, ...] = ()  # the template's column widths (Excel units), for proportions

    def placed(self) -> list[tuple[Cell, int, int]]:
        """Every cell with its top-left (row, column) on the table's grid."""
        grid = _Grid()
        specs = tuple(
            tuple(CellSpec(colspan=c.colspan, rowspan=c.rowspan) for c in row) for row in self.header + self.body
        )
        cells = [c for row in self.header + self.body for c in row]
        return [(cell, r, c) for cell, (_spec, r, c) in zip(cells, grid.place(specs, 0), strict=True)]

    @property
    def ncols(self) -> int:
        return max((c + cell.colspan for cell, _r, c in self.placed()), default=0)

    @property
    def nrows(self) -> int:
        return len(self.header) + len(self.body)


@dataclass
class Narrative:
    text: str


@dataclass
class Section:
    heading: str
    blocks: list[Table | Narrative] = field(default_factory=list)


@dataclass
class Comparison:
    rows: list[tuple[str, str, str]]  # label, this year, last year
    notes: list[str]  # cross-year rule outcomes
    previous_year: int | None


@dataclass
class Document:
    title: str
    org: str
    year: Any
    sections: list[Section]
    comparison: Comparison | None = None


def number_text(value: Any) -> str:
    """A figure exactly as archived: 5 -> "5", Decimal("1.98") -> "1.98", blank -> ""."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _cell(spec: CellSpec, values: Mapping[str, Any], model: Model, role: str) -> Cell:
    if spec.field is None:
        return Cell((spec.text or "") + spec.suffix, spec.colspan, spec.rowspan, role)
    f = model.by_pointer[spec.field]
    v = values.get(spec.field)
    return Cell(
        number_text(v) if f.numeric else safe_text(v, quote=False), spec.colspan, spec.rowspan, "value", f.numeric
    )


def _block(
    block: BlockSpec, values: Mapping[str, Any], model: Model, widths: tuple[float, ...]
) -> Table | Narrative | None:
    cells = [c for row in block.body for c in row]
    fields = [model.by_pointer[c.field] for c in cells if c.field]
    if fields and all(f.identity for f in fields):
        return None  # who and which year: said by the title
    if len(cells) == 1 and fields and fields[0].kind == "text" and not block.header:
        return Narrative(safe_text(values.get(fields[0].pointer), quote=False))
    return Table(
        block.caption,
        [[_cell(c, values, model, "header") for c in row] for row in block.header],
        [[_cell(c, values, model, "label") for c in row] for row in block.body],
        widths,
    )


def _short(model: Model, pointer: str) -> str:
    """A total's label without its section heading (the appendix lists totals of several sections)."""
    labels = model.by_pointer[pointer].labels
    return " / ".join(labels[1:]) if len(labels) > 1 else labels[0]


def _comparison(
    model: Model, values: dict[str, Any], prev: tuple[Model, dict[str, Any], int | None] | None
) -> Comparison | None:
    if prev is None:
        return None
    prev_model, prev_flat, prev_year = prev
    mapped = previous_in_this_format(model, prev_model, prev_flat)
    rows = []
    for ptr in model.derived:
        if ptr in mapped and mapped[ptr] is not None:
            rows.append((_short(model, ptr), number_text(values.get(ptr)), number_text(mapped[ptr])))
    for old, parts in group_pointers(model, prev_model).items():
        now: Any = None
        for p in parts:
            now = add(now, values.get(p))
        label = prev_model.by_pointer[old].label + "（2021年格式三项之和）"
        rows.append((label, number_text(now), number_text(prev_flat.get(old))))
    notes = []
    for rule in model.rules:
        if not rule.cross_year:
            continue
        failed = [i for i in rule_issues(model, values, None, previous=prev_flat) if i.code == rule.id]
        notes += [i.message_zh for i in failed] or [f"{rule.id} {rule.title_zh}：一致"]
    return Comparison(rows, notes, prev_year)


def build_document(
    model: Model,
    report: Mapping[str, Any],
    *,
    previous: tuple[Model, Mapping[str, Any]] | None = None,
) -> Document:
    """`previous`: last year's report and its model, for the 上年 figures and the cross-year rules."""
    values = flatten(model, report)
    ident = model.identity_fields
    org = safe_text(values.get(ident.get("org_name", "")), quote=False)
    year = values.get(ident.get("year", ""))
    title = model.template_title.format(org=org, year=year if year is not None else "")
    sections: list[Section] = []
    for sheet in model.sheets:
        for block in sheet.blocks:
            if block.type == "heading":
                sections.append(Section(block.text or ""))
                continue
            built = _block(block, values, model, sheet.columns)
            if built is None:
                continue
            if not sections:
                sections.append(Section(""))
            sections[-1].blocks.append(built)
    prev = None
    if previous is not None:
        prev_model, prev_report = previous
        prev_flat = flatten(prev_model, prev_report)
        prev_year = prev_flat.get(prev_model.identity_fields.get("year", ""))
        prev = (prev_model, prev_flat, prev_year if isinstance(prev_year, int) else None)
    return Document(title, org, year, sections, _comparison(model, values, prev))
