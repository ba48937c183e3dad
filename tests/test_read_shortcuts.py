"""This round's shortcuts on the read path give what the long ways give, and step aside when they must:
a sheet the reader will read is parsed whole on opening instead of head-checked (and head-checked as
before when that parse fails), a cell's or a string's children are found without ElementPath, and
package parts are remembered by their bytes (never when they fail)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import hostile_templates as T
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from read_equality import verdict

from xltool.base.errors import InputFileError
from xltool.read import reader, stream, stream_rows
from xltool.read.cells import SourceError
from xltool.read.stream import StreamSource
from xltool.read.stream_rows import MAIN, child, item_text, parse_xml
from xltool.read.value_plan import read_sheets
from xltool.spec.model import load_model

NS = MAIN[1:-1]
PIECES = ["<f>A1</f>", "<f/>", "<v>1</v>", "<v/>", "<is><t>x</t></is>", "<!--c-->", "<?p x?>", "<extLst/>"]
PIECES += [
    '<x:f xmlns:x="urn:other">B2</x:f>',
    "<t>a</t>",
    "<r><t>b</t></r>",
    "<r><rPr/><t>c</t></r>",
    "<rPh><t>y</t></rPh>",
]
PIECES += ["<r/>", "<r><!--c--><t>d</t></r>", "<t/>", "text"]


def _node(pieces: list[str]) -> Any:
    return etree.fromstring(f'<c xmlns="{NS}">{"".join(pieces)}</c>'.encode(), stream_rows._sheet_parser())


def _found(el: Any) -> Any:
    return None if el is None else (el.tag, el.getparent().index(el))


@settings(max_examples=400, derandomize=True, database=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12))
def test_child_is_lxmls_find(pieces: list[str]) -> None:
    node = _node(pieces)
    for tag in ("f", "v", "is", "t", "r"):
        assert _found(child(node, MAIN + tag)) == _found(node.find(MAIN + tag))
        assert stream_rows._text(node, MAIN + tag) == (node.findtext(MAIN + tag) or "")


def _item_text_before(node: Any) -> str:
    """item_text as it was: lxml's findtext and iterfind."""
    if len(node) == 1 and (t := node[0]).tag == MAIN + "t":
        return t.text or ""
    parts = [node.findtext(MAIN + "t") or ""]
    parts += [r.findtext(MAIN + "t") or "" for r in node.iterfind(MAIN + "r")]
    return "".join(parts)


@settings(max_examples=400, derandomize=True, database=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12))
def test_rich_string_items_read_as_before(pieces: list[str]) -> None:
    node = _node(pieces)
    assert item_text(node) == _item_text_before(node)


def test_the_libreoffice_strings_take_the_runs(tmp_path: Path) -> None:
    """LibreOffice writes rich strings (runs with their formatting): they read as openpyxl reads them."""
    import libreoffice

    if not libreoffice.soffice_available():
        pytest.skip("LibreOffice not installed")
    src = tmp_path / "filled.xlsx"
    src.write_bytes(T.filled())
    path = libreoffice.convert(src, tmp_path / "lo", "xlsx")
    with zipfile.ZipFile(path) as zf:
        root = parse_xml(zf.read("xl/sharedStrings.xml"))
    items = list(root.iterchildren(MAIN + "si"))
    assert any(si.find(MAIN + "r") is not None for si in items)
    assert [item_text(si) for si in items] == [_item_text_before(si) for si in items]
    assert verdict(reader.read_workbook(path)) == verdict(reader.read_workbook(path, reference=True))


def _opened(data: bytes, wanted: frozenset[str], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[bytes]]:
    """The workbook opened with `wanted`; the parts the head check was run on."""
    checked: list[bytes] = []
    original = stream.check_head
    monkeypatch.setattr(stream, "check_head", lambda part: (checked.append(part), original(part))[1])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts: dict[str, bytes | None] = {n: zf.read(n) for n in zf.namelist()}
    try:
        return StreamSource(data, parts, wanted), checked
    except SourceError as exc:
        return exc, checked


def _names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.namelist()


SHEET = "三、依申请公开"


def test_a_wanted_sheet_is_parsed_on_opening_not_head_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    data = T.filled()
    wanted = read_sheets(load_model(T.M21))
    assert SHEET in wanted and load_model(T.M21).meta_sheet in wanted
    source, checked = _opened(data, wanted, monkeypatch)
    assert isinstance(source, StreamSource)
    part = T.sheet_part(SHEET)
    assert part in source._fast
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.read(part) not in checked
        assert zf.read(T.sheet_part("校验")) in checked  # a sheet the reader does not read: its head only
    assert len(checked) == 2 and len(source._fast) == len(wanted) == 6  # 8 sheets, 6 read


@pytest.mark.parametrize(
    "change",
    [
        lambda x: x.replace("</sheetData>", "</sheetData><x>"),  # the whole parse fails after the rows
        lambda x: x.replace("<sheetViews>", "<sheetViews><x>"),  # ... and in the head
        lambda x: x.replace("<sheetData>", "<sheetData><!-- a comment -->").replace("<row ", "<row><row ", 1),
        lambda x: x.replace("</row>", '<row r="99"/></row>', 1),  # parsed whole, but a row inside a row
    ],
)
def test_a_wanted_sheet_whole_parse_fails_and_the_head_check_decides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Any
) -> None:
    data = T.patch(T.filled(), T.sheet_part(SHEET), change)
    part = T.sheet_part(SHEET)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        xml = zf.read(part)
    source, checked = _opened(data, read_sheets(load_model(T.M21)), monkeypatch)
    assert xml in checked  # the head check ran, as it does for every sheet without `wanted`
    assert not isinstance(source, StreamSource) or part not in source._fast
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(data)
    with_model, without = _attempt(path, load_model(T.M21)), _attempt(path, None)
    assert verdict(with_model) == verdict(without) == verdict(_attempt(path, None, reference=True))


def _attempt(path: Path, model: Any, reference: bool = False) -> Any:
    try:
        return reader.read_workbook(path, model=model, reference=reference)
    except InputFileError as exc:
        return exc


def test_remembered_package_parts_read_as_fresh_ones(tmp_path: Path) -> None:
    """Two organisations' files share their content types and relationships: the second read takes them
    from memory and gives what a fresh read gives; a part that fails fails again on every read."""
    other = T.filled(org=("示例县某某乡人民政府", "11330000MB0000000H"))
    for name in ("[Content_Types].xml", "xl/_rels/workbook.xml.rels"):
        with zipfile.ZipFile(io.BytesIO(T.filled())) as a, zipfile.ZipFile(io.BytesIO(other)) as b:
            assert a.read(name) == b.read(name)
    with zipfile.ZipFile(io.BytesIO(T.filled())) as zf:
        types, rels = zf.read("[Content_Types].xml"), zf.read("xl/_rels/workbook.xml.rels")
    assert stream._content_types_seen(types) == stream._content_types(types)
    assert stream._relationships_seen(rels, "xl") == stream._relationships(rels, "xl")
    assert len(stream._relationships(rels, "xl")) >= 10
    for name, change in (
        ("xl/_rels/workbook.xml.rels", lambda x: x.replace("</Relationships>", "<x></Relationships>")),
        ("[Content_Types].xml", lambda x: x.replace("</Types>", "<x></Types>")),
    ):
        path = tmp_path / "broken.xlsx"
        path.write_bytes(T.patch(T.filled(), name, change))
        for _ in range(2):
            with pytest.raises(InputFileError) as err:
                reader.read_workbook(path)
            assert err.value.code == "UNREADABLE_WORKBOOK"
