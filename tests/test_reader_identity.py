"""Template identity and integrity: which files the reader refuses, and what it flags.

Each case is a real file: an xltool template changed the way a user or another program would
(openpyxl edits and re-saves, or the package XML edited directly) and read back.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hostile_files as H
import pytest
from hostile_templates import insert_row_above_table
from openpyxl import Workbook, load_workbook

from xltool.base.errors import InputFileError
from xltool.check.evaluate import flatten
from xltool.read.reader import ReadResult, read_workbook
from xltool.spec.identity import KEYS
from xltool.spec.layout import build_layout
from xltool.spec.model import Model, load_model
from xltool.template.writer import TemplateOptions, write_template

ROOT = Path(__file__).resolve().parents[1]
M21 = "annual-report-2021"
M19 = "annual-report-2019"


def sample(name: str) -> dict[str, Any]:
    file = "synthetic-2021.json" if name == M21 else "hucun-2020.json"
    report = json.loads((ROOT / "samples" / file).read_text(encoding="utf-8"))
    report.pop("_meta")
    return report


def template(name: str = M21, **opts: Any) -> bytes:
    model = load_model(name)
    report = sample(name)
    base = {
        "year": report["year"],
        "org_name": report["organization"]["name"],
        "org_code": report["organization"]["code"],
        "level": "township",
        "issue_date": "2026-01-05",
        "values": flatten(model, report),
    }
    return write_template(model, TemplateOptions(**{**base, **opts}))[0]


def edit(data: bytes, change: Callable[[Any], None]) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    change(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def patch_xml(data: bytes, part: str, change: Callable[[str], str]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == part:
                new = change(content.decode("utf-8"))
                assert new != content.decode("utf-8"), f"nothing changed in {part}"
                content = new.encode("utf-8")
            dst.writestr(info, content)
    return out.getvalue()


def read(tmp_path: Path, data: bytes, name: str = "filled.xlsx", **kw: Any) -> ReadResult:
    path = tmp_path / name
    path.write_bytes(data)
    return read_workbook(path, **kw)


def refused(tmp_path: Path, data: bytes, **kw: Any) -> InputFileError:
    with pytest.raises(InputFileError) as info:
        read(tmp_path, data, **kw)
    return info.value


def issues_of(result: ReadResult) -> list[tuple[str, str, str | None, str | None, str | None]]:
    return [(i.code, i.severity, i.sheet, i.cell, i.pointer) for i in result.issues]


def meta_cell(key: str) -> str:
    return f"B{KEYS.index(key) + 1}"


def where(model: Model, pointer: str) -> tuple[str, str]:
    box = build_layout(model).fields[pointer].box
    return box.sheet, box.a1


# -- refused files -------------------------------------------------------------------------


@pytest.mark.parametrize("model", [None, M21])
def test_plain_workbook_is_not_a_template(tmp_path: Path, model: str | None) -> None:
    wb = Workbook()
    wb.active["A1"] = "报告单位"
    wb.active["B1"] = "某乡"
    out = io.BytesIO()
    wb.save(out)
    err = refused(tmp_path, out.getvalue(), model=load_model(model) if model else None)
    assert err.code == "NOT_XLTOOL_TEMPLATE"
    assert err.message_zh.startswith("此文件不是由xltool生成的模板")
    assert err.path and err.path.endswith("filled.xlsx")


def test_not_a_workbook_stops_at_the_gate(tmp_path: Path) -> None:
    err = refused(tmp_path, "报告单位,某乡\n年度,2025\n".encode())
    assert err.code == "NOT_A_WORKBOOK"


def test_2019_template_read_for_a_2021_collection(tmp_path: Path) -> None:
    err = refused(tmp_path, template(M19), model=load_model(M21))
    assert err.code == "WRONG_SCHEMA"
    assert "此文件是2019版模板（annual-report-2019），本次收集使用2021版（annual-report-2021）" in err.message_zh
    assert "annual-report-2019" in err.message_en and "annual-report-2021" in err.message_en
    assert err.details == {"file_schema": M19, "expected_schema": M21}


def test_schema_digest_changed(tmp_path: Path) -> None:
    data = edit(template(), lambda wb: wb["_xltool"].__setitem__(meta_cell("schema_digest"), "0123456789abcdef"))
    err = refused(tmp_path, data, model=load_model(M21))
    assert err.code == "WRONG_SCHEMA" and "0123456789abcdef" in err.message_zh


def test_unknown_schema_name(tmp_path: Path) -> None:
    data = edit(template(), lambda wb: wb["_xltool"].__setitem__(meta_cell("schema_name"), "../../etc/passwd"))
    err = refused(tmp_path, data)
    assert err.code == "WRONG_SCHEMA" and "../../etc/passwd" in err.message_zh


def test_layout_fingerprint_changed(tmp_path: Path) -> None:
    data = edit(template(), lambda wb: wb["_xltool"].__setitem__(meta_cell("layout_fingerprint"), "ffffffffffffffff"))
    for model in (None, load_model(M21)):
        err = refused(tmp_path, data, model=model)
        assert err.code == "WRONG_LAYOUT"
        assert err.details == {
            "file_fingerprint": "ffffffffffffffff",
            "expected_fingerprint": build_layout(load_model(M21)).fingerprint,
        }


def test_renamed_sheet(tmp_path: Path) -> None:
    def rename(wb: Any) -> None:
        wb["三、依申请公开"].title = "依申请公开"

    err = refused(tmp_path, edit(template(), rename))
    assert err.code == "TEMPLATE_DAMAGED"
    assert "「三、依申请公开」" in err.message_zh and err.details == {"missing": ["三、依申请公开"]}


# -- identity found in one place only --------------------------------------------------------


def test_identity_from_properties_when_the_meta_sheet_is_gone(tmp_path: Path) -> None:
    def drop(wb: Any) -> None:
        del wb["_xltool"]

    result = read(tmp_path, edit(template(), drop))
    assert result.identity.org_name == "示例县城关镇人民政府" and result.model.name == M21
    assert issues_of(result) == []


def test_identity_from_the_meta_sheet_without_properties(tmp_path: Path) -> None:
    data = patch_xml(template(), "docProps/custom.xml", lambda x: re.sub(r"<property .*?</property>", "", x))
    result = read(tmp_path, data)
    assert result.identity.serial and result.identity.level == "township"
    assert issues_of(result) == []


# -- organisation, year, level -------------------------------------------------------------


def test_org_mismatch(tmp_path: Path) -> None:
    model = load_model(M21)
    sheet, cell = where(model, "/organization/name")
    data = edit(template(), lambda wb: wb[sheet].__setitem__(cell, "另一乡人民政府"))
    result = read(tmp_path, data, model=model)
    assert issues_of(result) == [("ORG_MISMATCH", "error", sheet, cell, "/organization/name")]
    assert result.issues[0].message_zh.startswith(
        "此模板发放给「示例县城关镇人民政府」，但填报单位为「另一乡人民政府」"
    )
    assert result.exit_code == 1


def test_org_name_spaces_are_not_a_mismatch(tmp_path: Path) -> None:
    model = load_model(M21)
    sheet, cell = where(model, "/organization/name")
    data = edit(template(), lambda wb: wb[sheet].__setitem__(cell, "\u3000示例县城关镇人民政府 "))
    result = read(tmp_path, data, model=model)
    assert issues_of(result) == []
    assert result.values["/organization/name"] == "\u3000示例县城关镇人民政府 "  # kept as typed


def test_org_code_mismatch(tmp_path: Path) -> None:
    model = load_model(M21)
    sheet, cell = where(model, "/organization/code")
    data = edit(template(), lambda wb: wb[sheet].__setitem__(cell, "91330000MB00000009"))
    assert issues_of(read(tmp_path, data, model=model)) == [
        ("ORG_MISMATCH", "error", sheet, cell, "/organization/code")
    ]


def test_year_mismatch(tmp_path: Path) -> None:
    model = load_model(M21)
    sheet, cell = where(model, "/year")
    data = edit(template(), lambda wb: wb[sheet].__setitem__(cell, 2024))
    result = read(tmp_path, data, model=model)
    assert issues_of(result) == [("YEAR_MISMATCH", "error", sheet, cell, "/year")]
    assert (result.issues[0].expected, result.issues[0].found) == ("2023", 2024)


def test_no_identity_checks_for_an_open_template(tmp_path: Path) -> None:
    """A template issued without organisation or year accepts any."""
    result = read(tmp_path, template(org_name="", org_code="", year=None))
    assert issues_of(result) == []


def test_level_from_the_template_or_the_caller(tmp_path: Path) -> None:
    """W3 (规章 for a township) applies through the template's level; `level=` overrides it."""
    model = load_model(M21)
    sheet, cell = where(model, "/proactive/regulations/issued")
    data = edit(template(), lambda wb: wb[sheet].__setitem__(cell, 1))
    codes = [(i.code, i.severity, i.cell) for i in read(tmp_path, data, model=model).issues]
    assert ("W3", "warning", cell) in codes
    assert "W3" not in [i.code for i in read(tmp_path, data, model=model, level="county").issues]


