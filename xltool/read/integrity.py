"""Template integrity: was the returned workbook's structure kept? Input names, label cells, sheet
protection and the formulas of derived totals are compared with the layout; every change is an
Issue naming the cell (a warning when data can still be read from the template position, an error
when rows or columns were inserted and the data cannot be located).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..base.text import clip, show
from ..check.issues import Issue
from ..spec.layout import Layout, a1
from ..spec.model import Model
from .cells import CellError, CellSource, parse_name_ref


def _shown(value: Any) -> str:
    return "" if value is None else clip(show(value))


@dataclass
class Moved:
    pointer: str
    expected: tuple[str, int, int]
    found: tuple[str, int, int] | None
    ref: str


def moved_names(source: CellSource, layout: Layout) -> list[Moved]:
    names = source.defined_names()
    inputs = [fc for fc in layout.fields.values() if not fc.derived]
    if not any(fc.defined_name in names for fc in inputs):
        return []  # this writer kept no names at all: nothing to compare
    out = []
    for fc in inputs:
        ref = names.get(fc.defined_name)
        expected = (fc.box.sheet, fc.box.row, fc.box.col)
        found = parse_name_ref(ref) if ref is not None else None
        if found != expected:
            out.append(Moved(fc.pointer, expected, found, ref or ""))
    return out


def shifted_labels(source: CellSource, layout: Layout, moved: list[Moved]) -> dict[str, Issue]:
    """Sheets where labels moved together with the input names (rows/columns inserted or deleted)."""
    texts = {s.name: s.texts for s in layout.sheets}
    out: dict[str, Issue] = {}
    for m in moved:
        if m.found is None or m.found[0] != m.expected[0] or m.expected[0] in out:
            continue
        sheet = m.expected[0]
        dr, dc = m.found[1] - m.expected[1], m.found[2] - m.expected[2]
        for t in texts.get(sheet, []):
            b = t.box
            if b.row + dr < 0 or b.col + dc < 0:
                continue
            if (
                source.get(sheet, b.row, b.col).content != t.display
                and source.get(sheet, b.row + dr, b.col + dc).content == t.display
            ):
                frm, to = b.a1, a1(b.row + dr, b.col + dc)
                out[sheet] = Issue(
                    "TEMPLATE_DAMAGED",
                    "error",
                    f"工作表「{sheet}」的表格结构被改动（插入或删除了行或列：「{t.display[:20]}」从 {frm} 移到了 {to}），"
                    "数据无法按模板读取，请使用原模板重新填写",
                    f"the structure of sheet '{sheet}' was changed (rows or columns inserted or deleted: "
                    f"'{t.display[:20]}' moved from {frm} to {to}); the data cannot be read; fill in the original template",
                    sheet=sheet,
                    cell=frm,
                    expected=frm,
                    found=to,
                )
                break
    return out


def integrity_issues(source: CellSource, layout: Layout, moved: list[Moved], damaged: set[str]) -> list[Issue]:
    out: list[Issue] = []
    for m in moved:
        sheet, row, col = m.expected
        if sheet in damaged:
            continue
        where = f"{sheet}!{a1(row, col)}"
        got = f"{m.found[0]}!{a1(m.found[1], m.found[2])}" if m.found else (m.ref or "（缺失）")
        code, zh, en = (
            "NAME_MOVED",
            f"输入单元格的名称 {m.pointer} 应指向 {where}，实际指向 {got}；已按模板位置 {where} 读取",
            f"the input cell name of {m.pointer} should refer to {where} but refers to {got}; read from {where}",
        )
        if not m.ref:
            code, zh, en = (
                "NAME_MISSING",
                f"输入单元格 {where} 的名称（{m.pointer}）已被删除；已按模板位置读取",
                f"the name of input cell {where} ({m.pointer}) was deleted; read from the template position",
            )
        out.append(
            Issue(code, "warning", zh, en, pointer=m.pointer, sheet=sheet, cell=a1(row, col), expected=where, found=got)
        )
    for s in layout.sheets:
        if s.name in damaged:
            continue
        for t in s.texts:
            value = source.get(s.name, t.box.row, t.box.col).content
            if value != t.display:
                found = _shown(value)
                out.append(
                    Issue(
                        "LABEL_CHANGED",
                        "warning",
                        f"表头或标签被改动：{s.name}!{t.box.a1} 应为「{t.display}」，实际为「{found}」",
                        f"a label was changed: {s.name}!{t.box.a1} should read '{t.display}', found '{found}'",
                        sheet=s.name,
                        cell=t.box.a1,
                        expected=t.display,
                        found=found,
                    )
                )
    if source.protection_known:
        protected = source.protected_sheets()
        for s in layout.sheets:
            if s.name not in protected:
                out.append(
                    Issue(
                        "PROTECTION_REMOVED",
                        "warning",
                        f"工作表「{s.name}」的保护已被取消（表头和公式可能被改动）",
                        f"the protection of sheet '{s.name}' was removed (labels and formulas may have been changed)",
                        sheet=s.name,
                        expected="protected",
                        found="unprotected",
                    )
                )
    return out


def _same(a: Any, b: Any) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def derived_issues(source: CellSource, model: Model, layout: Layout, recomputed: dict[str, Any]) -> list[Issue]:
    """Totals whose formula was removed or typed over, and cached results that disagree with the
    recomputation. `recomputed` holds each total as its formula computes it from the inputs."""
    values = recomputed
    out = []
    for pointer in model.derived_order:
        box = layout.fields[pointer].box
        raw = source.get(box.sheet, box.row, box.col)
        expected = values[pointer]
        label = model.by_pointer[pointer].label
        common = {"pointer": pointer, "sheet": box.sheet, "cell": box.a1, "expected": expected}
        if source.formulas_known and raw.formula is None:
            found = raw.value
            if found in (None, ""):
                zh = f"{label}：合计单元格的公式被删除；已按各分项重新计算为 {show(expected)}"
                en = f"{pointer}: the total's formula was deleted; recomputed from its items as {show(expected)}"
            else:
                zh = f"{label}：合计单元格的公式被替换为「{_shown(found)}」（按各分项应为 {show(expected)}）；按文件中填写的数值校验"
                en = f"{pointer}: the total's formula was replaced by '{_shown(found)}' (its items give {show(expected)}); the value in the file is checked"
            out.append(Issue("FORMULA_CHANGED", "warning", zh, en, found=found, **common))
            continue
        cached = raw.cached if source.formulas_known else raw.value
        if isinstance(cached, bool) or not isinstance(cached, (int, float)) or isinstance(cached, CellError):
            continue
        if expected is not None and not _same(cached, expected):
            out.append(
                Issue(
                    "CACHED_TOTAL_MISMATCH",
                    "warning",
                    f"{label}：文件中显示的合计为 {show(cached)}，按各分项重新计算应为 {show(expected)}（以重新计算的结果为准）",
                    f"{pointer}: the file shows the total {show(cached)}, its items add up to {show(expected)} (the recomputed value is used)",
                    found=cached,
                    **common,
                )
            )
    return out
