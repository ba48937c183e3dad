"""The feedback guard's bulk cell check (`xltool.read.feedback_bulk`) against the element-by-element
check it stands in for: it never passes a sheet that check refuses (so `check_cells` refuses exactly
where it did, with the same message), and it passes every sheet of the plain files, so the fast
path is the one taken."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
import test_fuzz
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from test_feedback import issues
from test_feedback_patch import make_sources

from xltool.base.errors import InputFileError
from xltool.read.feedback import write_feedback
from xltool.read.feedback_bulk import as_written, plain_cells
from xltool.read.feedback_guard import _check_each, check_cells
from xltool.read.feedback_patch import patch
from xltool.read.feedback_styles import MAIN, Unhandled
from xltool.read.feedback_text import TEXT

STRINGS, XFS = 151, 32  # as many strings as own-2021 has, as many formats as the most of the corpus


@pytest.fixture(scope="module")
def sheets() -> dict[str, bytes]:
    """Every worksheet of the returned-file corpus (own files, client dialects, hostile formulas)."""
    out = {}
    for name, (data, _) in make_sources().items():
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for part in z.namelist():
                if part.startswith("xl/worksheets/sheet"):
                    out[f"{name}:{part}"] = z.read(part)
    return out


def _data(xml: bytes) -> etree._Element:
    return etree.fromstring(xml).find(f"{{{MAIN}}}sheetData")


def _verdicts(xml: bytes) -> tuple[str | None, str | None, bool]:
    """(element-by-element verdict, check_cells verdict, bulk pass) of one worksheet; check_cells
    gives the same verdict on the sheetData serialised and as the file spells it (`as_written`)."""
    root = etree.fromstring(xml)
    out: list[str | None] = []
    checks = (
        lambda: _check_each(_data(xml), STRINGS, XFS, "s"),
        lambda: check_cells(root, STRINGS, XFS, "s"),
        lambda: check_cells(root, STRINGS, XFS, "s", xml),
    )
    for check in checks:
        try:
            check()
            out.append(None)
        except Unhandled as why:
            out.append(str(why))
    assert out[1] == out[2]
    serialised = etree.tostring(_data(xml), encoding="UTF-8", with_tail=False)
    written = as_written(xml)
    bulk = plain_cells(serialised, STRINGS, XFS)
    assert out[0] is None or (written is None or not plain_cells(written, STRINGS, XFS))
    return out[0], out[1], bulk


def test_plain_sheets_pass_in_bulk(sheets: dict[str, bytes]) -> None:
    """Every sheet passes in bulk but a prefixed SpreadsheetML namespace (`<x:row>`, one client's
    spelling), which the grammar does not spell: those are checked element by element."""
    doubted = [name for name, xml in sheets.items() if not _verdicts(xml)[2]]
    assert (len(sheets), doubted) == (88, [f"prefixed_namespace:xl/worksheets/sheet{n}.xml" for n in range(1, 9)])


_EMPTY = r'<c (r="[A-Z]+[0-9]+" s="[0-9]+")/>'  # an empty formatted cell
_PLAIN_ROW = r'(<row r="[0-9]+" spans="[0-9:]+")>'  # a row of the default height
# (pattern, replacement) on a worksheet's XML, first match: what the guard must refuse
REFUSED = {
    "style index past the formats": (r'<c r="([A-Z]+[0-9]+)" s="[0-9]+"', r'<c r="\1" s="32"'),
    "style index not a number": (r'<c r="([A-Z]+[0-9]+)" s="[0-9]+"', r'<c r="\1" s="1.0"'),
    "lower-case reference": (r'<c r="([A-Z]+)([0-9]+)"', lambda m: f'<c r="{m[1].lower()}{m[2]}"'),
    "row 0 reference": (r'<c r="([A-Z]+)[0-9]+"', r'<c r="\g<1>0"'),
    "reference with 8 digits": (r'<c r="([A-Z]+)[0-9]+"', r'<c r="\g<1>12345678"'),
    "unknown cell type": (_EMPTY, r'<c \1 t="d"/>'),
    "empty cell type": (_EMPTY, r'<c \1 t=""/>'),
    "unknown cell attribute": (_EMPTY, r'<c \1 foo="1"/>'),
    "namespaced cell attribute": (_EMPTY, r'<c \1 xml:lang="zh"/>'),
    "unknown row attribute": (_PLAIN_ROW, r'\1 foo="1">'),
    "row height out of range": (_PLAIN_ROW, r'\1 ht="1e5">'),
    "row flag not a flag": (_PLAIN_ROW, r'\1 hidden="yes">'),
    "row outline level 8": (_PLAIN_ROW, r'\1 outlineLevel="8">'),
    "row number not a number": (r'<row r="[0-9]+"', '<row r="x"'),
    "spans with a dash": (r'spans="[^"]*"', 'spans="1-3"'),
    "comment in sheetData": (r"<sheetData>", "<sheetData><!-- x -->"),
    "processing instruction in a row": (r"(<row [^>]*>)", r"\1<?pi x?>"),
    "element in sheetData": (r"<sheetData>", "<sheetData><x/>"),
    "element in a cell": (r"</c>", "<extLst/></c>"),
    "data table formula": (r"</c>", '<f t="dataTable" ref="A1"/></c>'),
    "formula attribute": (r"</c>", '<f foo="1">1</f></c>'),
    "formula with a child": (r"</c>", "<f>1<x/></f></c>"),
    "two texts in an inline string": (r"</c>", "<is><t>a</t><t>b</t></is></c>"),
    "inline text in another namespace": (r"</c>", '<is><t xmlns="urn:x">a</t></is></c>'),
    "row in another namespace": (r"<sheetData>", '<sheetData><row xmlns="urn:x"/>'),
    "number NaN": (r'(<c r="[A-Z]+[0-9]+" s="[0-9]+">)<v>[^<]*</v>', r"\1<v>NaN</v>"),
    "number with 401 digits": (r'(<c r="[A-Z]+[0-9]+" s="[0-9]+">)<v>[^<]*</v>', r"\g<1><v>" + "1" * 401 + "</v>"),
    "number with a space": (r'(<c r="[A-Z]+[0-9]+" s="[0-9]+">)<v>[^<]*</v>', r"\1<v>1 </v>"),
    "shared string past the table": (r'(t="s">)<v>[0-9]+</v>', r"\1<v>151</v>"),
    "shared string index not a number": (r'(t="s">)<v>[0-9]+</v>', r"\1<v>+1</v>"),
    "bool 2": (r"<c ", '<c t="b" r="ZZ1"><v>2</v></c><c '),
    "new row with a bad style": (r"</sheetData>", '<row r="900"><c r="B900" s="32"><v>1</v></c></row></sheetData>'),
}
# what it must accept (the bulk check may doubt these; the element-by-element check decides)
ACCEPTED = {
    "digits as character references": (r'<c r="([A-Z]+[0-9]+)" s="[0-9]+"', r'<c r="\1" s="&#49;"'),
    "whitespace between rows and cells": (r"(</c>|</row>)", "\\1\n  "),
    "text in a row": (r"(<row [^>]*>)", r"\1junk"),
    "empty style": (r'<c r="([A-Z]+[0-9]+)" s="[0-9]+"', r'<c r="\1" s=""'),
    "formula cell with text cached as a number": (r"</c>", "<f>1</f><v>abc</v></c>"),
    "empty value": (r'(<c r="[A-Z]+[0-9]+" s="[0-9]+">)<v>[^<]*</v>', r"\1<v></v>"),
    "comment after a value": (r'(<c r="[A-Z]+[0-9]+" s="[0-9]+">)<v>([^<]*)</v>', r"\1<v>\2<!-- -1 --></v>"),
    "namespaced row attribute": (_PLAIN_ROW, r'\1 xml:lang="zh">'),
    "single-quoted attribute": (r'<c r="([A-Z]+[0-9]+)"', r"<c r='\1'"),
}


def _edited(xml: bytes, pattern: str, repl: object) -> bytes:
    text, n = re.subn(pattern, repl, xml.decode(), count=1)  # type: ignore[call-overload]
    assert n == 1, pattern
    return text.encode()


def test_bulk_refuses_where_the_exact_check_refuses(sheets: dict[str, bytes]) -> None:
    base = sheets["own-2021:xl/worksheets/sheet4.xml"]
    got = {name: _verdicts(_edited(base, *edit)) for name, edit in {**REFUSED, **ACCEPTED}.items()}
    assert {name: (exact is not None, bulk) for name, (exact, _, bulk) in got.items()} == {
        **{name: (True, False) for name in REFUSED},
        **{name: (False, got[name][2]) for name in ACCEPTED},
    }
    assert [name for name, (exact, checked, _) in got.items() if exact != checked] == []
    assert sum(bulk for *_, bulk in got.values()) >= 3  # some spellings pass in bulk too


SNIPPETS = [
    '<c r="A1" s="31"/>',
    '<c r="A1" s="32"/>',
    "<!--x-->",
    "<?pi?>",
    ' t="d"',
    ' s="x"',
    ' s="07"',
    "<v>NaN</v>",
    "<v>1e5</v>",
    "<v>-.5</v>",
    '<f t="dataTable"/>',
    '<f t="shared" si="0"/>',
    "<is><t>a</t></is>",
    "<is><t>a</t><t>b</t></is>",
    ' xmlns="urn:x"',
    ' foo="1"',
    "&#10;",
    ' r="A0"',
    ' r="ZZZ9"',
    "<row>",
    "</row>",
    "<c>",
    "</c>",
    "<v>",
    "</v>",
    ' t="s"',
    ' t="b"',
    ' t="n"',
    "<v>150</v>",
    "<v>151</v>",
    "<v>2</v>",
    ' ht="409.5"',
    ' spans="1:2 3:4"',
    ' customHeight="true"',
    ' outlineLevel="7"',
    ' cm="1"',
    "<extLst/>",
    ' xml:space="preserve"',
    "<!-- <sheetData> -->",
    "<![CDATA[<c/>]]>",
    '<c r="A1" t="s"><v>0</v></c>',
    '<row r="7"><c s="32"/></row>',
    '<c r="B2" s="1" />',
]


def test_the_sheet_data_as_written_only_where_it_is_certain(sheets: dict[str, bytes]) -> None:
    """The file's own spelling of sheetData is used only when it is certainly the parsed element."""
    assert [name for name, xml in sheets.items() if as_written(xml) is None] == [
        f"prefixed_namespace:xl/worksheets/sheet{n}.xml" for n in range(1, 9)
    ]
    xml = sheets["own-2021:xl/worksheets/sheet4.xml"]
    written = as_written(xml)
    assert written == xml[xml.index(b"<sheetData>") : xml.index(b"</sheetData>") + 12]
    declaration = xml[: xml.index(b"?>") + 2]
    doubtful = {
        "another encoding": xml.replace(declaration, b'<?xml version="1.0" encoding="GBK"?>'),
        "a comment naming it": xml.replace(b"<sheetData>", b"<!-- sheetData --><sheetData>"),
        "a comment inside": xml.replace(b"</sheetData>", b"<!-- x --></sheetData>"),
        "CDATA inside": xml.replace(b"</sheetData>", b"<row><c><is><t><![CDATA[x]]></t></is></c></row></sheetData>"),
        "a text naming it": xml.replace(b"<v>", b"<v>sheetData", 1),
        "empty": re.sub(rb"<sheetData>.*</sheetData>", b"<sheetData/>", xml, flags=re.S),
    }
    assert {name: as_written(changed) for name, changed in doubtful.items()} == dict.fromkeys(doubtful)
    assert as_written(xml.replace(declaration, b'<?xml version="1.0" encoding="utf-8"?>')) == written