# -- template integrity ----------------------------------------------------------------------


def test_label_edited_after_removing_protection(tmp_path: Path) -> None:
    def change(wb: Any) -> None:
        ws = wb["三、依申请公开"]
        ws.protection.sheet = False
        ws["A8"] = "一、本年收到申请数量"

    result = read(tmp_path, edit(template(), change))
    assert issues_of(result) == [
        ("PROTECTION_REMOVED", "warning", "三、依申请公开", None, None),
        ("LABEL_CHANGED", "warning", "三、依申请公开", "A8", None),
    ]
    label = result.issues[1]
    assert (label.expected, label.found) == ("一、本年新收政府信息公开申请数量", "一、本年收到申请数量")
    assert "三、依申请公开!A8" in label.message_zh
    assert result.exit_code == 0


def test_cached_total_disagrees(tmp_path: Path) -> None:
    """The file says 30 where its items add up to 33: warned, and 33 is used."""
    model = load_model(M21)
    sheet, cell = where(model, "/applications/received/total")
    sheet_part = f"xl/worksheets/sheet{build_layout(model).sheet_names.index(sheet) + 1}.xml"
    data = patch_xml(
        template(), sheet_part, lambda x: re.sub(rf'(<c r="{cell}"[^>]*><f>[^<]*</f><v>)33(</v>)', r"\g<1>30\2", x)
    )
    result = read(tmp_path, data, model=model)
    assert issues_of(result) == [("CACHED_TOTAL_MISMATCH", "warning", sheet, cell, "/applications/received/total")]
    assert (result.issues[0].expected, result.issues[0].found) == (33, 30)
    assert result.report["applications"]["received"]["total"] == 33


