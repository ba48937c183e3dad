"""The private attributes of other libraries that `xltool.base.internals` relies on still work.

If an upgrade of openpyxl or Python moves one, this fails here, by name, instead of a collect run
failing somewhere later."""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from support import model_for
from xlsxwriter.url import Url

from xltool.base.internals import (
    compact_links_workbook,
    discard_workbook,
    existing_cells,
    parse_worksheet,
    prepared_formulas,
    worker_processes,
    worksheet_xml,
    xlsx_workbook,
)
from xltool.template.writer import TemplateOptions, write_template


def test_worksheet_xml_is_the_sheet_part_of_a_read_only_workbook() -> None:
    data, _ = write_template(model_for("2021"), TemplateOptions(issue_date="2026-01-05"))
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for i, name in enumerate(wb.sheetnames, start=1):
            assert worksheet_xml(wb, name) == z.read(f"xl/worksheets/sheet{i}.xml"), name
    wb.close()


def test_existing_cells_lists_only_cells_that_exist() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["C3"] = 1, "x"
    assert sorted(c.coordinate for c in existing_cells(ws)) == ["A1", "C3"]
    list(ws.iter_rows())  # creates the empty cells of the used range: they exist now
    assert len(existing_cells(ws)) == 9


def test_worker_processes_are_the_live_pool_processes() -> None:
    pool = ProcessPoolExecutor(max_workers=2)
    pids = set(pool.map(_pid, range(4)))
    procs = worker_processes(pool)
    assert pids <= {p.pid for p in procs} and all(p.is_alive() for p in procs)
    pool.shutdown(wait=True)
    assert worker_processes(pool) == []


def _pid(_: int) -> int:
    return os.getpid()


def _book(workbook: object, buffer: io.BytesIO) -> dict[str, bytes]:
    workbook.set_properties({"created": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)})  # type: ignore[attr-defined]
    ws = workbook.add_worksheet("S")  # type: ignore[attr-defined]
    ws.write_formula(0, 0, "=SUM(B1:B2)+LET(x,1,x)+_xlfn.CONCAT(1)*0", None, 0)
    ws.write_formula(1, 0, "=IFERROR(1/B1,0)", None, 0)
    ws.write_formula(2, 0, "=UNIQUE(B1:B2)", None, 0)  # dynamic array and array formulas, given to write_formula
    ws.write_formula(3, 0, "{=SUM(B1:B2*C1:C2)}", None, 0)
    with pytest.warns(UserWarning):
        assert ws.write_formula(4, 0, "", None, 0) == -1
    ws.conditional_format(0, 1, 1, 1, {"type": "formula", "criteria": "=ISERR(B1)", "format": None})
    fmt = workbook.add_format({"bold": True})  # type: ignore[attr-defined]
    ws.data_validation(0, 8, 3, 8, {"validate": "integer", "criteria": ">=", "value": 0, "input_title": "数<>&"})
    ws.data_validation(0, 9, 0, 9, {"validate": "list", "source": ["a", "b&c"], "error_message": "x"})
    ws.conditional_format(0, 8, 3, 8, {"type": "cell", "criteria": "==", "value": '"✗"', "format": fmt})
    ws.conditional_format(0, 10, 3, 10, {"type": "text", "criteria": "begins with", "value": "有 ", "format": fmt})
    ws.conditional_format(0, 9, 3, 9, {"type": "data_bar", "data_bar_2010": True})  # numbered per workbook
    # every kind of cell, with and without a format (`_write_cell`: formatted ones are written by xltool)
    for col, f in ((3, fmt), (4, None)):
        cells = [
            ("write_number", 0.1),
            ("write_number", 1e20),
            ("write_number", -3),
            ("write_string", 'a&<>"_x0041_\x01'),
            ("write_string", " 空格 "),
            ("write_blank", None),
            ("write_boolean", True),
            ("write_datetime", dt.datetime(2026, 1, 31)),
            ("write_url", "https://x.example/?a=1&b=2"),
        ]
        for row, (method, value) in enumerate(cells):
            getattr(ws, method)(row, col, value, f)
        results = (0, 2.5, "", "✓", "a<b&c", True, False, "#N/A", "#REF!", None)
        for row, shown in enumerate(results, start=len(cells)):
            ws.write_formula(row, col, '=IF(A1<B1,"<&>",A1)', f, shown)
        ws.write_array_formula(30, col, 31, col, "{=SUM(A1:A2*B1:B2)}", f, 3)
        ws.write_rich_string(32, col, "a", fmt, "b", *([f] if f else []))
    ws.set_row(40, None, fmt)
    ws.write_blank(40, 0, None)  # a row format
    ws.set_column(6, 6, None, fmt)
    ws.write_string(41, 6, "x")  # a column format
    # defined names: workbook-level twice (the second from memory), sheet-level, refused ones
    for name, ref in (("f.a", "=S!$A$1"), ("f.a", "=S!$A$1"), ("f.b", "=S!$A$1:$B$2"), ("S!local", "=S!$C$3")):
        assert workbook.define_name(name, ref) == 0  # type: ignore[attr-defined]
    with pytest.warns(UserWarning):
        assert workbook.define_name("A1", "=S!$A$1") == -1  # type: ignore[attr-defined]
    with pytest.warns(UserWarning):
        assert workbook.define_name("bad name", "=S!$A$1") == -1  # type: ignore[attr-defined]
    workbook.close()  # type: ignore[attr-defined]
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_xlsx_workbook_writes_the_same_parts_as_xlsxwriter_plus_the_structure_lock() -> None:
    plain, ours, unlocked = io.BytesIO(), io.BytesIO(), io.BytesIO()
    options = {"in_memory": True}
    expected = _book(xlsxwriter.Workbook(plain, options), plain)
    for _ in range(2):  # the second time, every formula comes from the remembered preparations
        got = _book(xlsx_workbook(ours, options, [("workbookPassword", "CC3D"), ("lockStructure", "1")]), ours)
        ours.seek(0), ours.truncate()
        assert prepared_formulas() > 0
        assert got["xl/worksheets/sheet1.xml"] == expected["xl/worksheets/sheet1.xml"]
        assert got["xl/sharedStrings.xml"] == expected["xl/sharedStrings.xml"]
        assert got["docProps/app.xml"] == expected["docProps/app.xml"]
        assert got["xl/workbook.xml"] == expected["xl/workbook.xml"].replace(
            b"<bookViews>", b'<workbookProtection workbookPassword="CC3D" lockStructure="1"/><bookViews>'
        )
    assert _book(xlsx_workbook(unlocked, options), unlocked) == expected


