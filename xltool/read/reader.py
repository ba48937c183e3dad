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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..base.errors import InputFileError
from ..base.text import clip
from ..check.evaluate import derive, eval_expr, unflatten
from ..check.issues import Issue, exit_code, sort_issues
from ..check.validate import decimal_issues, rule_issues, schema_issues
from ..spec.identity import Identity, same_code, same_name, same_year
from ..spec.layout import Box, Layout, SheetLayout, build_layout
from ..spec.model import Model
from ..spec.rules import input_refs, refs_of
from . import safety
from .cells import CellSource, SourceError, open_source
from .integrity import derived_issues, integrity_issues, moved_names, shifted_labels
from .recognize import check_identity, fail, find_identity
from .value_plan import read_sheets, value_plan

MAX_MESSAGE, MAX_QUOTED = 2000, 1000  # characters of an issue message / of its expected and found


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


# -- values ------------------------------------------------------------------------------------


def _clean(model: Model, pointer: str, value: Any) -> Any:
    """Totals computed in Python without float noise; whole numbers as ints."""
    if not isinstance(value, float) or not math.isfinite(value):
        return value
    f = model.by_pointer[pointer]
    value = round(value, f.decimals if f.decimals is not None else 9)
    return int(value) if value.is_integer() else value


def _identity_issues(identity: Identity, values: dict[str, Any], model: Model) -> list[Issue]:
    out = []
    roles = model.identity_fields
    for key, what_zh, what_en in (
        ("org_name", "填报单位", "the reporting organisation"),
        ("org_code", "统一社会信用代码", "the organisation code"),
    ):
        pointer = roles.get(key)
        issued = str(getattr(identity, key)).strip()
        filled = "" if not pointer or values.get(pointer) is None else str(values.get(pointer)).strip()
        same = same_name if key == "org_name" else same_code  # one answer: `spec.identity` decides
        if pointer and issued and filled and not same(issued, filled):
            issued, filled = clip(issued), clip(filled)
            out.append(
                Issue(
                    "ORG_MISMATCH",
                    "error",
                    f"此模板发放给「{issued}」，但{what_zh}为「{filled}」，请使用本单位的模板填写",
                    f"this template was issued to '{issued}' but {what_en} is '{filled}'; use your own organisation's template",
                    pointer=pointer,
                    expected=issued,
                    found=filled,
                )
            )
    pointer = roles.get("year")
    year = values.get(pointer) if pointer else None
    if pointer and identity.year and isinstance(year, int) and not same_year(identity.year, year):
        out.append(
            Issue(
                "YEAR_MISMATCH",
                "error",
                f"此模板用于{identity.year}年度报告，但报告年度填写为{year}",
                f"this template is for the {identity.year} report, but the report year is {year}",
                pointer=pointer,
                expected=identity.year,
                found=year,
            )
        )
    return out


def _place(issues: Iterable[Issue], layout: Layout) -> list[Issue]:
    """Issues at their cells, with messages and quoted values of a bounded length (a hostile cell
    can hold a megabyte, and every check that quotes it would copy it into the output)."""
    out = []
    for i in issues:
        fc = layout.fields.get(i.pointer or "")
        if fc is not None and not (i.sheet and i.cell):
            i = dataclasses.replace(i, sheet=fc.box.sheet, cell=fc.box.a1)
        long: dict[str, Any] = {
            k: clip(v, MAX_QUOTED if k in ("expected", "found") else MAX_MESSAGE)
            for k, v in (
                ("message_zh", i.message_zh),
                ("message_en", i.message_en),
                ("expected", i.expected),
                ("found", i.found),
            )
            if isinstance(v, str) and len(v) > MAX_QUOTED
        }
        out.append(dataclasses.replace(i, **long) if long else i)
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
    consequences = {p for p, expr in derived.items() if bad and bad.intersection(input_refs(refs_of(expr), derived))}
    escalate = {i.pointer for i in checks if i.pointer in warned - bad and i.severity == "error"}
    out = [
        dataclasses.replace(i, severity="error") if i.pointer in escalate and i.code == "BLANK_CELL" else i
        for i in cell_issues
    ]
    covered = (warned - escalate) | bad | consequences | {i.pointer for i in out if i.severity == "error"}
    return out + [i for i in checks if i.pointer not in covered]


# -- the whole read ----------------------------------------------------------------------------


def _unreadable(path: str, exc: SourceError) -> InputFileError:
    where_zh, where_en = (
        (f"文件的工作表「{clip(exc.sheet)}」无法读取", f"sheet '{clip(exc.sheet)}' of ")
        if exc.sheet
        else ("文件无法按工作簿读取", "")
    )
    return fail(
        "UNREADABLE_WORKBOOK",
        path,
        f"{where_zh}（可能已损坏），请用Excel打开后另存为 .xlsx 再提交",
        f"{where_en}the workbook cannot be read (it may be damaged); open it in Excel, save it as .xlsx and submit again",
        error=str(exc),
        sheet=exc.sheet,
    )


def read_workbook(
    path: str | os.PathLike[str],
    *,
    model: Model | None = None,
    strict: bool = False,
    level: str | None = None,
    reference: bool = False,
) -> ReadResult:
    """Read and check one returned workbook; raises InputFileError only when it cannot be read.

    `reference` reads xlsx through openpyxl instead of the lxml stream: same result, slower; kept
    so a test can prove the fast path never changes a verdict."""
    sniffed = safety.sniff(path)
    try:
        wanted = read_sheets(model) if model else ()
        source = open_source(sniffed.data, sniffed.kind, reference=reference, parts=sniffed.parts, wanted=wanted)
    except SourceError as exc:
        raise _unreadable(sniffed.path, exc) from None
    try:
        return _read(sniffed, source, model, strict, level)
    except SourceError as exc:
        raise _unreadable(sniffed.path, exc) from None
    finally:
        source.close()


