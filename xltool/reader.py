"""Read a returned workbook: safety gate, identity, template integrity, coercion, validation.

The layout says where every field sits, so the reader needs no knowledge of the report. What
stops the tool (not an xltool template, another schema or layout, a deleted sheet) raises
`InputFileError`; everything wrong with the data or the template's cosmetics is an `Issue` with
the sheet, the cell and the JSON pointer. Derived totals are recomputed from the inputs: the
Python evaluator is the authority, cached formula results are only compared with it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from . import safety
from .cells import CellError, CellSource, SourceError, open_source, parse_name_ref
from .coerce import coerce, show
from .errors import InputFileError
from .evaluate import derive, eval_expr, unflatten
from .identity import KEYS, NAME_PREFIX, Identity
from .issues import Issue, exit_code, sort_issues
from .layout import Box, Layout, SheetLayout, a1, build_layout
from .model import Model, load_model
from .rules import input_refs, refs_of
from .schemas import builtin_names
from .validate import decimal_issues, rule_issues, schema_issues

#: Fields compared with the template identity. The dialect has no keyword marking them yet, so
#: they are found by these conventional pointers and skipped when a schema has no such field.
IDENTITY_FIELDS = {"org_name": "/organization/name", "org_code": "/organization/code", "year": "/year"}

META_ROWS = len(KEYS) + 8
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")


@dataclass
class ReadResult:
    report: dict[str, Any]
    issues: list[Issue]
    identity: Identity
    model: Model
    cells: dict[str, str]  # pointer -> "sheet!A1"
    values: dict[str, Any] = field(default_factory=dict)  # pointer -> value (flat report)

    @property
    def exit_code(self) -> int:
        return exit_code(self.issues)

    def to_json(self) -> str:
        """The report (archive contract + _meta): ints as ints, floats in their shortest form."""
        return json.dumps(self.report, ensure_ascii=False, indent=1, default=str)


def _shown(value: Any) -> str:
    return "" if value is None else show(value)


# -- identity ----------------------------------------------------------------------------------


def _meta_rows(source: CellSource, sheet: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in range(META_ROWS):
        key = source.get(sheet, r, 0).value
        if isinstance(key, str) and key in KEYS:
            value = source.get(sheet, r, 1).value  # a number only if a program converted it
            out[key] = str(int(value)) if isinstance(value, float) and value.is_integer() else _shown(value)
    return out


def _find_identity(source: CellSource, model: Model | None) -> dict[str, str]:
    """Identity from the hidden meta sheet (what the template says), completed by the properties."""
    props = {k[len(NAME_PREFIX):]: v for k, v in source.custom_properties().items() if k.startswith(NAME_PREFIX)}
    names = source.sheet_names
    candidates: list[str] = []
    if model is not None:
        candidates.append(model.meta_sheet)
    elif props.get("schema_name") in builtin_names():
        candidates.append(load_model(props["schema_name"]).meta_sheet)
    candidates += ["_xltool"] + names[::-1]
    for sheet in dict.fromkeys(c for c in candidates if c in names):
        source.prepare({sheet: META_ROWS})
        meta = _meta_rows(source, sheet)
        if meta.get("schema_name") or meta.get("schema_id"):
            return {**props, **{k: v for k, v in meta.items() if v or k not in props}}
    return props


def _edition(name: str, title: str = "") -> str:
    """'annual-report-2019' -> '2019版'; otherwise the name itself in quotes."""
    m = _YEAR.search(name) or _YEAR.search(title)
    return f"{m.group(1)}版" if m else f"「{title or name}」"


def _fail(code: str, path: str, zh: str, en: str, **details: Any) -> InputFileError:
    return InputFileError(code, zh, en, path=path, details=details)


@lru_cache(maxsize=16)
def _digest(model: Model) -> str:
    return model.digest  # a hash of the whole schema document: computed once per model


def _check_identity(found: dict[str, str], model: Model | None, path: str) -> Model:
    name = found.get("schema_name", "")
    if not (name or found.get("schema_id")):
        raise _fail("NOT_XLTOOL_TEMPLATE", path,
                    "此文件不是由xltool生成的模板（找不到模板标识），请使用下发的模板填写后提交",
                    "this file is not a template made by xltool (no template identity); fill in the template you were sent",
                    found=found)
    if model is None:
        if name not in builtin_names():
            raise _fail("WRONG_SCHEMA", path,
                        f"此文件按模式「{name}」生成，它不是内置模式；请用 --schema 指定该模式文件",
                        f"the file was made from schema '{name}', which is not built in; pass it with --schema",
                        file_schema=name)
        model = load_model(name)
    if name != model.name or (found.get("schema_id") and found["schema_id"] != model.id):
        fe, me = _edition(name), _edition(model.name, model.title)
        raise _fail("WRONG_SCHEMA", path,
                    f"此文件是{fe}模板（{name}），本次收集使用{me}（{model.name}），请使用新下发的模板重新填写",
                    f"this file is a {fe.removesuffix('版')} template ({name}); this collection uses {model.name}; "
                    "fill in the template you were sent",
                    file_schema=name, expected_schema=model.name)
    digest = _digest(model)
    if found.get("schema_digest") and found["schema_digest"] != digest:
        raise _fail("WRONG_SCHEMA", path,
                    f"此文件的模式（{name} {found.get('schema_version', '')}，摘要 {found['schema_digest']}）与本次使用的"
                    f"（{model.name} {model.version}，摘要 {digest}）不一致，请使用新下发的模板重新填写",
                    f"the file's schema ({name} {found.get('schema_version', '')}, digest {found['schema_digest']}) differs from "
                    f"the one in use ({model.name} {model.version}, digest {digest}); fill in the template you were sent",
                    file_digest=found["schema_digest"], expected_digest=digest)
    fingerprint = build_layout(model).fingerprint
    if found.get("layout_fingerprint", "") != fingerprint:
        raise _fail("WRONG_LAYOUT", path,
                    f"此文件的模板版式（{found.get('layout_fingerprint') or '无'}）与当前版式（{fingerprint}）不一致，"
                    "可能由其他版本的xltool生成，请使用新下发的模板重新填写",
                    f"the file's template layout ({found.get('layout_fingerprint') or 'none'}) differs from the current one "
                    f"({fingerprint}); it may come from another xltool version; fill in the template you were sent",
                    file_fingerprint=found.get("layout_fingerprint"), expected_fingerprint=fingerprint)
    return model


# -- template integrity ------------------------------------------------------------------------


@dataclass
class _Moved:
    pointer: str
    expected: tuple[str, int, int]
    found: tuple[str, int, int] | None
    ref: str


def _moved_names(source: CellSource, layout: Layout) -> list[_Moved]:
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
            out.append(_Moved(fc.pointer, expected, found, ref or ""))
    return out


def _shifted_labels(source: CellSource, layout: Layout, moved: list[_Moved]) -> dict[str, Issue]:
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
            if source.get(sheet, b.row, b.col).content != t.display and source.get(sheet, b.row + dr, b.col + dc).content == t.display:
                frm, to = b.a1, a1(b.row + dr, b.col + dc)
                out[sheet] = Issue(
                    "TEMPLATE_DAMAGED", "error",
                    f"工作表「{sheet}」的表格结构被改动（插入或删除了行或列：「{t.display[:20]}」从 {frm} 移到了 {to}），"
                    "数据无法按模板读取，请使用原模板重新填写",
                    f"the structure of sheet '{sheet}' was changed (rows or columns inserted or deleted: "
                    f"'{t.display[:20]}' moved from {frm} to {to}); the data cannot be read; fill in the original template",
                    sheet=sheet, cell=frm, expected=frm, found=to)
                break
    return out


def _integrity_issues(source: CellSource, layout: Layout, moved: list[_Moved], damaged: set[str]) -> list[Issue]:
    out: list[Issue] = []
    for m in moved:
        sheet, row, col = m.expected
        if sheet in damaged:
            continue
        where = f"{sheet}!{a1(row, col)}"
        got = f"{m.found[0]}!{a1(m.found[1], m.found[2])}" if m.found else (m.ref or "（缺失）")
        code, zh, en = ("NAME_MOVED", f"输入单元格的名称 {m.pointer} 应指向 {where}，实际指向 {got}；已按模板位置 {where} 读取",
                        f"the input cell name of {m.pointer} should refer to {where} but refers to {got}; read from {where}")
        if not m.ref:
            code, zh, en = ("NAME_MISSING", f"输入单元格 {where} 的名称（{m.pointer}）已被删除；已按模板位置读取",
                            f"the name of input cell {where} ({m.pointer}) was deleted; read from the template position")
        out.append(Issue(code, "warning", zh, en, pointer=m.pointer, sheet=sheet, cell=a1(row, col), expected=where, found=got))
    for s in layout.sheets:
        if s.name in damaged:
            continue
        for t in s.texts:
            value = source.get(s.name, t.box.row, t.box.col).content
            if value != t.display:
                found = _shown(value)
                out.append(Issue("LABEL_CHANGED", "warning",
                                 f"表头或标签被改动：{s.name}!{t.box.a1} 应为「{t.display}」，实际为「{found}」",
                                 f"a label was changed: {s.name}!{t.box.a1} should read '{t.display}', found '{found}'",
                                 sheet=s.name, cell=t.box.a1, expected=t.display, found=found))
    if source.protection_known:
        protected = source.protected_sheets()
        for s in layout.sheets:
            if s.name not in protected:
                out.append(Issue("PROTECTION_REMOVED", "warning",
                                 f"工作表「{s.name}」的保护已被取消（表头和公式可能被改动）",
                                 f"the protection of sheet '{s.name}' was removed (labels and formulas may have been changed)",
                                 sheet=s.name, expected="protected", found="unprotected"))
    return out


# -- values ------------------------------------------------------------------------------------


def _clean(model: Model, pointer: str, value: Any) -> Any:
    """Totals computed in Python without float noise; whole numbers as ints."""
    if not isinstance(value, float) or not math.isfinite(value):
        return value
    f = model.by_pointer[pointer]
    value = round(value, f.decimals if f.decimals is not None else 9)
    return int(value) if value.is_integer() else value


def _same(a: Any, b: Any) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _derived_issues(source: CellSource, model: Model, layout: Layout, values: dict[str, Any]) -> list[Issue]:
    out = []
    for pointer in model.derived_order:
        box = layout.fields[pointer].box
        raw = source.get(box.sheet, box.row, box.col)
        expected = values[pointer]
        label = model.by_pointer[pointer].label
        common = {"pointer": pointer, "sheet": box.sheet, "cell": box.a1, "expected": expected}
        if source.formulas_known and raw.formula is None:
            found = raw.value
            out.append(Issue("FORMULA_CHANGED", "warning",
                             f"{label}：合计单元格的公式被替换为「{_shown(found)}」；已按各分项重新计算为 {show(expected)}",
                             f"{pointer}: the total's formula was replaced by '{_shown(found)}'; recomputed from its items as {show(expected)}",
                             found=found, **common))
            continue
        cached = raw.cached if source.formulas_known else raw.value
        if isinstance(cached, bool) or not isinstance(cached, (int, float)) or isinstance(cached, CellError):
            continue
        if expected is not None and not _same(cached, expected):
            out.append(Issue("CACHED_TOTAL_MISMATCH", "warning",
                             f"{label}：文件中显示的合计为 {show(cached)}，按各分项重新计算应为 {show(expected)}（以重新计算的结果为准）",
                             f"{pointer}: the file shows the total {show(cached)}, its items add up to {show(expected)} (the recomputed value is used)",
                             found=cached, **common))
    return out


def _norm(text: Any) -> str:
    return "" if text is None else str(text).replace("\u3000", " ").strip()


def _identity_issues(identity: Identity, values: dict[str, Any], model: Model) -> list[Issue]:
    out = []
    fields = model.by_pointer
    for key, what_zh, what_en in (("org_name", "填报单位", "the reporting organisation"), ("org_code", "统一社会信用代码", "the organisation code")):
        pointer = IDENTITY_FIELDS[key]
        issued = _norm(getattr(identity, key))
        filled = _norm(values.get(pointer))
        if pointer in fields and issued and filled and issued != filled:
            out.append(Issue("ORG_MISMATCH", "error",
                             f"此模板发放给「{issued}」，但{what_zh}为「{filled}」，请使用本单位的模板填写",
                             f"this template was issued to '{issued}' but {what_en} is '{filled}'; use your own organisation's template",
                             pointer=pointer, expected=issued, found=filled))
    pointer = IDENTITY_FIELDS["year"]
    year = values.get(pointer)
    if pointer in fields and identity.year and isinstance(year, int) and str(year) != identity.year.strip():
        out.append(Issue("YEAR_MISMATCH", "error",
                         f"此模板用于{identity.year}年度报告，但报告年度填写为{year}",
                         f"this template is for the {identity.year} report, but the report year is {year}",
                         pointer=pointer, expected=identity.year, found=year))
    return out


def _place(issues: Iterable[Issue], layout: Layout) -> list[Issue]:
    out = []
    for i in issues:
        fc = layout.fields.get(i.pointer or "")
        if fc is not None and not (i.sheet and i.cell):
            i = dataclasses.replace(i, sheet=fc.box.sheet, cell=fc.box.a1)
        out.append(i)
    return out


def _merge_checks(model: Model, cell_issues: list[Issue], checks: list[Issue]) -> list[Issue]:
    """Coercion issues plus the schema/decimal checks they do not already cover.

    A check on a field that coercion flagged is dropped (coercion says more precisely what is in
    the cell), and so is one on a total computed from a flagged field (a consequence); when
    coercion only warned but the schema rejects the value (a required field left blank), the
    coercion issue becomes an error instead.
    """
    warned = {i.pointer for i in cell_issues}
    bad = {i.pointer for i in cell_issues if i.severity == "error"}
    derived = model.derived
    consequences = {p for p, expr in derived.items() if bad.intersection(input_refs(refs_of(expr), derived))}
    escalate = {i.pointer for i in checks if i.pointer in warned - bad and i.severity == "error"}
    out = [dataclasses.replace(i, severity="error") if i.pointer in escalate and i.code == "BLANK_CELL" else i for i in cell_issues]
    covered = (warned - escalate) | bad | consequences | {i.pointer for i in out if i.severity == "error"}
    return out + [i for i in checks if i.pointer not in covered]


# -- the whole read ----------------------------------------------------------------------------


def _unreadable(path: str, exc: SourceError) -> InputFileError:
    return _fail("UNREADABLE_WORKBOOK", path, "文件无法按工作簿读取（可能已损坏），请用Excel打开后另存为 .xlsx 再提交",
                 "the workbook cannot be read (it may be damaged); open it in Excel, save it as .xlsx and submit again",
                 error=str(exc))


def read_workbook(path: str | os.PathLike[str], *, model: Model | None = None, strict: bool = False, level: str | None = None) -> ReadResult:
    """Read and check one returned workbook; raises InputFileError only when it cannot be read."""
    sniffed = safety.sniff(path)
    try:
        source = open_source(sniffed.data, sniffed.kind)
    except SourceError as exc:
        raise _unreadable(sniffed.path, exc) from None
    try:
        return _read(sniffed, source, model, strict, level)
    except SourceError as exc:
        raise _unreadable(sniffed.path, exc) from None
    finally:
        source.close()


def _read(sniffed: safety.Sniffed, source: CellSource, model: Model | None, strict: bool, level: str | None) -> ReadResult:
    found = _find_identity(source, model)
    model = _check_identity(found, model, sniffed.path)
    identity = Identity.from_mapping(found)
    layout = build_layout(model)
    missing = [s.name for s in layout.sheets if s.name not in source.sheet_names]
    if missing:
        listing = "、".join(f"「{s}」" for s in missing)
        raise _fail("TEMPLATE_DAMAGED", sniffed.path,
                    f"找不到工作表{listing}（可能被重命名或删除），请使用原模板重新填写",
                    f"sheet(s) {', '.join(missing)} not found (renamed or deleted?); fill in the original template",
                    missing=missing)

    moved = _moved_names(source, layout)
    extra = {s.name: 0 for s in layout.sheets}
    for m in moved:
        if m.found and m.found[0] == m.expected[0]:
            extra[m.found[0]] = max(extra[m.found[0]], m.found[1] - m.expected[1])
    source.prepare({s.name: 1 + max([b.last_row for b in _boxes(s)] + [0]) + extra[s.name] for s in layout.sheets})

    issues: list[Issue] = []
    if sniffed.kind == "xlsm":
        issues.append(Issue("MACROS_IGNORED", "warning", "文件为启用宏的工作簿（.xlsm），宏已被忽略，只读取了单元格内容",
                            "the file is a macro-enabled workbook (.xlsm); macros were ignored, only cell contents were read"))
    damage = _shifted_labels(source, layout, moved)
    issues += damage.values()
    issues += _integrity_issues(source, layout, moved, set(damage))

    values, cell_issues = _values(source, model, layout, strict)
    issues += _derived_issues(source, model, layout, values)

    report: dict[str, Any] = {"_meta": _meta(model, identity, sniffed)}
    report.update(unflatten(model, values))
    lvl = level or identity.level or None
    issues += _merge_checks(model, cell_issues, schema_issues(model, report) + decimal_issues(model, values))
    issues += _identity_issues(identity, values, model)
    issues += rule_issues(model, values, lvl, derived=model.derived)
    issues = _place(issues, layout)
    if damage:
        issues = [i for i in issues if i.sheet not in damage or i.code == "TEMPLATE_DAMAGED"]
    cells = {p: fc.box.where for p, fc in layout.fields.items()}
    return ReadResult(report, sort_issues(list(dict.fromkeys(issues)), layout.sheet_names), identity, model, cells, values)


def _values(source: CellSource, model: Model, layout: Layout, strict: bool) -> tuple[dict[str, Any], list[Issue]]:
    """Every input coerced (with its issues at its cell), then every total recomputed from them."""
    values: dict[str, Any] = {}
    issues: list[Issue] = []
    for f in model.fields:
        fc = layout.fields[f.pointer]
        if fc.derived:
            values[f.pointer] = None
            continue
        c = coerce(source.get(fc.box.sheet, fc.box.row, fc.box.col), f, strict=strict)
        values[f.pointer] = c.value
        issues += [Issue(p.code, p.severity, f"{f.label}：{p.zh}", f"{f.pointer}: {p.en}", pointer=f.pointer,
                         sheet=fc.box.sheet, cell=fc.box.a1, expected=p.expected, found=p.found) for p in c.problems]
    values = derive(model, values)
    for pointer in model.derived_order:
        if values[pointer] is None:  # every item unreadable: the sum of what is there
            values[pointer] = eval_expr(model.derived[pointer], values)
        values[pointer] = _clean(model, pointer, values[pointer])
    return values, issues


def _boxes(sheet: SheetLayout) -> list[Box]:
    return [f.box for f in sheet.fields] + [t.box for t in sheet.texts]


def _meta(model: Model, identity: Identity, sniffed: safety.Sniffed) -> dict[str, Any]:
    return {
        "schema": model.name,
        "schema_id": model.id,
        "schema_version": model.version,
        "template": identity.as_dict(),
        "source": {"file": os.path.basename(sniffed.path), "sha256": sniffed.sha256, "size": sniffed.size, "kind": sniffed.kind},
        "read_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