def test_parse_worksheet_raises_where_openpyxl_loading_fails() -> None:
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    parse_worksheet(f'<worksheet xmlns="{main}"><mergeCells><mergeCell ref="A1:B1"/></mergeCells></worksheet>'.encode())
    with pytest.raises(TypeError):  # what load_workbook reports for an element it does not know
        parse_worksheet(f'<worksheet xmlns="{main}"><mergeCells c="1"/></worksheet>'.encode())


def test_remembered_xml_follows_the_options() -> None:
    """Data validations, conditional formats and names that differ are never written from memory."""

    def sheet(workbook: Any, buffer: io.BytesIO, value: int) -> bytes:
        ws = workbook.add_worksheet("S")
        fmt = workbook.add_format({"bold": True})
        ws.data_validation(0, 0, 3, 0, {"validate": "integer", "criteria": ">=", "value": value})
        ws.conditional_format(0, 1, 3, 1, {"type": "cell", "criteria": "==", "value": value, "format": fmt})
        ws.conditional_format(0, 2, 3, 2, {"type": "formula", "criteria": f"=A1>{value}", "format": fmt})
        workbook.define_name("f.a", f"=S!$A${value + 1}")
        workbook.close()
        with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as z:
            return z.read("xl/worksheets/sheet1.xml") + z.read("xl/workbook.xml")

    for value in (0, 1, 0, 2):
        plain, ours = io.BytesIO(), io.BytesIO()
        assert sheet(xlsx_workbook(ours, {"in_memory": True}), ours, value) == sheet(
            xlsxwriter.Workbook(plain, {"in_memory": True}), plain, value
        )


