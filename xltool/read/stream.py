"""The fast xlsx engine: one lxml pass over each sheet the layout needs, nothing else.

openpyxl builds a whole workbook model (styles, every defined name as an object, sheet dimensions)
and, with defusedxml installed, parses with a pure-Python XML parser; the reader needs a few
hundred cells. This source unzips the parts it needs and parses them with lxml (C, no entity
resolution, no network, no huge trees: the safety gate has already refused DTDs and entities and
bounded every part's size). It gives the same `RawCell`s as `OpenpyxlSource`, the reference kept for
the equality test (tests/test_read_equality.py), including openpyxl's quirks that change a verdict:
dates from date-formatted numbers, shared formulas translated, rows that go backwards dropped.
Stored values Python would cast but no spreadsheet program writes ('1_000', Arabic-Indic digits, a
shared-string index of -1) become `ForgedValue`s, which coercion reports at their cell.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Mapping
from functools import cache, lru_cache
from typing import Any

from lxml import etree

from .cells import EMPTY, RawCell, SourceError, _engine, _raise_limits
from .scan import CellError, protected, scan_sheet_xml, stored_value, unescape_ooxml

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_WORKBOOK_TYPES = [
    f"application/vnd.ms-excel.{kind}.main+xml" for kind in ("template.macroEnabled", "sheet.macroEnabled")
] + [f"application/vnd.openxmlformats-officedocument.spreadsheetml.{kind}.main+xml" for kind in ("template", "sheet")]
_SHARED_STRINGS = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_ROW, _CELL, _V, _F, _IS, _T, _R = (_MAIN + t for t in ("row", "c", "v", "f", "is", "t", "r"))


@cache
def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)


def _xml(data: bytes) -> Any:
    return etree.fromstring(data, _parser())


def _text(node: Any) -> str:
    """A string item's text as openpyxl's Text.content: the plain <t> then each run's <t>; phonetic
    runs (<rPh>) are left out."""
    parts = [node.findtext(_T) or ""]
    parts += [r.findtext(_T) or "" for r in node.iterfind(_R)]
    return "".join(parts)


class StreamSource:
    """xlsx / xlsm: the parts the reader needs, parsed once each with lxml."""

    formulas_known = True
    protection_known = True

    def __init__(self, data: bytes) -> None:
        with _engine():
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            self._names = set(self._zip.namelist())
            types = _package_parts(self._zip, self._names)
            overrides = {o.get("ContentType"): o.get("PartName", "") for o in types.iterfind(_CT + "Override")}
            defaults = {d.get("ContentType") for d in types.iterfind(_CT + "Default")}
            part = next((overrides[t] for t in _WORKBOOK_TYPES if t in overrides), None)
            if part is None and not defaults.intersection(_WORKBOOK_TYPES):
                raise SourceError("File contains no valid workbook part")
            part = (part or "/xl/workbook.xml").lstrip("/")
            self._strings_part = overrides.get(_SHARED_STRINGS, "").lstrip("/")
            book = _xml(self._zip.read(part))
            rels = self._rels(part, required=True)
            self._paths: dict[str, str] = {}
            self._order: list[str] = []
            for sheet in book.iterfind(f"{_MAIN}sheets/{_MAIN}sheet"):
                rid = sheet.get(_REL + "id")
                if not rid:
                    continue  # as openpyxl: an invalid sheet entry is left out,
                target = rels[rid]  # an unknown relationship makes the workbook unreadable,
                if target not in self._names:
                    continue  # and a sheet without its part is not in the workbook
                name = sheet.get("name", "")
                self._order.append(name)
                self._paths[name] = target
                self._check_head(target)
            self._names_map: dict[str, str] = {}
            for dn in book.iterfind(f"{_MAIN}definedNames/{_MAIN}definedName"):
                if dn.get("localSheetId") is None:
                    self._names_map[dn.get("name", "")] = str(dn.text)  # openpyxl: str(None) for an empty name
            pr = book.find(_MAIN + "workbookPr")
            self._mac_epoch = pr is not None and pr.get("date1904", "").lower() in ("1", "true")
            self._strings: list[str] | None = None
            self._shared()
            self._styles: tuple[frozenset[int], frozenset[int]] | None = None
            self._date_styles()
            self._custom = _custom_properties(self._zip, self._names)

        self._rows: dict[str, int] = {}
        self._cells: dict[str, dict[tuple[int, int], RawCell]] = {}
        self._protected: dict[str, bool] = {}

    def _check_head(self, part: str) -> None:
        """What openpyxl parses of every sheet when it opens a workbook (its rels, and the XML up to
        <dimension> or through <sheetData>), so a workbook it refuses is refused here too."""
        self._rels(part)
        heads = etree.iterparse(
            io.BytesIO(self._zip.read(part)),
            events=("end",),
            tag=(_MAIN + "dimension", _MAIN + "sheetData"),
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
        )
        next(heads, None)

    def _rels(self, part: str, required: bool = False) -> dict[str, str]:
        folder, base = posixpath.split(part)
        path = posixpath.join(folder, "_rels", base + ".rels")
        if path not in self._names and not required:
            return {}
        out = {}
        for rel in _xml(self._zip.read(path)).iterfind(_PKG_REL + "Relationship"):
            target = rel.get("Target", "")
            full = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            out[rel.get("Id", "")] = full
        return out

    @property
    def sheet_names(self) -> list[str]:
        return list(self._order)

    def prepare(self, rows: Mapping[str, int]) -> None:
        _raise_limits(self._rows, self._cells, rows)

    def _part(self, sheet: str) -> bytes:
        with _engine(sheet):
            return self._zip.read(self._paths[sheet])

    def _shared(self) -> list[str]:
        if self._strings is None:
            strings: list[str] = []
            if self._strings_part:
                root = _xml(self._zip.read(self._strings_part))
                strings = [_text(si).replace("x005F_", "") for si in root.iterfind(_MAIN + "si")]
            self._strings = strings
        return self._strings

    def _date_styles(self) -> tuple[frozenset[int], frozenset[int]]:
        if self._styles is None:
            self._styles = frozenset(), frozenset()
            if "xl/styles.xml" in self._names:
                self._styles = _date_styles(self._zip.read("xl/styles.xml"))
        return self._styles

    def _load(self, sheet: str) -> dict[tuple[int, int], RawCell]:
        if sheet in self._cells:
            return self._cells[sheet]
        part = self._part(sheet)
        with _engine(sheet):
            cached, self._protected[sheet] = scan_sheet_xml(part)
            cells = _SheetReader(self, cached).read(part, self._rows.get(sheet))
        self._cells[sheet] = cells
        return cells

    def get(self, sheet: str, row: int, col: int) -> RawCell:
        return self._load(sheet).get((row, col), EMPTY)

    def defined_names(self) -> dict[str, str]:
        return dict(self._names_map)

    def custom_properties(self) -> dict[str, str]:
        return dict(self._custom)

    def protected_sheets(self) -> set[str]:
        out = set()
        for name in self._order:
            if name not in self._protected:
                self._protected[name] = protected(self._part(name))
            if self._protected[name]:
                out.add(name)
        return out

    def close(self) -> None:
        self._zip.close()


def _package_parts(archive: zipfile.ZipFile, names: set[str]) -> Any:
    """[Content_Types].xml, and docProps/core.xml checked as openpyxl's object model checks them on
    opening (the reader uses neither's content beyond the workbook part, but a workbook openpyxl
    refuses must be refused here too)."""
    from openpyxl.packaging.core import DocumentProperties
    from openpyxl.packaging.manifest import Manifest

    types = _xml(archive.read("[Content_Types].xml"))
    Manifest.from_tree(types)
    if "docProps/core.xml" in names:
        DocumentProperties.from_tree(_xml(archive.read("docProps/core.xml")))
    return types


def _custom_properties(archive: zipfile.ZipFile, names: set[str]) -> dict[str, str]:
    """Custom document properties (the template identity) as openpyxl reads them: name -> text."""
    if "docProps/custom.xml" not in names:
        return {}
    import warnings

    from openpyxl.packaging.custom import CustomPropertyList

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about, and skips, properties of unknown types
        props = CustomPropertyList.from_tree(_xml(archive.read("docProps/custom.xml")))
    out: dict[str, str] = {}
    for prop in props:
        value = getattr(prop, "value", None)
        out[str(prop.name)] = "" if value is None else str(value)
    return out


def _date_styles(data: bytes) -> tuple[frozenset[int], frozenset[int]]:
    """Indices of the cell formats that make openpyxl read a number as a date / a duration."""
    from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format

    root = _xml(data)
    custom = {n.get("numFmtId"): n.get("formatCode") for n in root.iterfind(f"{_MAIN}numFmts/{_MAIN}numFmt")}
    dates, durations = set(), set()
    for idx, xf in enumerate(root.iterfind(f"{_MAIN}cellXfs/{_MAIN}xf")):
        num = xf.get("numFmtId", "0")
        fmt = custom[num] if num in custom else builtin_format_code(int(num))
        if is_date_format(fmt):
            dates.add(idx)
        if is_timedelta_format(fmt):
            durations.add(idx)
    return frozenset(dates), frozenset(durations)


class _SheetReader:
    """One sheet's cells as openpyxl's read-only row iterator would give them."""

    def __init__(self, source: StreamSource, cached: dict[tuple[int, int], Any]) -> None:
        self.source = source
        self.cached = cached
        self.shared_formulae: dict[str | None, Any] = {}

    def read(self, part: bytes, limit: int | None) -> dict[tuple[int, int], RawCell]:
        """Rows in document order up to the last one the layout needs; like openpyxl's iterator it
        never parses past that row, so whatever follows (conditional formats, junk) costs nothing."""
        cells: dict[tuple[int, int], RawCell] = {}
        row_counter, counter = 0, 1
        rows = etree.iterparse(
            io.BytesIO(part), events=("end",), tag=_ROW, resolve_entities=False, no_network=True, huge_tree=False
        )
        for _event, row in rows:
            r_attr = row.get("r")
            row_counter = _row_number(r_attr) if r_attr is not None else row_counter + 1
            parsed = self._row(row, row_counter)
            row.clear(keep_tail=True)
            if limit is not None and row_counter > limit:
                break
            if counter > row_counter:
                continue  # a row number lower than one already read: openpyxl drops it
            counter = row_counter + 1
            if not parsed:
                continue
            max_col = parsed[-1][1]
            last = 0
            out: dict[int, tuple[int, RawCell | None]] = {}
            for r, c, raw in parsed:
                if 1 <= c <= max_col:
                    out[c] = (r, raw)
            for c in sorted(out):
                r, raw = out[c]
                last = r
                if raw is not None:
                    cells[(r - 1, c - 1)] = raw
            if limit is not None and last >= limit:
                break
        return cells

    def _row(self, row: Any, row_number: int) -> list[tuple[int, int, RawCell | None]]:
        out = []
        col_counter = 0
        for el in row:
            if el.tag != _CELL:
                continue
            ref = el.get("r")
            if ref:
                r, c = _coordinate(ref)
                col_counter = c
            else:
                col_counter += 1
                r, c = row_number, col_counter
            out.append((r, c, self._cell(el, ref, r, c)))
        return out

    def _cell(self, el: Any, ref: str | None, r: int, c: int) -> RawCell | None:
        kind = el.get("t", "n")
        style = el.get("s", 0)
        style_id = int(style) if style else 0
        f = el.find(_F)
        if f is not None:
            return RawCell(None, self._formula(f, ref), self.cached.get((r - 1, c - 1)))
        if kind == "inlineStr":
            child = el.find(_IS)
            return None if child is None else RawCell(unescape_ooxml(_text(child)))
        text = el.findtext(_V) or None
        if text is None:
            return None
        if kind in ("n", "s", "b"):
            value = stored_value(kind, text, self.source._shared() if kind == "s" else [])
            if kind == "n" and not isinstance(value, str):
                dates, durations = self.source._date_styles()
                if style_id in dates:
                    return RawCell(_excel_date(value, self.source._mac_epoch, style_id in durations))
            return RawCell(unescape_ooxml(value) if type(value) is str else value)
        if kind == "e":
            return RawCell(CellError(text))
        if kind == "d":
            from openpyxl.utils.datetime import from_ISO8601

            return RawCell(from_ISO8601(text))
        return RawCell(unescape_ooxml(text))  # "str" and anything else: text

    def _formula(self, f: Any, ref: str | None) -> str:
        value = "=" + (f.text or "")
        if f.get("t") == "shared":
            idx = f.get("si")
            if idx in self.shared_formulae:
                value = self.shared_formulae[idx].translate_formula(ref)
            elif value != "=":
                from openpyxl.formula.translate import Translator

                self.shared_formulae[idx] = Translator(value, ref)
        return value.removeprefix("=")


def _row_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        number = float(text)
        if not number.is_integer():
            raise SourceError(f"{text} is not a valid row number") from None
        return int(number)


@lru_cache(maxsize=1 << 16)
def _coordinate(ref: str) -> tuple[int, int]:
    """openpyxl's parse of a cell reference (its errors included); the same few hundred per file."""
    from openpyxl.utils.cell import coordinate_to_tuple

    return coordinate_to_tuple(ref)


def _excel_date(value: Any, mac: bool, duration: bool) -> Any:
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH, from_excel

    try:
        return from_excel(value, CALENDAR_MAC_1904 if mac else WINDOWS_EPOCH, timedelta=duration)
    except (OverflowError, ValueError):
        return CellError("#VALUE!")


__all__ = ["StreamSource", "SourceError"]
