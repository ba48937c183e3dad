"""Hostile and damaged *templates*: real xltool templates (write_template) edited the way a user,
another program or an attacker would, plus values no spreadsheet program writes.

`CASES` maps a case name to (maker, `Expect`). A maker writes one file into a directory and
returns its path; `Expect` says how `xltool read` must end: refused (exit 2 and the
`InputFileError` code) or read (exit 0/1 and the issue codes that must be among the issues).
`tests/hostile_files.py` holds the file-level corpus (not a workbook, zip bombs, XML attacks).
Everything is built in memory from the samples; a case takes milliseconds (the 1 MB text ~0.2 s).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import random
import re
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import hostile_files as H
import openpyxl
from openpyxl.packaging.custom import CustomPropertyList

from xltool.check.evaluate import flatten
from xltool.spec.layout import build_layout
from xltool.spec.model import Model, load_model
from xltool.template.writer import TemplateOptions, write_template

ROOT = Path(__file__).resolve().parent.parent
M21, M19 = "annual-report-2021", "annual-report-2019"
ORG = ("示例县城关镇人民政府", "11330000MB0000000H")
INJECTION = "=cmd|' /C calc'!A0"
HYPERLINK = '=HYPERLINK("http://example.invalid/x","点我")'
Maker = Callable[[Path], Path]


@dataclass(frozen=True)
class Expect:
    exit: int  # 2: refused; 0 or 1: read (1: the data has errors)
    code: str | None = None  # the InputFileError code of a refused file
    issues: frozenset[str] = frozenset()  # issue codes that must be among those of a read file
    exact: bool = False  # `issues` is the whole set of codes
    args: tuple[str, ...] = ()  # extra arguments for `xltool read`


def refused(code: str, *args: str) -> Expect:
    return Expect(2, code, args=args)


def read(exit: int, *codes: str, exact: bool = False) -> Expect:
    return Expect(exit, None, frozenset(codes), exact)


# -- building blocks ----------------------------------------------------------------------------


def sample_values(schema: str = M21) -> dict[str, Any]:
    name = "synthetic-2021.json" if schema == M21 else "hucun-2020.json"
    model = load_model(schema)
    return flatten(model, json.loads((ROOT / "samples" / name).read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=64)
def _filled(schema: str, org: tuple[str, str], year: int) -> bytes:
    model = load_model(schema)
    values = {**sample_values(schema), "/organization/name": org[0], "/organization/code": org[1], "/year": year}
    opts = TemplateOptions(
        year=year, org_name=org[0], org_code=org[1], level="township", issue_date=f"{year + 1}-01-05", values=values
    )
    return write_template(model, opts)[0]


def filled(schema: str = M21, org: tuple[str, str] = ORG, year: int | None = None) -> bytes:
    """A correctly filled template (the sample report), issued to `org`."""
    return _filled(schema, org, year if year is not None else (2023 if schema == M21 else 2020))


def where(pointer: str, model: Model | None = None) -> tuple[str, str]:
    box = build_layout(model or load_model(M21)).fields[pointer].box
    return box.sheet, box.a1


def sheet_part(sheet: str, model: Model | None = None) -> str:
    """xlsxwriter writes sheet N of the layout as xl/worksheets/sheetN.xml."""
    return f"xl/worksheets/sheet{build_layout(model or load_model(M21)).sheet_names.index(sheet) + 1}.xml"


def patch(data: bytes, part: str, change: Callable[[str], str]) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        old = zf.read(part).decode("utf-8")
    new = change(old)
    assert new != old, f"nothing changed in {part}"
    return H.rezip(data, {part: new.encode("utf-8")})


def edit(data: bytes, change: Callable[[Any], None]) -> bytes:
    """Load with openpyxl, change, save (an openpyxl re-save: formulas lose their cached values)."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    change(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def set_cell(data: bytes, pointer: str, inner: str, t: str | None = None) -> bytes:
    """Replace the XML of the cell holding `pointer` (keeping its style) by `inner` and type `t`."""
    sheet, ref = where(pointer)

    def change(xml: str) -> str:
        m = re.search(rf'<c r="{ref}"([^>]*?)(/>|>.*?</c>)', xml, re.DOTALL)
        assert m, ref
        style = re.search(r'\ss="\d+"', m.group(1))
        kind = f' t="{t}"' if t else ""
        return xml[: m.start()] + f'<c r="{ref}"{style.group() if style else ""}{kind}>{inner}</c>' + xml[m.end() :]

    return patch(data, sheet_part(sheet), change)


