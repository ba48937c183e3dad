"""The template: structure, locking, validation, identity, reproducibility (on the real files)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from support import ROOT, fields_file, model_for

from xltool.base.errors import OutputError
from xltool.spec.identity import KEYS
from xltool.spec.kinds import KINDS
from xltool.spec.layout import build_layout, defined_name
from xltool.spec.model import Model, build_model
from xltool.spec.positions import (
    CHECKS_COLUMNS,
    CHECKS_STATE_COL,
    META_KEY_COL,
    META_VALUE_COL,
    a1,
    col_letter,
    meta_row,
    parse_a1,
    sheet_ref,
)
from xltool.spec.schemas import load_source
from xltool.template.checked import Checked
from xltool.template.data_validation import BY_KIND
from xltool.template.writer import TemplateOptions, write_template

OPTS = TemplateOptions(
    year=2025,
    org_name="示例县城关镇人民政府",
    org_code="11330000MB0000000H",
    level="township",
    deadline="2026-01-31",
    contact="张三 0000-1234567",
    issue_date="2026-01-05",
)
DV_KIND = {
    "count": ("whole", "between", "0"),
    "signed_count": ("whole", "between", "-999999999"),
    "amount": ("decimal", "greaterThanOrEqual", "0"),
    "integer": ("whole", "between", "2000"),
    "text": ("textLength", "lessThanOrEqual", None),
    "string": ("textLength", "lessThanOrEqual", "200"),
}


@pytest.fixture(scope="module", params=["2021", "2019"])
def written(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Model, Path]:
    year = request.param
    model = model_for(year)
    data, _ = write_template(model, OPTS)
    path = tmp_path_factory.mktemp("tpl") / f"t{year}.xlsx"
    path.write_bytes(data)
    return year, model, path


def test_generation_raises_no_xlsxwriter_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for year in ("2021", "2019"):
            write_template(model_for(year), OPTS)


def test_every_field_cell_label_lock_and_validation(written: tuple[str, Model, Path]) -> None:
    year, model, path = written
    layout = build_layout(model)
    wb = openpyxl.load_workbook(path)
    # every label cell shows exactly the layout's text
    for sheet in layout.sheets:
        ws = wb[sheet.name]
        for t in sheet.texts:
            assert ws.cell(t.box.row + 1, t.box.col + 1).value == t.display, t.box.where
    official = {f["pointer"]: tuple(f["labels"]) for f in fields_file(year)}
    validations = {}
    for sheet in layout.sheets:
        for dv in wb[sheet.name].data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                validations[(sheet.name, rng.coord.split(":")[0])] = dv
    names = wb.defined_names
    for ptr, cell in layout.fields.items():
        b = cell.box
        assert cell.label_path == official[ptr]
        c = wb[b.sheet].cell(b.row + 1, b.col + 1)
        kind = model.by_pointer[ptr].kind
        if cell.derived:
            assert c.protection.locked, ptr
            assert isinstance(c.value, str) and c.value.startswith("=SUM("), ptr
            assert (b.sheet, b.a1) not in validations
        else:
            assert not c.protection.locked, ptr
            assert c.fill.fgColor.rgb.endswith("FFF2CC"), ptr
            dv = validations[(b.sheet, b.a1)]
            vtype, op, first = DV_KIND[kind]
            assert (dv.type, dv.operator or "between") == (vtype, op), ptr
            if first is not None:
                assert dv.formula1 == first, ptr
            assert dv.showErrorMessage and dv.showInputMessage and dv.prompt, ptr
            expected_style = "warning" if ptr == "/overview" else "stop"
            assert (dv.errorStyle or "stop") == expected_style, ptr
            assert names[defined_name(ptr)].attr_text == f"'{b.sheet}'!${re.sub(r'[0-9]', '', b.a1)}${b.row + 1}"
    overview = validations[(layout.fields["/overview"].box.sheet, layout.fields["/overview"].box.a1)]
    assert overview.formula1 == "1000"


def test_only_inputs_are_unlocked(written: tuple[str, Model, Path]) -> None:
    _, model, path = written
    layout = build_layout(model)
    inputs = {
        (c.box.sheet, r + 1, col + 1)
        for c in layout.fields.values()
        if not c.derived
        for r in range(c.box.row, c.box.last_row + 1)
        for col in range(c.box.col, c.box.last_col + 1)
    }
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        assert ws.protection.sheet, ws.title
        for row in ws.iter_rows():
            for c in row:
                if not c.protection.locked:
                    assert (ws.title, c.row, c.column) in inputs, f"{ws.title}!{c.coordinate}"


def test_workbook_structure_protected_and_identity_hidden(written: tuple[str, Model, Path]) -> None:
    _, model, path = written
    with zipfile.ZipFile(path) as z:
        wbxml = z.read("xl/workbook.xml").decode()
    assert '<workbookProtection lockStructure="1"/>' in wbxml
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == build_layout(model).sheet_names
    meta = wb[model.meta_sheet]
    assert meta.sheet_state == "hidden"
    values = {
        meta.cell(meta_row(k) + 1, META_KEY_COL + 1).value: meta.cell(meta_row(k) + 1, META_VALUE_COL + 1).value
        for k in KEYS
    }
    assert values["schema_name"] == model.name and values["schema_version"] == "1.0.0"
    assert values["layout_fingerprint"] == build_layout(model).fingerprint
    assert (values["year"], values["org_name"], values["org_code"], values["level"], values["issue_date"]) == (
        "2025",
        "示例县城关镇人民政府",
        "11330000MB0000000H",
        "township",
        "2026-01-05",
    )
    assert re.fullmatch(r"[0-9A-F]{12}", values["serial"])
    for key in KEYS:
        assert wb.defined_names[f"xltool.{key}"].attr_text == sheet_ref(model.meta_sheet, meta_row(key), META_VALUE_COL)
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props["xltool.schema_id"] == model.id
    assert props["xltool.serial"] == values["serial"]


def test_password_protects_sheets_and_structure() -> None:
    data, _ = write_template(model_for("2021"), TemplateOptions(issue_date="2026-01-05", password="secret"))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        wbxml = z.read("xl/workbook.xml").decode()
        sheet = z.read("xl/worksheets/sheet2.xml").decode()
    assert re.search(r'<workbookProtection workbookPassword="[0-9A-F]{4}" lockStructure="1"/>', wbxml)
    assert re.search(r'<sheetProtection password="[0-9A-F]{4}"', sheet)


def test_print_setup_like_the_official_report(written: tuple[str, Model, Path]) -> None:
    _, model, path = written
    wb = openpyxl.load_workbook(path)
    for spec in model.sheets:
        ws = wb[spec.name]
        assert ws.page_setup.paperSize == 9
        assert ws.page_setup.orientation == spec.orientation
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0)
        assert "示例县城关镇人民政府" in ws.oddFooter.left.text and "&P" in ws.oddFooter.right.text
    for sheet in build_layout(model).sheets:
        if sheet.repeat_rows:
            first, last = sheet.repeat_rows
            assert wb[sheet.name].print_title_rows == f"${first + 1}:${last + 1}"
    assert any(sheet.repeat_rows for sheet in build_layout(model).sheets)


def test_instructions_sheet(written: tuple[str, Model, Path]) -> None:
    _, model, path = written
    ws = openpyxl.load_workbook(path)[model.instructions_sheet]
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    for needle in ("2026-01-31", "张三 0000-1234567", "无数据请填0", model.name, "1.0.0", "示例县城关镇人民政府"):
        assert needle in text


def test_checks_sheet_lists_every_rule_instance(written: tuple[str, Model, Path]) -> None:
    _, model, path = written
    layout = build_layout(model)
    ws = openpyxl.load_workbook(path)[model.checks_sheet]
    rule_col, item_col = CHECKS_COLUMNS.index("rule") + 1, CHECKS_COLUMNS.index("item") + 1
    rows = [
        (ws.cell(r + 1, rule_col).value, ws.cell(r + 1, item_col).value or None) for r in layout.check_rows.values()
    ]
    assert rows == [(rule.id, inst.item_label) for rule in model.rules for inst in rule.instances]
    for key, row in layout.check_rows.items():
        state = ws.cell(row + 1, CHECKS_STATE_COL + 1).value
        placed = layout.checks.get(key)
        if placed is not None:  # the state is taken from the table's check cell, not computed twice
            assert state == "=" + sheet_ref(placed.box.sheet, placed.box.row, placed.box.col), key
        else:
            assert state.startswith("=IF(") or state == '=""', key
    assert any(k in layout.checks for k in layout.check_rows) and any(k not in layout.checks for k in layout.check_rows)


def test_a_refused_xlsxwriter_call_raises() -> None:
    """xlsxwriter returns -2 for a string over 32,767 characters (and would truncate it): we stop instead."""
    long_text = "字" * 40_000
    with pytest.raises(OutputError) as err:
        write_template(model_for("2021"), TemplateOptions(issue_date="2026-01-05", values={"/overview": long_text}))
    where = f"{build_layout(model_for('2021')).fields['/overview'].box.where}"
    assert (err.value.code, err.value.details) == (
        "WRITE_REFUSED",
        {"call": "write_string", "return_code": -2, "where": where},
    )
    assert len(err.value.line()) < 200  # the refused text is not repeated
    ws = Checked(xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True}).add_worksheet("S"), "S")
    assert ws.write_number(0, 0, 1) == 0
    with pytest.raises(OutputError) as err:
        ws.write_number(1_048_576, 0, 1)  # one row past the sheet
    assert err.value.details == {"call": "write_number", "return_code": -1, "where": "S!A1048577"}


def test_same_inputs_byte_identical_and_templates_folder_is_current(tmp_path: Path) -> None:
    a, _ = write_template(model_for("2021"), OPTS)
    b, _ = write_template(model_for("2021"), OPTS)
    assert a == b
    c, _ = write_template(model_for("2021"), TemplateOptions(**{**OPTS.__dict__, "org_name": "另一个乡"}))
    assert c != a
    for year in ("2021", "2019"):
        out = tmp_path / f"{year}.xlsx"
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "xltool",
                "template",
                "--schema",
                f"annual-report-{year}",
                "-o",
                str(out),
                "--issue-date",
                "2026-01-01",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        assert out.read_bytes() == (ROOT / "templates" / f"annual-report-{year}.xlsx").read_bytes(), (
            "run `make templates`"
        )


def test_templates_from_a_warm_model_equal_templates_from_a_fresh_one() -> None:
    """Per-layout caches (formulas, validations, names, highlights) carry nothing of one organisation
    into the next: the same template written after others equals one written by a never-used model."""
    warm, fresh = model_for("2021"), build_model(load_source("annual-report-2021"))
    assert fresh is not warm
    filled = TemplateOptions(
        **{
            **OPTS.__dict__,
            "org_name": "甲乡",
            "password": "pw",
            "values": {f.pointer: 3 for f in warm.fields if f.numeric},
        }
    )
    other = TemplateOptions(**{**OPTS.__dict__, "org_name": "乙镇", "level": "county"})
    warm_bytes = [write_template(warm, o)[0] for o in (filled, other, filled)]
    assert warm_bytes[0] == warm_bytes[2] != warm_bytes[1]
    assert write_template(fresh, other)[0] == warm_bytes[1]


def test_every_field_kind_has_a_validation() -> None:
    assert set(BY_KIND) == set(KINDS)


def test_a1_references_have_one_home() -> None:
    for row, col in [(0, 0), (30, 3), (1_048_575, 16_383), (9, 26)]:
        assert parse_a1(a1(row, col)) == (row, col)
        assert sheet_ref("三、依申请公开", row, col) == f"'三、依申请公开'!${col_letter(col)}${row + 1}"
    assert [a1(30, 3), col_letter(26), sheet_ref("it's", 0, 0)] == ["D31", "AA", "'it''s'!$A$1"]
    assert [parse_a1(bad) for bad in ("", "A0", "ZZZZ1", "B5:C6", "表!B5")] == [None] * 5