def test_total_formula_replaced_by_a_number(tmp_path: Path) -> None:
    """A total typed over its formula is read as the file says it (20), warned about, and the
    rules then report the inconsistency at that cell (R2 for its row, R1 for its column)."""
    model = load_model(M21)
    sheet, cell = where(model, "/applications/received/total")
    data = edit(template(), lambda wb: wb[sheet].__setitem__(cell, 20))
    result = read(tmp_path, data, model=model)
    assert issues_of(result) == [
        ("FORMULA_CHANGED", "warning", sheet, cell, "/applications/received/total"),
        ("R1", "error", sheet, cell, "/applications/received/total"),
        ("R2", "error", sheet, cell, "/applications/received/total"),
    ]
    assert (result.issues[0].expected, result.issues[0].found) == (33, 20)
    assert result.values["/applications/received/total"] == 20
    assert result.exit_code == 1


def test_total_formula_deleted_is_recomputed(tmp_path: Path) -> None:
    model = load_model(M21)
    sheet, cell = where(model, "/applications/received/total")
    data = edit(template(), lambda wb: wb[sheet].__setitem__(cell, None))
    result = read(tmp_path, data, model=model)
    assert issues_of(result) == [("FORMULA_CHANGED", "warning", sheet, cell, "/applications/received/total")]
    assert result.values["/applications/received/total"] == 33
    assert result.exit_code == 0


def test_input_name_moved(tmp_path: Path) -> None:
    model = load_model(M21)
    sheet, cell = where(model, "/applications/received/natural_person")

    def move(wb: Any) -> None:
        wb.defined_names["f.applications.received.natural_person"].attr_text = f"'{sheet}'!$D$40"

    result = read(tmp_path, edit(template(), move), model=model)
    assert issues_of(result) == [("NAME_MOVED", "warning", sheet, cell, "/applications/received/natural_person")]
    assert (result.issues[0].expected, result.issues[0].found) == (f"{sheet}!{cell}", f"{sheet}!D40")
    assert (
        result.values["/applications/received/natural_person"]
        == sample(M21)["applications"]["received"]["natural_person"]
    )


def test_rows_inserted(tmp_path: Path) -> None:
    """A row inserted above the table (as Excel does: labels, values and names all move down)."""
    model = load_model(M21)
    sheet = "三、依申请公开"
    insert = insert_row_above_table(model, sheet)

    result = read(tmp_path, edit(template(), insert), model=model)
    on_sheet = [t for t in issues_of(result) if t[2] == sheet]
    assert on_sheet == [("TEMPLATE_DAMAGED", "error", sheet, "A4", None)]
    assert "A4 移到了 A5" in result.issues[[i.sheet for i in result.issues].index(sheet)].message_zh
    assert result.exit_code == 1


# -- damaged and hostile files -----------------------------------------------------------------


def test_damaged_sheet_xml(tmp_path: Path) -> None:
    """A data sheet cut mid-element passes the gate; the parser's failure becomes one clear error."""
    model = load_model(M21)
    part = f"xl/worksheets/sheet{build_layout(model).sheet_names.index('三、依申请公开') + 1}.xml"
    data = patch_xml(template(), part, lambda x: x[: x.index('<row r="9"')] + '<row r="9"><c r="A9"')
    err = refused(tmp_path, data, model=model)
    assert err.code == "UNREADABLE_WORKBOOK" and "另存为 .xlsx" in err.message_zh


@pytest.mark.parametrize("case", sorted(H.CORPUS))
def test_hostile_corpus(case: str, tmp_path: Path) -> None:
    """Every file of the hostile corpus ends in one InputFileError, never a crash."""
    maker, gate_code = H.CORPUS[case]
    path = maker(tmp_path)
    if path is None:
        pytest.skip("needs LibreOffice")
    with pytest.raises(InputFileError) as info:
        read_workbook(path)
    expected = {gate_code} if gate_code else {"NOT_XLTOOL_TEMPLATE", "UNREADABLE_WORKBOOK"}
    assert info.value.code in expected