def set_text(data: bytes, pointer: str, text: str) -> bytes:
    """An inline string (what LibreOffice and many generators write), XML-escaped."""
    return set_cell(data, pointer, f'<is><t xml:space="preserve">{escape(text)}</t></is>', "inlineStr")


def _write(directory: Path, name: str, data: bytes) -> Path:
    path = Path(directory) / name
    path.write_bytes(data)
    return path


def _case(name: str, build: Callable[[], bytes]) -> Maker:
    return lambda directory: _write(directory, f"{name}.xlsx", build())


# -- not our template ---------------------------------------------------------------------------


def _foreign() -> bytes:
    """A report typed into a fresh workbook by another program: right look, no xltool identity."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("三、依申请公开")
    ws.write_row(0, 0, ["项目", "自然人", "商业企业", "总计"])
    ws.write_row(1, 0, ["一、本年新收政府信息公开申请数量", 24, 5, 29])
    wb.close()
    return buf.getvalue()


def _identity_stripped() -> bytes:
    def strip(wb: Any) -> None:
        del wb["_xltool"]
        wb.custom_doc_props = CustomPropertyList()

    return edit(filled(), strip)


def _layout_changed() -> bytes:
    from xltool.spec.identity import KEYS

    return edit(
        filled(), lambda wb: wb["_xltool"].__setitem__(f"B{KEYS.index('layout_fingerprint') + 1}", "ffffffffffffffff")
    )


def _sheet_renamed() -> bytes:
    def rename(wb: Any) -> None:
        wb["三、依申请公开"].title = "依申请公开"

    return edit(filled(), rename)


# -- our template, edited -----------------------------------------------------------------------


def _labels_edited() -> bytes:
    def change(wb: Any) -> None:
        ws = wb["三、依申请公开"]
        ws.protection.sheet = False
        ws["A8"] = "一、本年收到申请数量"

    return edit(filled(), change)


def _extra_sheets() -> bytes:
    """Last round's feedback workbook (with its 问题清单 sheet) sent back, plus a scratch sheet in
    front: both tolerated without an issue."""
    import tempfile

    from xltool.check.issues import Issue
    from xltool.read.feedback import write_feedback

    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "src.xlsx", Path(d) / "fb.xlsx"
        src.write_bytes(filled())
        write_feedback(src, [Issue("W1", "warning", "旧的提示", "an old note", pointer="/overview")], out)
        data = out.read_bytes()

    def scratch(wb: Any) -> None:
        ws = wb.create_sheet("草稿", 0)
        ws["A1"], ws["B1"] = "自然人", 99

    return edit(data, scratch)


def insert_row_above_table(model: Model, sheet: str) -> Callable[[Any], None]:
    """An openpyxl edit inserting a row above a sheet's table as Excel does it: labels, values and
    input names all move down one row."""
    layout = build_layout(model)

    def insert(wb: Any) -> None:
        ws = wb[sheet]
        ws.protection.sheet = False
        for rng in list(ws.merged_cells.ranges):
            ws.unmerge_cells(str(rng))
        ws.move_range(f"A4:K{ws.max_row}", rows=1)
        for fc in layout.fields.values():
            if fc.box.sheet == sheet and not fc.derived:
                wb.defined_names[fc.defined_name].attr_text = f"'{sheet}'!${fc.box.a1[0]}${fc.box.row + 2}"

    return insert


def _rows_inserted() -> bytes:
    return edit(filled(), insert_row_above_table(load_model(M21), "三、依申请公开"))


def _far_corner() -> bytes:
    """Every sheet claims the dimension A1:XFD1048576 and has a value in the far corner."""
    data = filled()
    for sheet in build_layout(load_model(M21)).sheet_names:
        data = patch(
            data,
            sheet_part(sheet),
            lambda x: re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD1048576"/>', x).replace(
                "</sheetData>",
                '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>角落</t></is></c></row></sheetData>',
            ),
        )
    return data


def _junk_after_rows(junk: str) -> Callable[[], bytes]:
    """Hostile markup after the rows the layout needs (scanned, never parsed: linear scans only)."""
    return lambda: patch(
        filled(), sheet_part("一、总体情况"), lambda x: x.replace("</sheetData>", "</sheetData>" + junk)
    )


# -- values no spreadsheet program writes --------------------------------------------------------


def _cjk(n: int, seed: int) -> str:
    rnd = random.Random(seed)  # random, so the part does not compress like a bomb
    return "".join(chr(rnd.randrange(0x4E00, 0x9FA5)) for _ in range(n))


def _long_text() -> bytes:
    return set_text(filled(), "/overview", _cjk(1_000_000, 1))  # 1 M characters, 3 MB of XML


def _long_text_in_number() -> bytes:
    return set_text(filled(), "/proactive/licensing/decisions", _cjk(40_000, 2))


def _control_characters() -> bytes:
    """OOXML escapes for BEL and ESC in a text cell (raw control characters are not XML)."""
    return set_cell(
        filled(), "/overview", '<is><t xml:space="preserve">总体情况_x0007_正常_x001B_[31m</t></is>', "inlineStr"
    )


def _terminal_escape() -> bytes:
    """ESC sequences (clear screen, set the terminal title) in a number cell: quoted in the
    message, they must not reach a terminal raw."""
    return set_cell(
        filled(), "/proactive/licensing/decisions", "<is><t>12_x001B_[2J_x001B_]0;pwned_x0007_</t></is>", "inlineStr"
    )


def _raw_control_byte() -> bytes:
    return patch(filled(), "xl/sharedStrings.xml", lambda x: x.replace("<t>", "<t>\x01", 1))


def _formula_text() -> bytes:
    data = set_text(filled(), "/overview", INJECTION)
    data = set_text(data, "/proactive/licensing/decisions", INJECTION)
    return set_text(data, "/organization/name", HYPERLINK)


def _number(v: str) -> Callable[[], bytes]:
    return lambda: set_cell(filled(), "/proactive/licensing/decisions", f"<v>{v}</v>")


def _beyond_2_53() -> bytes:
    data = set_cell(filled(), "/proactive/licensing/decisions", "<v>9007199254740993</v>")
    return set_cell(data, "/proactive/fees/amount", "<v>1E+300</v>")


def _date_in_number() -> bytes:
    sheet, ref = where("/proactive/fees/amount")

    def change(wb: Any) -> None:
        wb[sheet][ref] = dt.datetime(2023, 3, 15)
        wb[sheet][ref].number_format = "yyyy-mm-dd"

    return edit(filled(), change)


def _huge_cached_total() -> bytes:
    sheet, ref = where("/applications/received/total")
    return patch(
        filled(),
        sheet_part(sheet),
        lambda x: re.sub(rf'(<c r="{ref}"[^>]*><f>[^<]*</f><v>)[^<]*(</v>)', r"\g<1>" + "9" * 5000 + r"\2", x),
    )


# -- parts a parser would spend seconds and hundreds of MB on ------------------------------------


def _many_sheets() -> bytes:
    """1,000 sheets in workbook.xml, all pointing at one part (openpyxl: ~4 s just to load)."""
    data, n = filled(), 1000
    sheets = "".join(f'<sheet name="S{i}" sheetId="{100 + i}" r:id="rIdX{i}"/>' for i in range(n))
    rels = "".join(
        f'<Relationship Id="rIdX{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        f'worksheet" Target="worksheets/sheet2.xml"/>'
        for i in range(n)
    )
    data = patch(data, "xl/workbook.xml", lambda x: x.replace("</sheets>", sheets + "</sheets>"))
    return patch(data, "xl/_rels/workbook.xml.rels", lambda x: x.replace("</Relationships>", rels + "</Relationships>"))


def _styles_bloat() -> bytes:
    rnd, n = random.Random(3), 30_000
    xfs = "".join(
        f'<xf numFmtId="{rnd.randrange(200)}" fontId="0" fillId="0" borderId="0" xfId="0"/>' for _ in range(n)
    )
    return patch(
        filled(), "xl/styles.xml", lambda x: re.sub(r'<cellXfs count="\d+">', f'<cellXfs count="{n}">' + xfs, x)
    )


def _strings_bloat() -> bytes:
    rnd = random.Random(4)
    items = "".join(f"<si><t>{rnd.getrandbits(40):x}</t></si>" for _ in range(60_000))
    return patch(filled(), "xl/sharedStrings.xml", lambda x: x.replace("</sst>", items + "</sst>"))


def _cells_bloat() -> bytes:
    """250,000 numbers in rows after the report: read stops early, a feedback load would not."""
    rnd = random.Random(5)
    rows = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>{rnd.randrange(10**6)}</v></c>' for c in "ABCDE") + "</row>"
        for r in range(100, 50_100)
    )
    return patch(filled(), sheet_part("五、六"), lambda x: x.replace("</sheetData>", rows + "</sheetData>"))


# -- legacy formats whose reader allocates every sheet densely -----------------------------------


def _ods_far_corner() -> bytes:
    """python-calamine would allocate 3,002 x 16,384 cells (~1.5 GB) to open this."""
    cell = '<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>'
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet>'
        f'<table:table table:name="S1"><table:table-row>{cell}</table:table-row>'
        '<table:table-row table:number-rows-repeated="3000"><table:table-cell/></table:table-row>'
        f'<table:table-row><table:table-cell table:number-columns-repeated="16383"/>{cell}</table:table-row>'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", "<manifest/>", zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _xls_far_corner() -> bytes:
    """A BIFF8 sheet with values at A1 and IV65536: calamine allocates 16.7 M cells (~2 GB)."""

    def rec(kind: int, body: bytes) -> bytes:
        return struct.pack("<HH", kind, len(body)) + body

    bof = lambda dt_: rec(0x0809, struct.pack("<HHHH", 0x0600, dt_, 0, 0) + bytes(8))  # noqa: E731
    eof = rec(0x000A, b"")
    sheet = (
        bof(0x0010)
        + rec(0x0203, struct.pack("<HHHd", 0, 0, 15, 1.0))
        + rec(0x0203, struct.pack("<HHHd", 65535, 255, 15, 2.0))
        + eof
    )
    boundsheet = lambda off: rec(0x0085, struct.pack("<IBBBB", off, 0, 0, 2, 0) + b"S1")  # noqa: E731
    glob = bof(0x0005) + boundsheet(0) + eof
    return H.cfb({"Workbook": bof(0x0005) + boundsheet(len(glob)) + eof + sheet})


CASES: dict[str, tuple[Maker, Expect]] = {
    # not our template, or not this collection's
    "foreign_workbook": (_case("foreign_workbook", _foreign), refused("NOT_XLTOOL_TEMPLATE")),
    "identity_stripped": (_case("identity_stripped", _identity_stripped), refused("NOT_XLTOOL_TEMPLATE")),
    "template_2019_for_2021": (_case("template_2019", lambda: filled(M19)), refused("WRONG_SCHEMA", "--schema", M21)),
    "layout_changed": (_case("layout_changed", _layout_changed), refused("WRONG_LAYOUT")),
    "sheet_renamed": (_case("sheet_renamed", _sheet_renamed), refused("TEMPLATE_DAMAGED")),
    # our template, edited: read, with what was changed said
    "protection_removed_labels_edited": (
        _case("labels_edited", _labels_edited),
        read(0, "PROTECTION_REMOVED", "LABEL_CHANGED", exact=True),
    ),
    "extra_sheets": (_case("extra_sheets", _extra_sheets), read(0, exact=True)),
    "rows_inserted": (_case("rows_inserted", _rows_inserted), read(1, "TEMPLATE_DAMAGED")),
    "far_corner": (_case("far_corner", _far_corner), read(0, exact=True)),
    "unclosed_cells": (_case("unclosed_cells", _junk_after_rows('<c r="A1">' * 90_000)), read(0, exact=True)),
    "unclosed_values": (
        _case("unclosed_values", _junk_after_rows('<c r="A1"><f>1</f>' + "<v>" * 90_000 + "</c>")),
        read(0, exact=True),
    ),
    "long_attribute": (
        _case("long_attribute", _junk_after_rows('<c r="A1" ' + "a" * 900_000 + "><f>1</f><v>1</v></c>")),
        read(0, exact=True),
    ),
    # values
    "long_text_1mb": (_case("long_text_1mb", _long_text), read(1, "TOO_LONG")),
    "long_text_in_number": (_case("long_text_in_number", _long_text_in_number), read(1, "TEXT_IN_NUMBER", exact=True)),
    "control_characters": (_case("control_characters", _control_characters), read(0, "CONTROL_CHARACTERS", exact=True)),
    "terminal_escape_in_number": (_case("terminal_escape", _terminal_escape), read(1, "TEXT_IN_NUMBER", exact=True)),
    "raw_control_byte": (_case("raw_control_byte", _raw_control_byte), refused("UNREADABLE_WORKBOOK")),
    "formula_text": (_case("formula_text", _formula_text), read(1, "TEXT_IN_NUMBER", "ORG_MISMATCH", exact=True)),
    "nan_in_number": (_case("nan_in_number", _number("NaN")), refused("UNREADABLE_WORKBOOK")),
    "inf_in_number": (_case("inf_in_number", _number("1E+309")), read(1, "NOT_FINITE", exact=True)),
    "huge_digits_in_number": (_case("huge_digits", _number("9" * 5000)), refused("UNREADABLE_WORKBOOK")),
    "beyond_2_53": (_case("beyond_2_53", _beyond_2_53), read(1, "OUT_OF_RANGE", exact=True)),
    "date_in_number": (_case("date_in_number", _date_in_number), read(1, "DATE_IN_NUMBER", exact=True)),
    "huge_cached_total": (_case("huge_cached_total", _huge_cached_total), read(0, exact=True)),
    # too big inside for the parsers (refused by the gate while inflating)
    "many_sheets": (_case("many_sheets", _many_sheets), refused("WORKBOOK_TOO_LARGE")),
    "styles_bloat": (_case("styles_bloat", _styles_bloat), refused("WORKBOOK_TOO_LARGE")),
    "shared_strings_bloat": (_case("strings_bloat", _strings_bloat), refused("WORKBOOK_TOO_LARGE")),
    "cells_bloat": (_case("cells_bloat", _cells_bloat), refused("WORKBOOK_TOO_LARGE")),
    "ods_far_corner": (lambda d: _write(d, "far_corner.ods", _ods_far_corner()), refused("WORKBOOK_TOO_LARGE")),
    "xls_far_corner": (lambda d: _write(d, "far_corner.xls", _xls_far_corner()), refused("WORKBOOK_TOO_LARGE")),
}

#: What `xltool read` says about the files of hostile_files.CORPUS that pass the gate.
READ_CODES = {
    "valid_openpyxl": "NOT_XLTOOL_TEMPLATE",
    "valid_xlsxwriter": "NOT_XLTOOL_TEMPLATE",
    "valid_xlsm": "NOT_XLTOOL_TEMPLATE",
    "valid_ods": "NOT_XLTOOL_TEMPLATE",
    "minimal_xls": "NOT_XLTOOL_TEMPLATE",
    "malformed_sheet_xml": "UNREADABLE_WORKBOOK",
}


def file_cases() -> dict[str, tuple[Maker, Expect]]:
    """hostile_files.CORPUS as `xltool read` cases: every one of them is refused."""
    return {name: (maker, refused(code or READ_CODES[name])) for name, (maker, code) in H.CORPUS.items()}


def all_cases() -> dict[str, tuple[Maker, Expect]]:
    return {**file_cases(), **CASES}


def build(directory: Path, cases: dict[str, tuple[Maker, Expect]] | None = None) -> dict[str, Path]:
    """Write every case into `directory` (one sub-folder each, so file names never collide)."""
    out = {}
    for name, (maker, _) in (cases or all_cases()).items():
        sub = Path(directory) / name
        sub.mkdir(parents=True, exist_ok=True)
        out[name] = maker(sub)
    return out
