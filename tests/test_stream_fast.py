"""The opening fast paths give what the exact paths give: the gate's inflated parts are byte for byte
what zipfile reads (or are not handed on), and a sheet parsed whole gives the rows the incremental
parse gives (or is left to it)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hostile_files as H
import hostile_templates as T
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from read_equality import verdict

from xltool.base.errors import InputFileError
from xltool.read import properties, scan, stream_rows
from xltool.read.reader import read_workbook
from xltool.read.safety import sniff
from xltool.read.stream_rows import SheetReader, parse_sheet


def test_gate_parts_are_what_zipfile_reads(tmp_path: Path) -> None:
    path = tmp_path / "filled.xlsx"
    path.write_bytes(T.filled())
    parts = sniff(path).parts
    with zipfile.ZipFile(path) as zf:
        assert parts == {name: zf.read(name) for name in zf.namelist()}  # every entry is XML here


def test_an_entry_zipfile_refuses_is_not_handed_on(tmp_path: Path) -> None:
    """The local header names another file than the directory: the gate inflates it fine, zipfile
    refuses it, and so the read still fails where it always failed (in the reader, not the gate)."""
    data = T.filled()
    part = b"xl/worksheets/sheet2.xml"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        local = zf.getinfo(part.decode()).header_offset + 30  # the name in the local header
    assert data[local : local + len(part)] == part
    forged = data[:local] + part.upper() + data[local + len(part) :]
    path = tmp_path / "forged.xlsx"
    path.write_bytes(forged)
    sniffed = sniff(path)
    assert sniffed.parts[part.decode()] is None
    kept = {name for name, data in sniffed.parts.items() if data is not None}
    assert kept == set(zipfile.ZipFile(io.BytesIO(forged)).namelist()) - {part.decode()}
    with pytest.raises(InputFileError) as err:
        read_workbook(path)
    assert err.value.code == "UNREADABLE_WORKBOOK"


M = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{}</worksheet>'
SHARED = ["甲", "乙"]
SHEETS = {
    "plain": '<sheetData><row r="1"><c r="A1"><v>1</v></c><c r="B1" t="s"><v>1</v></c></row></sheetData>',
    "no refs": "<sheetData><row><c><v>1</v></c><c><v>2.5</v></c></row><row><c t='s'><v>0</v></c></row></sheetData>",
    "comment in a value": '<sheetData><row r="1"><c r="A1"><v>1<!-- x -->2</v></c></row></sheetData>',
    "rows backwards": '<sheetData><row r="3"><c r="A3"><v>3</v></c></row><row r="2"><c r="A2"><v>2</v></c></row></sheetData>',
    "columns repeated": '<sheetData><row r="1"><c r="B1"><v>1</v></c><c r="A1"><v>2</v></c><c r="B1"><v>3</v></c></row></sheetData>',
    "formula": '<sheetData><row r="1"><c r="A1"><f t="shared" si="0" ref="A1:A2">B1+1</f><v>2</v></c></row>'
    '<row r="2"><c r="A2"><f t="shared" si="0"/><v>3</v></c></row></sheetData>',
    "inline": '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x_x000D_y</t></is></c></row></sheetData>',
}
ODD = {
    "nested rows": '<sheetData><row r="1"><c r="A1"><v>1</v></c><row r="2"><c r="A2"><v>2</v></c></row></row></sheetData>',
    "rows in two places": '<sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData><row r="2"><c r="A2"><v>2</v></c></row>',
    "damage after the rows": '<sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData><x>',
}


def _both(xml: str, limit: int | None) -> tuple[object, object]:
    data = M.format(xml).encode()
    fast = SheetReader(SHARED, (frozenset(), frozenset()), False, {}).read(data, limit, parse_sheet(data))
    exact = SheetReader(SHARED, (frozenset(), frozenset()), False, {}).read(data, limit)
    return fast, exact


@pytest.mark.parametrize("name", sorted(SHEETS))
@pytest.mark.parametrize("limit", [None, 1, 2])
def test_a_sheet_parsed_whole_gives_the_incremental_rows(name: str, limit: int | None) -> None:
    assert parse_sheet(M.format(SHEETS[name]).encode()) is not None
    fast, exact = _both(SHEETS[name], limit)
    assert fast == exact


@pytest.mark.parametrize("name", sorted(ODD))
def test_an_unusual_sheet_takes_the_exact_path(name: str) -> None:
    assert parse_sheet(M.format(ODD[name]).encode()) is None


def test_a_large_sheet_takes_the_exact_path(monkeypatch: pytest.MonkeyPatch) -> None:
    data = M.format(SHEETS["plain"]).encode()
    monkeypatch.setattr(stream_rows, "FAST_SHEET_BYTES", len(data) - 1)
    assert parse_sheet(data) is None


def reference_scan(xml: bytes) -> tuple[dict[tuple[int, int], Any], bool]:
    """scan_sheet_xml as it was written first: the pattern tried everywhere, every attribute parsed."""
    cached = {}
    for m in scan._FORMULA_CELL.finditer(xml):
        attrs = scan._attrs(m.group(1))
        pos = scan.parse_ref(attrs.get("r", ""))
        if pos is not None:
            cached[pos] = scan._cached(attrs.get("t", "n"), m.group(2).decode("utf-8", "replace"))
    prot = scan._PROT_RE.search(xml)
    return cached, prot is not None and scan._attrs(prot.group(1)).get("sheet", "0").lower() in scan._TRUE


CELLS = [b'<c r="A1">', b"<x:c r='C3' t='e'>", b"<c>", b'<c r="a:f ">', b"<c r='>'>", b'<c r="B2" s="3" t="str">']
CELLS += [b'<c r="B2" t="b" s="1">', b'<c r="XFD1048576" t="inlineStr">', b'<c r="A0" s="1">', b'<c  r="D4">']
CELLS += [b'<c r="E5" s="2" t="str" x14ac:dyDescent="0.25" customAttribute="' + b"x" * 40 + b'">']  # not remembered
FORMULAS = [b"<f>A1+1</f>", b"<f/>", b"<x:f t='shared' si='1'/>", b"<f>SUM(A1)</x:f>", b"<f>x<y</f>", b"<:f/>"]
VALUES = [b"<v>1</v>", b"<x:v>2.5</x:v>", b"<v></v>", b"<v>&amp;</v>", b"<v>1", b"<v>#N/A</v>", b"<v>007</v>"]
GAPS = [b"", b" ", b"\r\n\t", b"x", b"<!---->", b"<", b">", b":f ", b"</c>", b"<sheetProtection sheet='1'/>"]
GAPS += [
    b"<x:sheetProtection sheet='true'>",
    b"<sheetProtection sheet='0'/>",
    b"sheetProtection ",
    b"<sheetProtectionX/>",
]


@settings(max_examples=500, derandomize=True, database=None)
@given(st.lists(st.tuples(*(st.sampled_from(t) for t in (GAPS, CELLS, GAPS, FORMULAS, GAPS, VALUES))), max_size=8))
def test_sheet_scan_is_the_reference_scan(cells: list[tuple[bytes, ...]]) -> None:
    xml = b"".join(b"".join(cell) for cell in cells)
    expected, protected = reference_scan(xml)
    found, found_protected = scan.scan_sheet_xml(xml)
    assert (repr(list(found.items())), found_protected) == (repr(list(expected.items())), protected)


def test_sheet_scan_of_real_sheets() -> None:
    for data in (T.filled(), T.filled(T.M19)):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            sheets = [zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/")]
        assert any(scan.scan_sheet_xml(xml)[0] for xml in sheets)
        for xml in sheets:
            found = scan.scan_sheet_xml(xml)
            assert (repr(list(found[0].items())), found[1]) == (
                repr(list(reference_scan(xml)[0].items())),
                reference_scan(xml)[1],
            )


PROLOG = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
ROOT = (
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
    'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
)
PROP = (
    '<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{}" name="{}"><vt:lpwstr>{}</vt:lpwstr></property>'
)
TEXT = st.text(alphabet="ab 示例县\"'\t\n\r&<>;]\x01\ufffe\u00a0_x", max_size=6)


@settings(max_examples=400, derandomize=True, database=None)
@given(
    st.lists(st.tuples(TEXT, TEXT), max_size=4),
    st.integers(0, 300),
    st.sampled_from(["", "\n", "&amp;", "<!---->", " "]),
)
def test_plain_custom_properties_are_openpyxls(props: list[tuple[str, str]], at: int, insert: str) -> None:
    """Where the direct reading answers, openpyxl gives the same properties (and does not refuse)."""
    text = PROLOG + ROOT + "".join(PROP.format(i + 2, n, v) for i, (n, v) in enumerate(props)) + "</Properties>"
    text = text[:at] + insert + text[at:]
    data = text.encode("utf-8", "surrogatepass")
    plain = properties.plain_properties(data)
    if plain is not None:
        assert list(plain.items()) == list(properties.openpyxl_properties(data).items())


def test_the_templates_properties_take_the_plain_reading() -> None:
    with zipfile.ZipFile(io.BytesIO(T.filled())) as zf:
        data = zf.read("docProps/custom.xml")
    plain = properties.plain_properties(data)
    assert plain is not None and plain["xltool.org_name"] and plain == properties.openpyxl_properties(data)


def _rows_edited(change: Callable[[list[str]], list[str]]) -> bytes:
    """A filled template whose every row's cells (of the sheet holding the most rows) are changed."""
    data = T.filled()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        part = max((n for n in zf.namelist() if n.startswith("xl/worksheets/")), key=lambda n: zf.getinfo(n).file_size)
        xml = zf.read(part).decode()

    def row(m: re.Match[str]) -> str:
        cells = re.findall(r"<c [^>]*/>|<c [^>]*>.*?</c>", m.group(2))
        return m.group(1) + "".join(change(cells)) + "</row>"

    return H.rezip(data, {part: re.sub(r"(<row [^>]*>)(.*?)</row>", row, xml).encode()})


