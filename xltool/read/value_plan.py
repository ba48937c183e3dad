"""Per model, what reading the input cells needs that does not change from one file to the next.

`reader._values` visits about 250 cells per file; the cell of each field, its A1 name and the
bounds its coercion compares with are the same for every file of a model, so they are worked out
once (cached on the model, like its other derived views). Each field gets a coercer: the full
coercion table (`coerce.coerce`), in front of which a number field puts one short path for the
common case, a plain integer typed within the field's bounds, that `coerce` would return as is
without a problem.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..spec.kinds import KINDS
from ..spec.kinds import bounds as _bounds
from ..spec.layout import FieldCell, Layout, build_layout
from ..spec.model import Field, Model
from .cells import RawCell
from .coerce import MAX_EXACT, Coerced, coerce

Coercer = Callable[[RawCell], Coerced]


@dataclass(frozen=True)
class CellPlan:
    field: Field
    cell: FieldCell
    sheet: str
    row: int
    col: int
    a1: str
    coerce: Coercer


def value_plan(model: Model, layout: Layout, strict: bool) -> tuple[CellPlan, ...]:
    """One entry per field in model order; `layout` is the model's own (`build_layout(model)`)."""

    def make() -> tuple[CellPlan, ...]:
        out = []
        for f in model.fields:
            fc = layout.fields[f.pointer]
            box = fc.box
            out.append(CellPlan(f, fc, box.sheet, box.row, box.col, box.a1, coercer(f, strict)))
        return tuple(out)

    plan: tuple[CellPlan, ...] = model._cached(f"value_plan:{strict}", make)
    return plan


def coercer(f: Field, strict: bool) -> Coercer:
    """`coerce(raw, f, strict=strict)`, with two short paths. An empty cell (no value, no formula):
    `coerce` looks at nothing else of such a cell, so its answer is worked out once here and handed
    out as a copy. A plain int, in a number field, that passes every check of `coerce._check_number`:
    within ±2^53, not below the field's minimum (0 for a non-negative kind) and not above its
    maximum. Anything else, bool and int subclasses included, takes the full table."""
    empty = coerce(RawCell(), f, strict=strict)
    empty_value, empty_problems = empty.value, tuple(empty.problems)

    def full(raw: RawCell) -> Coerced:
        if raw.value is None and raw.formula is None:
            return Coerced(empty_value, list(empty_problems))
        return coerce(raw, f, strict=strict)

    if not f.numeric:
        return full
    low, high = _bounds(f)
    lowest: Any = max([-MAX_EXACT, *(b for b in (low, 0 if KINDS[f.kind].non_negative else None) if b is not None)])
    highest: Any = MAX_EXACT if high is None else min(MAX_EXACT, high)

    def number(raw: RawCell) -> Coerced:
        v = raw.value
        if type(v) is int and raw.formula is None and lowest <= v <= highest:
            return Coerced(v, [])
        return full(raw)

    return number


def read_sheets(model: Model) -> frozenset[str]:
    """The sheets a read of a `model` workbook reads: its meta sheet and the layout's sheets (the
    stream parses them whole when it opens the workbook)."""
    sheets: frozenset[str] = model._cached(
        "read_sheets", lambda: frozenset([model.meta_sheet] + [s.name for s in build_layout(model).sheets])
    )
    return sheets
