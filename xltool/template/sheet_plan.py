"""What a data sheet needs that does not depend on the organisation or its values, once per layout.

A roster writes the same schema hundreds of times; validations, defined names and highlight ranges
are the same in every copy, so they are worked out on the first template and reused (kept in the
layout's memo, like the compiled formulas).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..spec.layout import Box, Layout, SheetLayout
from ..spec.positions import sheet_ref
from .data_validation import validation_options
from .highlight import highlights


@dataclass(frozen=True)
class SheetPlan:
    # one data validation per distinct option set: (first box, options with every range it covers)
    validations: tuple[tuple[Box, dict[str, Any]], ...]
    names: tuple[tuple[str, str], ...]  # input field defined names -> "=sheet!$A$1"
    # conditional formats: (first box, formula relative to it, severity, every range it covers)
    highlights: tuple[tuple[Box, str, str, str], ...]
    check_cells: str  # the sheet's check cells, space-separated ("" when it has none)


def sheet_plan(layout: Layout, s: SheetLayout) -> SheetPlan:
    key = ("sheet-plan", s.name)
    found = layout.memo.get(key)
    if not isinstance(found, SheetPlan):
        found = layout.memo[key] = _plan(layout, s)
    return found


def _plan(layout: Layout, s: SheetLayout) -> SheetPlan:
    model = layout.model
    groups: dict[str, tuple[Box, dict[str, Any], list[str]]] = {}
    names: list[tuple[str, str]] = []
    for fc in s.fields:
        if fc.derived:
            continue
        b = fc.box
        opts = validation_options(model, fc, model.by_pointer[fc.pointer])
        groups.setdefault(repr(sorted(opts.items())), (b, opts, []))[2].append(b.a1_range)
        names.append((fc.defined_name, "=" + sheet_ref(b.sheet, b.row, b.col)))
    validations = tuple(
        (first, {**opts, "multi_range": " ".join(ranges)} if len(ranges) > 1 else opts)
        for first, opts, ranges in groups.values()
    )
    lit = tuple(
        (hl.boxes[0], hl.criteria, hl.severity, " ".join(b.a1_range for b in hl.boxes))
        for hl in highlights(model, layout, s, layout.state_cells)
    )
    return SheetPlan(validations, tuple(names), lit, " ".join(sorted({c.box.a1 for c in s.checks})))
