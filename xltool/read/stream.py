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
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .cells import EMPTY, RawCell, SourceError, _engine, _raise_limits
from .properties import custom_properties
from .scan import protected_sheets, scan_sheet_xml
from .stream_rows import MAIN, SheetReader, check_head, date_styles, item_text, parse_sheet, parse_xml

_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_WORKBOOK_TYPES = [
    f"application/vnd.ms-excel.{kind}.main+xml" for kind in ("template.macroEnabled", "sheet.macroEnabled")
] + [f"application/vnd.openxmlformats-officedocument.spreadsheetml.{kind}.main+xml" for kind in ("template", "sheet")]
_SHARED_STRINGS = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
FAST_BYTES = 2 * 1024 * 1024  # sheet XML kept as parsed trees for one read; the rest is parsed incrementally


class StreamSource:
    """xlsx / xlsm: the parts the reader needs, parsed once each with lxml."""

    formulas_known = True
    protection_known = True

    def __init__(
        self, data: bytes, parts: Mapping[str, bytes | None] | None = None, wanted: Collection[str] = ()
    ) -> None:
        # the safety gate's `Sniffed.parts`: every entry, inflated as zipfile reads it or None; with
        # them the zip is opened only if a part must be inflated here (the gate opened it already)
        self._data, self._parts, self._wanted = data, parts or {}, wanted
        self._archive: zipfile.ZipFile | None = None
        try:
            with _engine():
                self._names = set(self._parts) if self._parts else set(self._zip().namelist())
            self._open()
        except BaseException:
            self.close()
            raise

    def _zip(self) -> zipfile.ZipFile:
        if self._archive is None:
            self._archive = zipfile.ZipFile(io.BytesIO(self._data))
        return self._archive

    def _open(self) -> None:
        with _engine():
            overrides, defaults = _package_parts(self._read, self._names)
            part = next((overrides[t] for t in _WORKBOOK_TYPES if t in overrides), None)
            if part is None and not defaults.intersection(_WORKBOOK_TYPES):
                raise SourceError("File contains no valid workbook part")
            part = (part or "/xl/workbook.xml").lstrip("/")
            self._strings_part = overrides.get(_SHARED_STRINGS, "").lstrip("/")
            book = _workbook(self._read(part), part)
            rels = self._rels(part, required=True)
            self._paths: dict[str, str] = {}
            self._order: list[str] = []
            self._fast: dict[str, list[Any]] = {}  # sheet part -> its rows, parsed whole (`parse_sheet`)
            self._fast_budget = FAST_BYTES
            for rid, name in book.sheets:
                if not rid:
                    continue  # as openpyxl: an invalid sheet entry is left out,
                target = rels[rid]  # an unknown relationship makes the workbook unreadable,
                if target not in self._names:
                    continue  # and a sheet without its part is not in the workbook
                self._order.append(name)
                self._paths[name] = target
                self._check_head(target, name in self._wanted)
            self._names_map = dict(book.names)
            self._mac_epoch = book.mac_epoch
            self._strings: list[str] | None = None
            self._shared()
            self._styles: tuple[frozenset[int], frozenset[int]] | None = None
            self._date_styles()
            self._custom = _custom_properties(self._read, self._names)

        self._rows: dict[str, int] = {}
        self._cells: dict[str, dict[tuple[int, int], RawCell]] = {}
        self._protected: dict[str, bool] = {}
        self._values: dict[tuple[str, str, int], RawCell | None] = {}  # shared by the sheets' readers

    def _check_head(self, part: str, wanted: bool) -> None:
        """What openpyxl parses of every sheet when it opens a workbook (its rels, and the XML up to
        <dimension> or through <sheetData>), so a workbook it refuses is refused here too. A sheet
        the reader will read is parsed whole here instead, when it can be: a part lxml parses whole
        without an error passes the head check too, and the reader then finds its rows parsed."""
        self._rels(part)
        data = self._read(part)
        if not (wanted and self._rows_of(part, data) is not None):
            check_head(data)

    def _rows_of(self, part: str, data: bytes) -> list[Any] | None:
        """A sheet the reader needs, parsed whole (`parse_sheet`) while the budget lasts; None: the
        exact path parses it incrementally. Sheets the layout does not use are never parsed whole."""
        if part not in self._fast and len(data) <= self._fast_budget:
            rows = parse_sheet(data)
            if rows is not None:
                self._fast[part], self._fast_budget = rows, self._fast_budget - len(data)
        return self._fast.get(part)

    def _read(self, name: str) -> bytes:
        found = self._parts.get(name)
        return found if found is not None else self._zip().read(name)

    def _rels(self, part: str, required: bool = False) -> dict[str, str]:
        folder, path = _rels_path(part)
        if path not in self._names and not required:
            return {}
        data = self._read(path)
        return dict((_relationships_seen if len(data) <= 65536 else _relationships)(data, folder))

    @property
    def sheet_names(self) -> list[str]:
        return list(self._order)

    def prepare(self, rows: Mapping[str, int]) -> None:
        _raise_limits(self._rows, self._cells, rows)

    def _part(self, sheet: str) -> bytes:
        with _engine(sheet):
            return self._read(self._paths[sheet])

    def _shared(self) -> list[str]:
        if self._strings is None:
            strings: list[str] = []
            if self._strings_part:
                root = parse_xml(self._read(self._strings_part))
                strings = [item_text(si).replace("x005F_", "") for si in root.iterfind(MAIN + "si")]
            self._strings = strings
        return self._strings

    def _date_styles(self) -> tuple[frozenset[int], frozenset[int]]:
        if self._styles is None:
            self._styles = frozenset(), frozenset()
            if "xl/styles.xml" in self._names:
                self._styles = date_styles(self._read("xl/styles.xml"))
        return self._styles

    def _load(self, sheet: str) -> dict[tuple[int, int], RawCell]:
        if sheet in self._cells:
            return self._cells[sheet]
        part = self._part(sheet)
        with _engine(sheet):
            cached, self._protected[sheet] = scan_sheet_xml(part)
            reader = SheetReader(self._shared(), self._date_styles(), self._mac_epoch, cached, self._values)
            cells = reader.read(part, self._rows.get(sheet), self._rows_of(self._paths[sheet], part))
        self._cells[sheet] = cells
        return cells

    def get(self, sheet: str, row: int, col: int) -> RawCell:
        cells = self._cells.get(sheet)  # a read asks ~370 times: the loaded sheet without a call
        return (self._load(sheet) if cells is None else cells).get((row, col), EMPTY)

    def defined_names(self) -> dict[str, str]:
        return dict(self._names_map)

    def custom_properties(self) -> dict[str, str]:
        return dict(self._custom)

    def protected_sheets(self) -> set[str]:
        return protected_sheets(self._order, self._protected, self._part)

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()


