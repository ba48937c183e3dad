"""Write a locked template (optionally pre-filled) with xlsxwriter, from the model and layout only.

Nothing here knows about the annual report: the writer walks the layout (where cells sit), the
model (field kinds, rules) and the compiled formulas. Every xlsxwriter return code is checked;
tests run with warnings as errors so xlsxwriter's warnings fail them too.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..base.version import __version__
from ..check.evaluate import BLANK, FAIL, PASS, derive, evaluate
from ..check.formulas import FAIL_MARK, PASS_MARK, WARN_MARK, compiler_for
from ..spec.identity import Identity
from ..spec.identity import defined_name as identity_name
from ..spec.layout import Box, FieldCell, Layout, SheetLayout, build_layout, col_letter, sheet_ref
from ..spec.model import Field, Model
from ..spec.rules import Compare, Rule, RuleInstance
from .data_validation import validation_options
from .formats import make_formats
from .highlight import highlights
from .protection import protect_structure


@dataclass(frozen=True)
class TemplateOptions:
    year: int | None = None
    org_name: str = ""
    org_code: str = ""
    level: str = ""
    deadline: str = ""
    contact: str = ""
    password: str = ""
    issue_date: str = ""  # YYYY-MM-DD; pins the document's created time (reproducible output)
    portal_link: str = ""  # the organisation's private upload link (`xltool serve`), shown when set
    values: Mapping[str, Any] = field(default_factory=dict)  # pre-fill (fill, carry-over)


def _ok(rc: Any, what: str) -> None:
    if isinstance(rc, int) and rc < 0:
        raise RuntimeError(f"xlsxwriter refused {what} (return code {rc})")


def make_identity(model: Model, layout: Layout, opts: TemplateOptions) -> Identity:
    return Identity(
        generator=f"xltool {__version__}",
        schema_id=model.id,
        schema_name=model.name,
        schema_version=model.version,
        schema_digest=model.digest,
        layout_fingerprint=layout.fingerprint,
        year="" if opts.year is None else str(opts.year),
        org_name=opts.org_name,
        org_code=opts.org_code,
        level=opts.level,
        issue_date=opts.issue_date,
        deadline=opts.deadline,
        contact=opts.contact,
    ).with_serial()


def _created(opts: TemplateOptions) -> dt.datetime:
    if opts.issue_date:
        d = dt.date.fromisoformat(opts.issue_date)
        return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)
    return dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _footer_text(text: str) -> str:
    return text.replace("&", "&&")


class _Writer:
    def __init__(self, model: Model, opts: TemplateOptions) -> None:
        self.model = model
        self.opts = opts
        self.layout = build_layout(model)
        self.identity = make_identity(model, self.layout, opts)
        self.buffer = io.BytesIO()
        self.wb = xlsxwriter.Workbook(
            self.buffer,
            {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
        )
        self.meta_rows = {k: i for i, k in enumerate(k for k, _ in self.identity.items())}
        self.level_ref = sheet_ref(model.meta_sheet, self.meta_rows["level"], 1)
        self.compiler = compiler_for(self.layout, self.level_ref)
        self.formats = make_formats(self.wb)
        # values: inputs as given, derived recomputed (so cached formula results are right)
        given = {p: v for p, v in opts.values.items() if p not in model.derived}
        issued = {"org_name": opts.org_name or None, "org_code": opts.org_code or None, "year": opts.year}
        for role, pointer in model.identity_fields.items():
            if given.get(pointer) is None and issued.get(role) is not None:
                given[pointer] = issued[role]  # the template comes pre-filled with whom it was issued to
        self.values = derive(model, {f.pointer: given.get(f.pointer) for f in model.fields})
        self.outcomes = {
            (o.rule.id, o.instance.index): o
            for o in evaluate(model, self.values, level=opts.level or None, derived=model.derived)
        }
        self.state_cells: dict[tuple[str, int], str] = {}

    # -- sheets ----------------------------------------------------------------------------
    def _title(self) -> str:
        o = self.opts
        return self.model.template_title.format(org=o.org_name or "", year=o.year if o.year is not None else "____")

    def _protect(self, ws: Worksheet) -> None:
        ws.protect(
            self.opts.password,
            {"select_locked_cells": True, "select_unlocked_cells": True, "format_columns": True, "format_rows": True},
        )

    def _print_setup(self, ws: Worksheet, sheet_name: str, landscape: bool) -> None:
        ws.set_paper(9)
        if landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        org = _footer_text(self.opts.org_name or "")
        ws.set_footer(f"&L{org}&C{_footer_text(sheet_name)}&R第 &P 页，共 &N 页")

    def _summary_formula(self, check_range: str) -> str:
        return (
            f'=IF(COUNTIF({check_range},"{FAIL_MARK}")>0,"有 "&COUNTIF({check_range},"{FAIL_MARK}")&" 处不一致，请核对标红单元格",'
            f'IF(COUNTIF({check_range},"{PASS_MARK}")=0,"尚未填写","校验通过"))'
        )

    def _summary_value(self) -> str:
        fails = sum(1 for o in self.outcomes.values() if o.state == FAIL and o.rule.severity == "error")
        passes = sum(1 for o in self.outcomes.values() if o.state == PASS)
        if fails:
            return f"有 {fails} 处不一致，请核对标红单元格"
        return "校验通过" if passes else "尚未填写"

    def _mark(self, rule: Rule, inst: RuleInstance) -> str:
        o = self.outcomes[(rule.id, inst.index)]
        if o.state == PASS:
            return PASS_MARK
        if o.state == FAIL:
            return FAIL_MARK if rule.severity == "error" else WARN_MARK
        return ""

    def write(self) -> bytes:
        m, wb = self.model, self.wb
        wb.set_properties(
            {
                "title": self._title(),
                "subject": m.title,
                "author": "xltool",
                "company": self.opts.org_name,
                "comments": f"{m.name} {m.version}",
                "created": _created(self.opts),
            }
        )
        wb.set_calc_mode("auto")
        n_instances = sum(len(r.instances) for r in m.rules)
        check_range = f"'{m.checks_sheet}'!$D$4:$D${3 + n_instances}"
        self._instructions(check_range)
        sheets = {s.name: wb.add_worksheet(s.name) for s in self.layout.sheets}
        checks_ws = wb.add_worksheet(m.checks_sheet)
        meta_ws = wb.add_worksheet(m.meta_sheet)
        for s in self.layout.sheets:
            self._data_sheet(sheets[s.name], s, check_range)
        self._checks_sheet(checks_ws)
        for s in self.layout.sheets:
            self._conditional_formats(sheets[s.name], s)
        self._meta_sheet(meta_ws)
        wb.close()
        return protect_structure(self.buffer.getvalue(), self.opts.password)

    def _instructions(self, check_range: str) -> None:
        m, o = self.model, self.opts
        ws = self.wb.add_worksheet(m.instructions_sheet)
        ws.set_column(0, 0, 18)
        ws.set_column(1, 1, 90)
        _ok(ws.merge_range(0, 0, 0, 1, self._title(), self.formats["title"]), "title")
        _ok(
            ws.write_formula(1, 0, self._summary_formula(check_range), self.formats["summary"], self._summary_value()),
            "summary",
        )
        ws.merge_range(1, 0, 1, 1, None, self.formats["summary"]) if False else None
        rows = [
            ("填报单位", o.org_name or "（未指定）"),
            ("统一社会信用代码", o.org_code or ""),
            ("报告年度", "" if o.year is None else str(o.year)),
            ("报送截止日期", o.deadline or ""),
            ("联系人及电话", o.contact or ""),
            ("模板版本", f"{m.title}（{m.name} {m.version}）"),
            ("模板编号", self.identity.serial),
        ]
        if o.portal_link:
            rows.append(("在线报送链接", o.portal_link))
        r = 3
        for key, value in rows:
            ws.write_string(r, 0, key, self.formats["key"])
            ws.write_string(r, 1, value, self.formats["cellval"])
            r += 1
        r += 1
        ws.write_string(r, 0, "填报说明", self.formats["heading"])
        r += 1
        for i, line in enumerate(m.instructions, start=1):
            ws.write_string(r, 0, f"{i}.", self.formats["plain"])
            ws.write_string(r, 1, line, self.formats["plain"])
            ws.set_row(r, 30)
            r += 1
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        self._protect(ws)
        ws.activate()

    def _data_sheet(self, ws: Worksheet, s: SheetLayout, check_range: str) -> None:
        fm = self.formats
        for c, w in enumerate(s.widths):
            ws.set_column(c, c, w)
        for r, h in s.heights.items():
            ws.set_row(r, min(h, 409))
        last = s.ncols - 1
        _ok(ws.merge_range(0, 0, 0, last, self._title(), fm["title"]), "title")
        ws.set_row(0, 24)
        ws.merge_range(1, 0, 1, last, "", fm["summary"])
        _ok(ws.write_formula(1, 0, self._summary_formula(check_range), fm["summary"], self._summary_value()), "summary")
        for t in s.texts:
            b = t.box
            fmt = fm[t.role] if t.role in fm else fm["label"]
            if b.merged:
                _ok(ws.merge_range(b.row, b.col, b.last_row, b.last_col, t.display, fmt), f"text {b.where}")
            else:
                _ok(ws.write_string(b.row, b.col, t.display, fmt), f"text {b.where}")
        for fc in s.fields:
            self._field(ws, fc)
        for chk in s.checks:
            rule = self.model.rule(chk.rule_id)
            inst = rule.instances[chk.index]
            formula = self.compiler.check_formula(rule, inst, s.name)
            _ok(
                ws.write_formula(chk.box.row, chk.box.col, formula, fm["check"], self._mark(rule, inst)),
                f"check {chk.box.where}",
            )
            self.state_cells[(rule.id, inst.index)] = sheet_ref(s.name, chk.box.row, chk.box.col)
        if s.repeat_rows:
            ws.repeat_rows(*s.repeat_rows)
        ws.print_area(0, 0, max(s.last_row - 1, 1), last)
        self._print_setup(ws, s.name, s.orientation == "landscape")
        self._protect(ws)

    def _field(self, ws: Worksheet, fc: FieldCell) -> None:
        f = self.model.by_pointer[fc.pointer]
        b = fc.box
        value = self.values.get(fc.pointer)
        if fc.derived:
            formula = self.compiler.derived_formula(fc.pointer, b.sheet)
            fmt = self.formats["derived"]
            if b.merged:
                ws.merge_range(b.row, b.col, b.last_row, b.last_col, "", fmt)
            _ok(ws.write_formula(b.row, b.col, formula, fmt, 0 if value is None else value), f"total {b.where}")
            return
        fmt = self.formats[f.kind]
        if b.merged:
            _ok(ws.merge_range(b.row, b.col, b.last_row, b.last_col, "", fmt), f"input {b.where}")
        self._write_value(ws, b.row, b.col, f, value, fmt)
        self._validation(ws, fc, f)
        _ok(self.wb.define_name(fc.defined_name, "=" + sheet_ref(b.sheet, b.row, b.col)), f"name {fc.defined_name}")

    def _write_value(self, ws: Worksheet, row: int, col: int, f: Field, value: Any, fmt: Any) -> None:
        if value is None or value == "" and f.numeric:
            _ok(ws.write_blank(row, col, None, fmt), "blank")
        elif f.numeric and isinstance(value, (int, float)) and not isinstance(value, bool):
            _ok(ws.write_number(row, col, value, fmt), "number")
        else:
            _ok(ws.write_string(row, col, str(value), fmt), "string")

    def _validation(self, ws: Worksheet, fc: FieldCell, f: Field) -> None:
        b = fc.box
        _ok(
            ws.data_validation(b.row, b.col, b.last_row, b.last_col, validation_options(self.model, fc, f)),
            f"validation {b.where}",
        )

    def _checks_sheet(self, ws: Worksheet) -> None:
        m, fm = self.model, self.formats
        ws.set_column(0, 0, 8)
        ws.set_column(1, 1, 44)
        ws.set_column(2, 2, 30)
        ws.set_column(3, 3, 8)
        ws.set_column(4, 5, 12)
        ws.set_column(6, 6, 8)
        ws.merge_range(0, 0, 0, 6, "校验结果（自动计算，✓ 一致，✗ 不一致，⚠ 提示）", fm["title"])
        heads = ["规则", "名称", "对象", "状态", "左边", "右边", "级别"]
        for c, h in enumerate(heads):
            ws.write_string(2, c, h, fm["header"])
        r = 3
        sheet = m.checks_sheet
        for rule in m.rules:
            for inst in rule.instances:
                ws.write_string(r, 0, rule.id, fm["cellval"])
                ws.write_string(r, 1, rule.title_zh, fm["cellval"])
                ws.write_string(r, 2, inst.item_label or "", fm["cellval"])
                key = (rule.id, inst.index)
                if key in self.state_cells:
                    formula = "=" + self.state_cells[key]
                else:
                    formula = self.compiler.check_formula(rule, inst, sheet)
                    self.state_cells[key] = sheet_ref(sheet, r, 3)
                _ok(ws.write_formula(r, 3, formula, fm["check"], self._mark(rule, inst)), "check state")
                o = self.outcomes[key]
                if isinstance(inst.check, Compare) and not rule.cross_year:
                    lv = o.left if o.state not in (BLANK,) and o.left is not None else 0
                    rv = o.right if o.state not in (BLANK,) and o.right is not None else 0
                    ws.write_formula(r, 4, "=" + self.compiler.expr(inst.check.left, sheet), fm["cellval"], lv)
                    ws.write_formula(r, 5, "=" + self.compiler.expr(inst.check.right, sheet), fm["cellval"], rv)
                else:
                    ws.write_blank(r, 4, None, fm["cellval"])
                    ws.write_blank(r, 5, None, fm["cellval"])
                ws.write_string(r, 6, "错误" if rule.severity == "error" else "提示", fm["cellval"])
                r += 1
        state_range = f"$D$4:$D${r}"
        ws.conditional_format(
            state_range, {"type": "cell", "criteria": "==", "value": f'"{FAIL_MARK}"', "format": fm["red"]}
        )
        ws.conditional_format(
            state_range, {"type": "cell", "criteria": "==", "value": f'"{WARN_MARK}"', "format": fm["warn"]}
        )
        ws.conditional_format(
            state_range, {"type": "cell", "criteria": "==", "value": f'"{PASS_MARK}"', "format": fm["pass"]}
        )
        ws.freeze_panes(3, 0)
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(2)
        self._protect(ws)

    def _conditional_formats(self, ws: Worksheet, s: SheetLayout) -> None:
        """Red (or yellow for warnings) on every cell a failing check involves."""
        fm = self.formats
        for hl in highlights(self.model, self.layout, s, self.state_cells):
            self._cf(ws, hl.boxes, hl.criteria, fm["red"] if hl.severity == "error" else fm["warn"])
        if s.checks:
            rng = " ".join(sorted({c.box.a1 for c in s.checks}))
            first = s.checks[0].box
            ws.conditional_format(
                first.row,
                first.col,
                first.row,
                first.col,
                {"type": "cell", "criteria": "==", "value": f'"{FAIL_MARK}"', "format": fm["red"], "multi_range": rng},
            )
            ws.conditional_format(
                first.row,
                first.col,
                first.row,
                first.col,
                {"type": "cell", "criteria": "==", "value": f'"{PASS_MARK}"', "format": fm["pass"], "multi_range": rng},
            )
        sb = s.summary_box
        ws.conditional_format(
            sb.row,
            sb.col,
            sb.row,
            sb.col,
            {"type": "text", "criteria": "begins with", "value": "有 ", "format": fm["red"]},
        )

    def _cf(self, ws: Worksheet, boxes: list[Box], criteria: str, fmt: Any) -> None:
        """One formula rule over several boxes; the formula is relative to the first box."""
        first = boxes[0]
        rng = " ".join(b.a1 if not b.merged else f"{b.a1}:{col_letter(b.last_col)}{b.last_row + 1}" for b in boxes)
        opts = {"type": "formula", "criteria": criteria, "format": fmt, "multi_range": rng}
        _ok(ws.conditional_format(first.row, first.col, first.last_row, first.last_col, opts), "conditional format")

    def _meta_sheet(self, ws: Worksheet) -> None:
        ws.set_column(0, 0, 22)
        ws.set_column(1, 1, 60)
        for key, value in self.identity.items():
            r = self.meta_rows[key]
            ws.write_string(r, 0, key)
            ws.write_string(r, 1, value)
            _ok(self.wb.define_name(identity_name(key), "=" + sheet_ref(self.model.meta_sheet, r, 1)), f"name {key}")
            if value:
                _ok(self.wb.set_custom_property(identity_name(key), value), f"property {key}")
        ws.hide()
        self._protect(ws)


def write_template(model: Model, opts: TemplateOptions | None = None) -> tuple[bytes, Identity]:
    """The template as xlsx bytes, and the identity written into it."""
    w = _Writer(model, opts or TemplateOptions())
    data = w.write()
    return data, w.identity