@test_fuzz.fuzz(300)
@given(
    sheet=st.sampled_from(["own-2021:xl/worksheets/sheet4.xml", "inline_strings:xl/worksheets/sheet5.xml"]),
    cuts=st.lists(st.tuples(st.floats(0, 1), st.sampled_from(SNIPPETS)), min_size=1, max_size=4),
)
def test_bulk_never_passes_what_the_exact_check_refuses(sheets: dict[str, bytes], sheet: str, cuts: list) -> None:
    """Snippets spliced anywhere into sheetData: whatever still parses gets the same verdict both ways."""
    xml = sheets[sheet].decode()
    start, end = xml.index("<sheetData"), xml.index("</sheetData>")
    for where, snippet in cuts:
        at = start + int(where * (end - start))
        xml, end = xml[:at] + snippet + xml[at:], end + len(snippet)
    try:
        etree.fromstring(xml.encode())
    except etree.XMLSyntaxError:
        return
    exact, checked, bulk = _verdicts(xml.encode())
    assert exact == checked
    assert exact is None or not bulk


def test_a_bad_format_in_a_sheet_without_issue_cells_still_declines(tmp_path: Path) -> None:
    """The guard looks at every sheet, not only those it marks: openpyxl refuses a cell format past
    the table wherever it is, so the patch declines and the openpyxl path's refusal stands."""
    data, _ = make_sources()["own-2021"]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = [(n, z.read(n)) for n in z.namelist()]
    check = "xl/worksheets/sheet7.xml"  # 校验: no issue points there
    assert all(i.sheet != "校验" for i in issues())
    parts = [
        (n, _edited(c, r'<c r="([A-Z]+[0-9]+)" s="[0-9]+"', r'<c r="\1" s="4000"') if n == check else c)
        for n, c in parts
    ]
    bad = test_fuzz._zip(parts)
    with pytest.raises(Unhandled, match=r"校验: cell [A-Z]+[0-9]+ reference or format 4000"):
        patch(bad, issues(), TEXT["zh"], "zh", None)
    (tmp_path / "bad.xlsx").write_bytes(bad)
    with pytest.raises(InputFileError) as refused:
        write_feedback(tmp_path / "bad.xlsx", issues(), tmp_path / "out.xlsx")
    assert refused.value.code == "UNREADABLE_WORKBOOK"
