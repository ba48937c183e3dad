"""Which cells turn red (errors) or yellow (warnings) when a check fails: conditional formats.

One formula per (rule, sheet) where every instance's cells share a row (or a column) with its check
cell: the formula then uses a relative row (column) and covers all instances at once; otherwise one
formula per instance, pointing at its state cell. Keeps templates small and fast to open.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..check.formulas import failed_mark
from ..spec.layout import Box, Layout, SheetLayout
from ..spec.model import Model
from ..spec.positions import col_letter, sheet_ref
from ..spec.rules import refs_of


@dataclass(frozen=True)
class Highlight:
    boxes: list[Box]
    criteria: str  # formula relative to boxes[0]
    severity: str


def highlights(
    model: Model, layout: Layout, sheet: SheetLayout, state_cells: dict[tuple[str, int], str]
) -> list[Highlight]:
    """Memoised per layout and sheet: every template of a schema has the same highlights."""
    key = ("highlights", sheet.name)
    found = layout.memo.get(key)
    if not isinstance(found, list):
        found = layout.memo[key] = _highlights(model, layout, sheet, state_cells)
    return list(found)


def _highlights(
    model: Model, layout: Layout, sheet: SheetLayout, state_cells: dict[tuple[str, int], str]
) -> list[Highlight]:
    on_sheet = {fc.pointer: fc for fc in sheet.fields}
    out: list[Highlight] = []
    for rule in model.rules:
        mark = failed_mark(rule.severity)
        per_instance: list[tuple[str, list[Box]]] = []
        rows_rel: list[tuple[int, list[Box]]] = []  # (check column, boxes)
        cols_rel: list[tuple[int, list[Box]]] = []  # (check row, boxes)
        for inst in rule.instances:
            boxes = [on_sheet[p].box for p in dict.fromkeys(refs_of(inst.check)) if p in on_sheet]
            if not boxes:
                continue
            chk = layout.checks.get((rule.id, inst.index))
            box = chk.box if chk is not None and chk.box.sheet == sheet.name else None
            if box is not None and all(b.row == box.row for b in boxes):
                rows_rel.append((box.col, boxes))
            elif box is not None and all(b.col == box.col for b in boxes):
                cols_rel.append((box.row, boxes))
            else:
                per_instance.append((state_cells[(rule.id, inst.index)], boxes))
        if len({c for c, _ in rows_rel}) == 1:
            boxes = sorted((b for _, bs in rows_rel for b in bs), key=lambda b: (b.row, b.col))
            out.append(Highlight(boxes, f'=${col_letter(rows_rel[0][0])}{boxes[0].row + 1}="{mark}"', rule.severity))
        else:
            per_instance += [(sheet_ref(sheet.name, bs[0].row, col), bs) for col, bs in rows_rel]
        if len({r for r, _ in cols_rel}) == 1:
            boxes = sorted((b for _, bs in cols_rel for b in bs), key=lambda b: (b.row, b.col))
            out.append(Highlight(boxes, f'={col_letter(boxes[0].col)}${cols_rel[0][0] + 1}="{mark}"', rule.severity))
        else:
            per_instance += [(sheet_ref(sheet.name, row, bs[0].col), bs) for row, bs in cols_rel]
        for state, boxes in per_instance:
            out.append(Highlight(boxes, f'={state}="{mark}"', rule.severity))
    return out