@dataclass(frozen=True)
class _Workbook:
    """What the reader takes from the workbook part."""

    sheets: tuple[tuple[str | None, str], ...]  # (relationship id, name) of each <sheet>, in order
    names: tuple[tuple[str, str], ...]  # workbook-wide defined names -> their text, as openpyxl keeps them
    mac_epoch: bool  # dates counted from 1904


def _read_workbook_part(data: bytes, part: str) -> _Workbook:
    book = parse_xml(data)
    if {k for k in book.attrib if not k.startswith("{")} - {"conformance"}:
        raise SourceError(f"{part} is not a workbook part")  # openpyxl's object model refuses it
    sheets = tuple((s.get(_REL + "id"), s.get("name", "")) for s in book.iterfind(f"{MAIN}sheets/{MAIN}sheet"))
    names: dict[str, str] = {}
    for dn in book.iterfind(f"{MAIN}definedNames/{MAIN}definedName"):
        if dn.get("localSheetId") is None:
            names[dn.get("name", "")] = str(dn.text)  # openpyxl: str(None) for an empty name
    pr = book.find(MAIN + "workbookPr")
    return _Workbook(sheets, tuple(names.items()), pr is not None and pr.get("date1904", "").lower() in ("1", "true"))


# A pure function of the bytes (and the part's name, quoted in the error), and every template made
# from one schema carries the same workbook part (its ~200 defined names name cells, not organisations):
# remembered for parts of up to 64 KiB; one that raised is not remembered, and raises again.
_workbook_seen = lru_cache(maxsize=16)(_read_workbook_part)


def _workbook(data: bytes, part: str) -> _Workbook:
    return (_workbook_seen if len(data) <= 65536 else _read_workbook_part)(data, part)


@lru_cache(maxsize=256)
def _rels_path(part: str) -> tuple[str, str]:
    """A part's folder and the path of its relationships part."""
    folder, base = posixpath.split(part)
    return folder, posixpath.join(folder, "_rels", base + ".rels")


def _relationships(data: bytes, folder: str) -> tuple[tuple[str, str], ...]:
    """A relationships part's (Id, target part) pairs, targets resolved against `folder`."""
    out = []
    for rel in parse_xml(data).iterchildren(_PKG_REL + "Relationship"):
        target = rel.get("Target", "")
        full = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out.append((rel.get("Id", ""), full))
    return tuple(out)


# Pure functions of the bytes, and a writer writes the same package parts ([Content_Types].xml, the
# workbook's relationships) into every organisation's file: remembered for parts of up to 64 KiB;
# one that raised is not remembered, and raises again.
_relationships_seen = lru_cache(maxsize=64)(_relationships)


def _content_types(data: bytes) -> tuple[dict[str | None, str], frozenset[str | None]]:
    """[Content_Types].xml: content type -> part name of each override, and the default types."""
    types = parse_xml(data)
    overrides = {o.get("ContentType"): o.get("PartName", "") for o in types.iterchildren(_CT + "Override")}
    return overrides, frozenset(d.get("ContentType") for d in types.iterchildren(_CT + "Default"))


_content_types_seen = lru_cache(maxsize=64)(_content_types)


def _package_parts(
    read: Callable[[str], bytes], names: set[str]
) -> tuple[dict[str | None, str], frozenset[str | None]]:
    """[Content_Types].xml (`_content_types`), and docProps/core.xml checked as openpyxl's object
    model checks them on opening (the reader uses neither's content beyond the workbook part, but a
    workbook openpyxl refuses must be refused here too)."""
    from openpyxl.packaging.core import DocumentProperties

    data = read("[Content_Types].xml")
    small = len(data) <= 65536
    overrides, defaults = (_content_types_seen if small else _content_types)(data)
    (_manifest_checked if small else _manifest_check)(data)  # a hostile part is not kept
    if "docProps/core.xml" in names:
        DocumentProperties.from_tree(parse_xml(read("docProps/core.xml")))
    return dict(overrides), defaults


def _manifest_check(data: bytes) -> None:
    """openpyxl's check of [Content_Types].xml."""
    from openpyxl.packaging.manifest import Manifest

    Manifest.from_tree(parse_xml(data))


# A pure function of the bytes, so a part that passed once passes again (a writer writes the same
# part into every workbook); one that failed is never cached and fails again in the same way.
_manifest_checked = lru_cache(maxsize=64)(_manifest_check)


def _custom_properties(read: Callable[[str], bytes], names: set[str]) -> dict[str, str]:
    """Custom document properties (the template identity) as openpyxl reads them: name -> text."""
    return custom_properties(read("docProps/custom.xml")) if "docProps/custom.xml" in names else {}