@pytest.mark.parametrize(
    "change",
    [
        lambda cells: cells[::-1],  # columns backwards: the last cell's column bounds the row
        lambda cells: cells + cells[:1],  # the first column again at the end
        lambda cells: cells[1:] + cells[:1],
        lambda cells: [re.sub(r' r="[A-Z]+\d+"', "", c, count=1) for c in cells],  # no references
    ],
)
def test_cells_out_of_order_read_as_openpyxl_reads_them(
    tmp_path: Path, change: Callable[[list[str]], list[str]]
) -> None:
    path = tmp_path / "edited.xlsx"
    path.write_bytes(_rows_edited(change))
    fast, reference = _attempt(read_workbook, path), _attempt(lambda p: read_workbook(p, reference=True), path)
    assert verdict(fast) == verdict(reference)


def _attempt(fn: Callable[[Path], Any], path: Path) -> Any:
    try:
        return fn(path)
    except InputFileError as exc:
        return exc


@settings(max_examples=300, derandomize=True, database=None)
@given(st.from_regex(r"[A-Za-z]{0,4}[0-9]{0,9}\n?", fullmatch=True) | st.text(max_size=14))
def test_remembered_references_parse_as_before(ref: str) -> None:
    assert scan.parse_ref(ref) == scan._ref(ref)
    name = f"'示例'!${ref}"
    assert scan.parse_name_ref(name) == scan._name_ref(name)


