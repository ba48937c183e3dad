"""Write a locked template (optionally pre-filled) with xlsxwriter, from the model and layout only.

Nothing here knows about the annual report: the writer walks the layout (where cells sit), the
model (field kinds, rules) and the compiled formulas. Every xlsxwriter call goes through `Checked`,
so a refused call raises instead of leaving a silently incomplete template.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..base.internals import xlsx_workbook
from ..base.version import __version__
from ..check.evaluate import Outcome, derive, evaluate
from ..check.formulas import FAIL_MARK, PASS_MARK, compiler_for, mark
from ..spec.identity import Identity
from ..spec.layout import FieldCell, SheetLayout, build_layout
from ..spec.model import Field, Model
from ..spec.positions import META_VALUE_COL, TITLE_ROW, meta_row, sheet_ref
from .checked import Checked
from .formats import make_formats
from .protection import protect_sheet, structure_protection
from .sheet_plan import sheet_plan
from .side_sheets import write_checks, write_instructions, write_meta
from .summary import summary_value, write_summary


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
    # more sheets after the template's own (e.g. the county summary's per-organisation sheet):
    # called with the xlsxwriter workbook and the template's formats, before the workbook is closed
    extra_sheets: Callable[[Any, dict[str, Any]], None] | None = None


def make_identity(model: Model, opts: TemplateOptions) -> Identity:
    return Identity(
        generator=f"xltool {__version__}",
        schema_id=model.id,
        schema_name=model.name,
        schema_version=model.version,
        schema_digest=model.digest,
        layout_fingerprint=build_layout(model).fingerprint,
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


Outcomes = dict[tuple[str, int], Outcome]


def prepare_values(model: Model, opts: TemplateOptions) -> tuple[dict[str, Any], Outcomes]:
    """The cell values (inputs as given, derived recomputed, so cached formula results are right) and the
    rule outcomes the template shows."""
    given = {p: v for p, v in opts.values.items() if p not in model.derived}
    issued = {"org_name": opts.org_name or None, "org_code": opts.org_code or None, "year": opts.year}
    for role, pointer in model.identity_fields.items():
        if given.get(pointer) is None and issued.get(role) is not None:
            given[pointer] = issued[role]  # the template comes pre-filled with whom it was issued to
    values = derive(model, {f.pointer: given.get(f.pointer) for f in model.fields})
    outcomes = {
        (o.rule.id, o.instance.index): o
        for o in evaluate(model, values, level=opts.level or None, derived=model.derived)
    }
    return values, outcomes


class TemplateWriter:
    """`prepared` and `identity`, when given, replace what the options would give (`template.stamp`
    writes a template with stand-ins for the organisation's text this way)."""

    def __init__(
        self,
        model: Model,
        opts: TemplateOptions,
        prepared: tuple[dict[str, Any], Outcomes] | None = None,
        identity: Identity | None = None,
    ) -> None:
        self.model = model
        self.opts = opts
        self.layout = build_layout(model)
        self.identity = identity or make_identity(model, opts)
        self.buffer = io.BytesIO()
        options = {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
        lock = structure_protection(opts.password)
        self.wb = Checked(xlsx_workbook(self.buffer, {**options, "strings_to_urls": False}, lock), "workbook")
        self.compiler = compiler_for(self.layout, sheet_ref(model.meta_sheet, meta_row("level"), META_VALUE_COL))
        self.formats = make_formats(self.wb.target)
        self.values, self.outcomes = prepared or prepare_values(model, opts)
        self.summary = (self.layout.check_state_range, summary_value(self.outcomes.values()))

    def _title(self) -> str:
        o = self.opts
        return self.model.template_title.format(org=o.org_name or "", year=o.year if o.year is not None else "____")

    def _sheet(self, name: str) -> Checked:
        return Checked(self.wb.add_worksheet(name), name)

    def _print_setup(self, ws: Checked, sheet_name: str, landscape: bool) -> None:
        ws.set_paper(9)
        if landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        org = _footer_text(self.opts.org_name or "")
        ws.set_footer(f"&L{org}&C{_footer_text(sheet_name)}&R第 &P 页，共 &N 页")

    def _info(self) -> list[tuple[str, str]]:
        m, o = self.model, self.opts
        return [
            ("填报单位", o.org_name or "（未指定）"),
            ("统一社会信用代码", o.org_code or ""),
            ("报告年度", "" if o.year is None else str(o.year)),
            ("报送截止日期", o.deadline or ""),
            ("联系人及电话", o.contact or ""),
            ("模板版本", f"{m.title}（{m.name} {m.version}）"),
            ("模板编号", self.identity.serial),
        ] + ([("在线报送链接", o.portal_link)] if o.portal_link else [])

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
        instructions = self._sheet(m.instructions_sheet)
        write_instructions(instructions, self._info(), m.instructions, self._title(), self.summary, self.formats)
        sheets = [(self._sheet(s.name), s) for s in self.layout.sheets]
        checks, meta = self._sheet(m.checks_sheet), self._sheet(m.meta_sheet)
        for ws, s in sheets:
            self._data_sheet(ws, s)
            self._conditional_formats(ws, s)
        write_checks(checks, self.layout, self.compiler, self.outcomes, self.formats)
        write_meta(wb, meta, m.meta_sheet, self.identity)
        for ws in (instructions, *(ws for ws, _ in sheets), checks, meta):
            protect_sheet(ws, self.opts.password)
        if self.opts.extra_sheets is not None:
            self.opts.extra_sheets(wb, self.formats)
        wb.close()
        return self.buffer.getvalue()

    def _data_sheet(self, ws: Checked, s: SheetLayout) -> None:
        fm = self.formats
        for c, w in enumerate(s.widths):
            ws.set_column(c, c, w)
        for r, h in s.heights.items():
            ws.set_row(r, min(h, 409))
        t = s.title_box
        ws.merge_range(t.row, t.col, t.last_row, t.last_col, self._title(), fm["title"])
        ws.set_row(TITLE_ROW, 24)
        write_summary(ws, s.summary_box.last_col, *self.summary, fm)
        for text in s.texts:
            b = text.box
            fmt = fm[text.role] if text.role in fm else fm["label"]
            if b.merged:
                ws.merge_range(b.row, b.col, b.last_row, b.last_col, text.display, fmt)
            else:
                ws.write_string(b.row, b.col, text.display, fmt)
        plan = sheet_plan(self.layout, s)
        for fc in s.fields:
            self._field(ws, fc)
        for first, opts in plan.validations:
            ws.data_validation(first.row, first.col, first.last_row, first.last_col, opts)
        for name, ref in plan.names:
            self.wb.define_name(name, ref)
        for chk in s.checks:
            rule = self.model.rule(chk.rule_id)
            inst = rule.instances[chk.index]
            formula = self.compiler.check_formula(rule, inst, s.name)
            shown = mark(self.outcomes[(rule.id, inst.index)].state, rule.severity)
            ws.write_formula(chk.box.row, chk.box.col, formula, fm["check"], shown)
        if s.repeat_rows:
            ws.repeat_rows(*s.repeat_rows)
        ws.print_area(0, 0, max(s.last_row - 1, 1), s.ncols - 1)
        self._print_setup(ws, s.name, s.orientation == "landscape")

    def _field(self, ws: Checked, fc: FieldCell) -> None:
        f = self.model.by_pointer[fc.pointer]
        b = fc.box
        value = self.values.get(fc.pointer)
        fmt = self.formats["derived" if fc.derived else f.kind]
        if b.merged:
            ws.merge_range(b.row, b.col, b.last_row, b.last_col, "", fmt)
        if fc.derived:
            formula = self.compiler.derived_formula(fc.pointer, b.sheet)
            ws.write_formula(b.row, b.col, formula, fmt, 0 if value is None else value)
            return
        self._write_value(ws, b.row, b.col, f, value, fmt)

    @staticmethod
    def _write_value(ws: Checked, row: int, col: int, f: Field, value: Any, fmt: Any) -> None:
        if value is None or value == "" and f.numeric:
            ws.write_blank(row, col, None, fmt)
        elif f.numeric and isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.write_number(row, col, value, fmt)
        else:
            ws.write_string(row, col, str(value), fmt)

    def _conditional_formats(self, ws: Checked, s: SheetLayout) -> None:
        """Red (or yellow for warnings) on every cell a failing check involves; check cells by their mark."""
        fm, plan = self.formats, sheet_plan(self.layout, s)
        for first, criteria, severity, rng in plan.highlights:
            opts = {"type": "formula", "criteria": criteria, "format": fm["red" if severity == "error" else "warn"]}
            ws.conditional_format(first.row, first.col, first.last_row, first.last_col, {**opts, "multi_range": rng})
        if s.checks:
            first = s.checks[0].box
            for shown, style in ((FAIL_MARK, "red"), (PASS_MARK, "pass")):
                opts = {"type": "cell", "criteria": "==", "value": f'"{shown}"', "format": fm[style]}
                ws.conditional_format(
                    first.row, first.col, first.row, first.col, {**opts, "multi_range": plan.check_cells}
                )


def write_template(model: Model, opts: TemplateOptions | None = None) -> tuple[bytes, Identity]:
    """The template as xlsx bytes, and the identity written into it."""
    w = TemplateWriter(model, opts or TemplateOptions())
    data = w.write()
    return data, w.identity
