"""The rule tree compiled to Excel formulas (the template's live totals and ✓/✗ check cells).

Formulas use only functions that Excel, WPS and LibreOffice share (SUM, COUNTA, LEN, ISNUMBER,
SEARCH, IF, OR), with absolute sheet-qualified references so a formula means the same wherever it
is written. The Python evaluator stays the authority; tests recalculate templates in LibreOffice and
compare every check cell and total with it.
"""

from __future__ import annotations

from ..spec.layout import Layout
from ..spec.positions import abs_a1, quoted_sheet
from ..spec.rules import Compare, Const, Contains, Expr, Len, Ref, Rule, RuleInstance, Sum, input_refs, refs_of
from .evaluate import FAIL, PASS

PASS_MARK, FAIL_MARK, WARN_MARK = "✓", "✗", "⚠"
OPS = {"eq": "=", "le": "<=", "ge": ">=", "lt": "<", "gt": ">"}


def failed_mark(severity: str) -> str:
    """What a failing check shows: ✗ for an error, ⚠ for a warning."""
    return FAIL_MARK if severity == "error" else WARN_MARK


def mark(state: str, severity: str) -> str:
    """What a check cell shows for an evaluator outcome (its cached value must equal the formula's result)."""
    if state == PASS:
        return PASS_MARK
    return failed_mark(severity) if state == FAIL else ""


def ranges(cells: list[tuple[str, int, int]], here: str | None = None) -> list[str]:
    """Compress cells into as few rectangular ranges as possible (row runs merged vertically)."""
    by_sheet: dict[str, dict[int, list[int]]] = {}
    for sheet, r, c in cells:
        by_sheet.setdefault(sheet, {}).setdefault(r, []).append(c)
    out: list[str] = []
    for sheet, rows in by_sheet.items():
        runs: list[tuple[int, int, int]] = []  # (row, c0, c1)
        for r in sorted(rows):
            cols = sorted(set(rows[r]))
            start = prev = cols[0]
            for c in cols[1:]:
                if c != prev + 1:
                    runs.append((r, start, prev))
                    start = c
                prev = c
            runs.append((r, start, prev))
        rects: list[list[int]] = []  # [r0, r1, c0, c1]
        for r, c0, c1 in runs:
            for rect in rects:
                if rect[1] == r - 1 and rect[2] == c0 and rect[3] == c1:
                    rect[1] = r
                    break
            else:
                rects.append([r, r, c0, c1])
        prefix = "" if sheet == here else quoted_sheet(sheet) + "!"
        for r0, r1, c0, c1 in rects:
            a = abs_a1(r0, c0)
            b = abs_a1(r1, c1)
            out.append(prefix + (a if a == b else f"{a}:{b}"))
    return out


class Compiler:
    """Compiles expressions against one layout; `here` is the sheet the formula is written on."""

    def __init__(self, layout: Layout, level_ref: str | None = None) -> None:
        self.layout = layout
        self.derived = layout.model.derived
        self.level_ref = level_ref
        self._memo: dict[tuple[str, str, int, str], str] = {}

    def cell(self, pointer: str) -> tuple[str, int, int]:
        box = self.layout.fields[pointer].box
        return box.sheet, box.row, box.col

    def ref(self, pointer: str, here: str | None) -> str:
        return ranges([self.cell(pointer)], here)[0]

    def expr(self, e: Expr, here: str | None) -> str:
        if isinstance(e, Ref):
            return self.ref(e.pointer, here)
        if isinstance(e, Const):
            if isinstance(e.value, str):
                return '"' + e.value.replace('"', '""') + '"'
            return repr(e.value)
        if isinstance(e, Sum):
            refs = [i for i in e.items if isinstance(i, Ref)]
            other = [self.expr(i, here) for i in e.items if not isinstance(i, Ref)]
            parts = ranges([self.cell(r.pointer) for r in refs], here) + other
            return "SUM(" + ",".join(parts) + ")"
        if isinstance(e, Len):
            return f"LEN({self.expr(e.arg, here)})"
        raise TypeError(e)

    def condition(self, check: Compare | Contains, here: str | None) -> str:
        if isinstance(check, Compare):
            return f"{self.expr(check.left, here)}{OPS[check.op]}{self.expr(check.right, here)}"
        text = check.text.replace('"', '""')
        return f'ISNUMBER(SEARCH("{text}",{self.expr(check.arg, here)}))'

    def derived_formula(self, pointer: str, here: str) -> str:
        key = ("d", pointer, 0, here)
        if key not in self._memo:
            self._memo[key] = "=" + self.expr(self.derived[pointer], here)
        return self._memo[key]

    def check_formula(self, rule: Rule, inst: RuleInstance, here: str) -> str:
        """✓ / ✗ (or ⚠ for warnings); empty while every input involved is still blank, and always
        empty for cross-year rules (last year's report is not in the workbook)."""
        if rule.cross_year:
            return '=""'
        key = ("c", rule.id, inst.index, here)
        if key not in self._memo:
            self._memo[key] = self._check_formula(rule, inst, here)
        return self._memo[key]

    def _check_formula(self, rule: Rule, inst: RuleInstance, here: str) -> str:
        inputs = input_refs(refs_of(inst.check), self.derived)
        counted = ",".join(ranges([self.cell(p) for p in inputs], here))
        bad = failed_mark(rule.severity)
        body = f'IF(COUNTA({counted})=0,"",IF({self.condition(inst.check, here)},"{PASS_MARK}","{bad}"))'
        if rule.levels:
            if not self.level_ref:
                return '=""'
            tests = ",".join(f'{self.level_ref}="{lv}"' for lv in rule.levels)
            body = f'IF(OR({tests}),{body},"")'
        return "=" + body


def compiler_for(layout: Layout, level_ref: str | None) -> Compiler:
    """One memoising compiler per layout: every template of a schema reuses its formulas."""
    key = ("compiler", level_ref)
    compiler = layout.memo.get(key)
    if not isinstance(compiler, Compiler):
        compiler = layout.memo[key] = Compiler(layout, level_ref)
    return compiler