def _head_outcome(check: Callable[[bytes], Any], data: bytes) -> str:
    try:
        check(data)
    except Exception as exc:  # noqa: BLE001 - the error's type is the outcome compared
        return type(exc).__name__
    return "ok"


def _whole_head(data: bytes) -> None:
    """The head check as it was: the whole part parsed incrementally up to the first event."""
    next(stream_rows.iter_ends(data, stream_rows.MAIN + "dimension", stream_rows.MAIN + "sheetData"), None)


def test_head_check_of_a_cut_or_damaged_sheet_is_the_whole_parse() -> None:
    """Cut anywhere, or with '<' / '&' / a second 'dimension' put anywhere in its first 700 bytes:
    the short head check fails exactly where the whole incremental parse fails."""
    with zipfile.ZipFile(io.BytesIO(T.filled())) as zf:
        xml = zf.read(T.sheet_part("五、六"))
    variants = [xml[:k] for k in range(0, 700)]
    variants += [xml[:k] + junk + xml[k:] for k in range(0, 700, 3) for junk in (b"<", b"&", b"<!--dimension>-->")]
    variants += [xml.replace(b"<dimension", b"<dimensionX", 1), re.sub(rb"<dimension [^>]*/>", b"", xml)]
    outcomes = {(_head_outcome(stream_rows.check_head, v), _head_outcome(_whole_head, v)) for v in variants}
    assert all(short == whole for short, whole in outcomes)
    assert {short for short, _ in outcomes} == {"ok", "XMLSyntaxError"}


@pytest.mark.parametrize(
    "change",
    [
        lambda x: x.replace("</sheetData>", "</sheetData><x>"),  # damage after the head of a sheet never read
        lambda x: x.replace("<sheetViews>", "<sheetViews><x>"),  # damage before <dimension>
        lambda x: re.sub("<dimension [^>]*/>", "", x).replace("</sheetData>", "</sheetData><x>"),
    ],
)
def test_a_damaged_sheet_the_layout_does_not_use_reads_as_openpyxl_reads_it(
    tmp_path: Path, change: Callable[[str], str]
) -> None:
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(T.patch(T.filled(), T.sheet_part("校验"), change))
    fast, reference = _attempt(read_workbook, path), _attempt(lambda p: read_workbook(p, reference=True), path)
    assert verdict(fast) == verdict(reference)


def test_a_remembered_workbook_part_reads_as_a_fresh_one(tmp_path: Path) -> None:
    """Two organisations' templates share their workbook part: the second read takes it from memory
    and gives what a fresh read gives; a part openpyxl refuses is refused again on every read."""
    from xltool.read import stream

    with zipfile.ZipFile(io.BytesIO(T.filled())) as zf:
        book = zf.read("xl/workbook.xml")
    with zipfile.ZipFile(io.BytesIO(T.filled(org=("示例县某某乡人民政府", "11330000MB0000000H")))) as zf:
        assert zf.read("xl/workbook.xml") == book
    fresh = stream._read_workbook_part(book, "xl/workbook.xml")
    assert stream._workbook(book, "xl/workbook.xml") == fresh
    assert stream._workbook(bytes(book), "xl/workbook.xml") == fresh
    assert len(fresh.names) > 150 and [name for _, name in fresh.sheets][-1] == "_xltool"
    path = tmp_path / "not-a-workbook.xlsx"
    path.write_bytes(T.patch(T.filled(), "xl/workbook.xml", lambda x: x.replace("<workbook ", '<workbook foo="1" ')))
    for _ in range(2):
        with pytest.raises(InputFileError) as err:
            read_workbook(path)
        assert err.value.code == "UNREADABLE_WORKBOOK" and "not a workbook part" in err.value.details["error"]