def _links(workbook: Any, buffer: io.BytesIO) -> bytes:
    workbook.set_properties({"created": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)})
    for sheet in ("A", "B"):
        ws = workbook.add_worksheet(sheet)
        for i in range(400):
            assert ws.write_url(i, 0, f"external:dir/第{i}%23 x.xlsx", None, "看", f"dir/第{i}#.xlsx") == 0
            assert ws.write_url(i, 2, f"https://x.example/a b?q={i}&r=<>#frag{i}") == 0  # anchor, no text
            if i % 3 == 0:
                assert ws.write_url(i, 1, f"internal:'{sheet}'!A{i + 1}", None, f"到 {i}", None) == 0
            if i % 7 == 0:
                assert ws.write_url(i, 2, f"mailto:a{i}@x.example") == 0  # the same cell again: replaced
        with pytest.warns(UserWarning):
            assert ws.write_url(400, 0, "external:" + "x" * 2100) == -3  # refused, nothing kept
        assert ws.write_url(401, 0, Url("https://x.example/object"), None) == 0  # a Url object, kept as given
        if not workbook.constant_memory:
            ws.write_number(0, 0, 5)  # a number over a link: written with display="看"
    workbook.close()
    return buffer.getvalue()


@pytest.mark.parametrize("constant_memory", [True, False])
def test_compact_links_workbook_writes_the_same_bytes_as_xlsxwriter(constant_memory: bool) -> None:
    plain, ours = io.BytesIO(), io.BytesIO()
    options = {"constant_memory": constant_memory}
    expected = _links(xlsxwriter.Workbook(plain, options), plain)
    assert _links(compact_links_workbook(ours, options), ours) == expected
    with zipfile.ZipFile(io.BytesIO(expected)) as z:
        sheet, rels = z.read("xl/worksheets/sheet1.xml"), z.read("xl/worksheets/_rels/sheet1.xml.rels")
    assert sheet.count(b"<hyperlink ") == 400 + 400 + 134 + 1 and rels.count(b"<Relationship ") == 801
    assert ('display="看"'.encode() in sheet) is not constant_memory  # a number over an external link


def test_compact_links_worksheets_keep_the_arguments_not_url_objects() -> None:
    workbook = compact_links_workbook(io.BytesIO(), {"constant_memory": True})
    ws = workbook.add_worksheet("A")
    ws.write_url(0, 0, "external:a%23b.xlsx", None, "看", "a#b.xlsx")
    assert dict.__getitem__(ws.hyperlinks[0], 0) == ("external:a%23b.xlsx", "看", "a#b.xlsx")
    url = ws.hyperlinks[0][0]
    assert (type(url), url._target(), url.text, url.tip) == (Url, "a%23b.xlsx", "看", "a#b.xlsx")
    ws.write_url(1, 0, "external:b.xlsx")
    ws.write_url(3, 1, "external:c.xlsx")
    assert list(ws.hyperlinks) == [3]  # rows 0 and 1 are finished: in the temporary file
    workbook.close()


def test_a_discarded_workbook_closes_its_row_and_link_files() -> None:
    """A status workbook whose writing failed leaves no temporary file open (both are unlinked on close)."""
    workbook = compact_links_workbook(io.BytesIO(), {"constant_memory": True})
    ws = workbook.add_worksheet("A")
    for row in range(4):
        ws.write_url(row, 0, f"external:{row}.xlsx", None, f"{row}")
    spill, rows = ws.xltool_spill, ws.row_data_fh
    assert spill is not None and rows is not None and not spill.closed and not rows.closed
    discard_workbook(workbook)
    assert spill.closed and rows.closed


def test_compact_links_relationships_are_kept_in_a_temporary_file() -> None:
    """What the packager writes to a sheet's .rels part, one relationship per external link, is not listed in memory."""
    workbook = compact_links_workbook(io.BytesIO(), {"constant_memory": True})
    ws = workbook.add_worksheet("A")
    for row in range(3):
        ws.write_url(row, 0, f"external:第{row}%23.xlsx", None, "看")
    ws.write_url(3, 0, "internal:'A'!A1")  # no relationship
    ws.fh = io.StringIO()
    ws._write_hyperlinks()  # as the sheet is assembled
    rels = ws.external_hyper_links
    assert not isinstance(rels, list) and len(rels) == 3 and rels.file is not None
    expected = [["/hyperlink", f"第{row}%23.xlsx", "External"] for row in range(3)]
    assert list(rels) == expected and list(rels) == expected  # read back as often as asked
    assert rels + [["/drawing", "d.xml"]] == [*expected, ["/drawing", "d.xml"]]
    spill = rels.file
    discard_workbook(workbook)
    assert spill.closed