def _read(
    sniffed: safety.Sniffed, source: CellSource, model: Model | None, strict: bool, level: str | None
) -> ReadResult:
    found = find_identity(source, model)
    model = check_identity(found, model, sniffed.path)
    identity = Identity.from_mapping(found)
    layout = build_layout(model)
    missing = [s.name for s in layout.sheets if s.name not in source.sheet_names]
    if missing:
        listing = "、".join(f"「{s}」" for s in missing)
        raise fail(
            "TEMPLATE_DAMAGED",
            sniffed.path,
            f"找不到工作表{listing}（可能被重命名或删除），请使用原模板重新填写",
            f"sheet(s) {', '.join(missing)} not found (renamed or deleted?); fill in the original template",
            missing=missing,
        )

    moved = moved_names(source, layout)
    extra = {s.name: 0 for s in layout.sheets}
    for m in moved:
        if m.found and m.found[0] == m.expected[0]:
            extra[m.found[0]] = max(extra[m.found[0]], m.found[1] - m.expected[1])
    source.prepare({s.name: 1 + max([b.last_row for b in _boxes(s)] + [0]) + extra[s.name] for s in layout.sheets})

    issues: list[Issue] = []
    if sniffed.kind == "xlsm":
        issues.append(
            Issue(
                "MACROS_IGNORED",
                "warning",
                "文件为启用宏的工作簿（.xlsm），宏已被忽略，只读取了单元格内容",
                "the file is a macro-enabled workbook (.xlsm); macros were ignored, only cell contents were read",
            )
        )
    damage = shifted_labels(source, layout, moved)
    issues += damage.values()
    issues += integrity_issues(source, layout, moved, set(damage))

    values, recomputed, cell_issues = _values(source, model, layout, strict)
    issues += derived_issues(source, model, layout, recomputed)

    report: dict[str, Any] = {"_meta": _meta(model, identity, sniffed)}
    report.update(unflatten(model, values))
    lvl = level or identity.level or None
    issues += _merge_checks(model, cell_issues, schema_issues(model, report) + decimal_issues(model, values))
    issues += _identity_issues(identity, values, model)
    issues += rule_issues(model, values, lvl, derived=model.derived)
    issues = _place(issues, layout)
    if damage:
        issues = [i for i in issues if i.sheet not in damage or i.code == "TEMPLATE_DAMAGED"]
    cells = dict(model._cached("cells", lambda: {p: fc.box.where for p, fc in layout.fields.items()}))
    return ReadResult(
        report, sort_issues(list(dict.fromkeys(issues)), layout.sheet_names), identity, model, cells, values
    )


def _typed_over(source: CellSource, fc: Any) -> bool:
    """A total whose formula was replaced by a value: the file says something else than the sum."""
    if not source.formulas_known:
        return False
    raw = source.get(fc.box.sheet, fc.box.row, fc.box.col)
    return raw.formula is None and raw.value not in (None, "")


def _values(
    source: CellSource, model: Model, layout: Layout, strict: bool
) -> tuple[dict[str, Any], dict[str, Any], list[Issue]]:
    """Every input coerced (with its issues at its cell), then every total computed from them.

    Returns (values, recomputed, issues). A total typed over its formula is read as typed — the
    reader reports what the file says and the rules check it — while `recomputed` holds what the
    formula would give, for the messages."""
    values: dict[str, Any] = {}
    issues: list[Issue] = []
    typed: set[str] = set()
    get = source.get
    for c in value_plan(model, layout, strict):
        f = c.field
        if c.cell.derived:
            if not _typed_over(source, c.cell):
                values[f.pointer] = None
                continue
            typed.add(f.pointer)
        coerced = c.coerce(get(c.sheet, c.row, c.col))
        values[f.pointer] = coerced.value
        if coerced.problems:
            issues += [
                Issue(
                    p.code,
                    p.severity,
                    f"{f.label}：{p.zh}",
                    f"{f.pointer}: {p.en}",
                    pointer=f.pointer,
                    sheet=c.sheet,
                    cell=c.a1,
                    expected=p.expected,
                    found=p.found,
                )
                for p in coerced.problems
            ]
    inputs = {p: (None if p in typed else v) for p, v in values.items()}
    results = []  # no total typed over: both starts are the same, and so are their totals
    for keep, start in ((frozenset(typed), values), (frozenset(), inputs))[: 2 if typed else 1]:
        out = derive(model, start, keep=keep)
        for pointer in model.derived_order:
            if pointer in keep:
                continue
            if out[pointer] is None:  # every item unreadable: the sum of what is there
                out[pointer] = eval_expr(model.derived[pointer], out)
            out[pointer] = _clean(model, pointer, out[pointer])
        results.append(out)
    return results[0], results[1] if typed else dict(results[0]), issues


def _boxes(sheet: SheetLayout) -> list[Box]:
    return [f.box for f in sheet.fields] + [t.box for t in sheet.texts]


def _meta(model: Model, identity: Identity, sniffed: safety.Sniffed) -> dict[str, Any]:
    return {
        "schema": model.name,
        "schema_id": model.id,
        "schema_version": model.version,
        "template": identity.as_dict(),
        "source": {
            "file": os.path.basename(sniffed.path),
            "sha256": sniffed.sha256,
            "size": sniffed.size,
            "kind": sniffed.kind,
        },
        "read_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
