"""One sheet's cells, from its XML, exactly as openpyxl's read-only row iterator gives them.

Used by `stream.StreamSource`. The rules are openpyxl's (tests/test_read_equality.py holds the two
engines to the same verdicts): rows come in document order and one numbered lower than a row
already read is dropped; in a row, a cell past the last cell's column is dropped and a repeated
column overwrites; numbers in a date format are dates; shared formulas are translated.

Two ways to the rows, same rows: the exact path parses the sheet incrementally and never past the
last row the layout needs (what decides where a damaged sheet fails). The fast path (`parse_sheet`)
parses a small sheet whole in one C call, and is taken only when that parse succeeds and the rows
are plain siblings: a well-formed document passes the incremental parse everywhere too, and its rows
then end in document order, as the incremental parse reports them. Anything else takes the exact path.
"""

from __future__ import annotations

import io
from functools import cache, lru_cache
from typing import Any

from lxml import etree

from .cells import RawCell, SourceError
from .scan import CellError, stored_value, unescape_ooxml

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _CELL, _V, _F, _IS, _T, _R = (MAIN + t for t in ("row", "c", "v", "f", "is", "t", "r"))
_PLAIN = frozenset(("n", "s", "b"))
_SAFE = {"resolve_entities": False, "no_network": True, "huge_tree": False}
FAST_SHEET_BYTES = 512 * 1024  # larger sheets take the exact path: no whole tree of a big sheet in memory


@cache
def _parser() -> etree.XMLParser:
    return etree.XMLParser(remove_comments=True, **_SAFE)


@cache
def _sheet_parser() -> etree.XMLParser:
    """iterparse's own settings (comments and processing instructions kept), so the tree is the one
    the incremental parse builds."""
    return etree.XMLParser(**_SAFE)


def parse_sheet(data: bytes) -> list[Any] | None:
    """The rows of a well-formed, small sheet whose rows are all children of one element, in
    document order; None when anything is unusual (the caller then takes the exact path)."""
    if len(data) > FAST_SHEET_BYTES:
        return None
    try:
        root = etree.fromstring(data, _sheet_parser())
    except Exception:  # damaged or hostile: the exact path finds out where, as it always did
        return None
    rows = list(root.iter(_ROW))
    parent = rows[0].getparent() if rows else None
    if any(row.getparent() is not parent for row in rows):
        return None  # a row inside a row ends before its parent: only the incremental order is right
    return rows


def check_head(data: bytes) -> None:
    """What openpyxl parses of every sheet when it opens a workbook: the XML up to the end of the
    first <dimension> or <sheetData>; raises where that parse fails. lxml hands over the events
    parsed before an error, so parsing the bytes up to the first '>' after "dimension" decides it
    when the event is there (a few hundred bytes, not the whole sheet); otherwise the whole part is
    parsed incrementally, as always."""
    tags = MAIN + "dimension", MAIN + "sheetData"
    at = data.find(b"dimension")
    end = data.find(b">", at) if at >= 0 else -1
    try:
        if end >= 0 and next(iter_ends(data[: end + 1], *tags), None) is not None:
            return
    except Exception:  # noqa: BLE001 - a cut or damaged head: the whole part decides, below
        pass
    next(iter_ends(data, *tags), None)


def parse_xml(data: bytes) -> Any:
    """A whole (small) part: the gate has refused DTDs and bounded sizes; no entities, no network."""
    return etree.fromstring(data, _parser())


def iter_ends(data: bytes, *tags: str) -> Any:
    """End events of `tags`, parsing only as far as the caller reads."""
    return etree.iterparse(io.BytesIO(data), events=("end",), tag=tags, **_SAFE)


def item_text(node: Any) -> str:
    """A string item's text as openpyxl's Text.content: the plain <t> then each run's <t>; phonetic
    runs (<rPh>) are left out."""
    if len(node) == 1 and (t := node[0]).tag == _T:  # the common item: one plain <t>
        return t.text or ""
    parts = [_text(node, _T)]
    runs = (r for r in node if r.tag == _R) if len(node) <= _FEW else node.iterchildren(_R)
    parts += [_text(r, _T) for r in runs]
    return "".join(parts)


_FEW = 8  # children walked in Python; more (only a hostile file has them) are filtered by lxml in C


def child(node: Any, tag: str) -> Any:
    """`node.find(tag)` for a plain tag: its first child element so named, or None. lxml's `find`
    compiles and runs an ElementPath in Python (~3 µs); a cell or a run has two or three children."""
    if len(node) > _FEW:
        return next(node.iterchildren(tag), None)
    for el in node:  # comments and processing instructions too: their tag is never a string
        if el.tag == tag:
            return el
    return None


def _text(node: Any, tag: str) -> str:
    """`node.findtext(tag) or ""`."""
    found = child(node, tag)
    return "" if found is None else found.text or ""


def date_styles(data: bytes) -> tuple[frozenset[int], frozenset[int]]:
    """Indices of the cell formats that make openpyxl read a number as a date / a duration. A pure
    function of the bytes, and one writer writes the same styles into every workbook: remembered
    for small parts (what raises is never remembered, and raises again)."""
    return _date_styles_seen(data) if len(data) <= 65536 else _date_styles(data)


def _date_styles(data: bytes) -> tuple[frozenset[int], frozenset[int]]:
    from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format

    root = parse_xml(data)
    custom = {n.get("numFmtId"): n.get("formatCode") for n in root.iterfind(f"{MAIN}numFmts/{MAIN}numFmt")}
    dates, durations = set(), set()
    for idx, xf in enumerate(root.iterfind(f"{MAIN}cellXfs/{MAIN}xf")):
        num = xf.get("numFmtId", "0")
        fmt = custom[num] if num in custom else builtin_format_code(int(num))
        if is_date_format(fmt):
            dates.add(idx)
        if is_timedelta_format(fmt):
            durations.add(idx)
    return frozenset(dates), frozenset(durations)


_date_styles_seen = lru_cache(maxsize=32)(_date_styles)


class SheetReader:
    """One sheet's cells as openpyxl's read-only row iterator would give them."""

    def __init__(
        self,
        shared: list[str],
        styles: tuple[frozenset[int], frozenset[int]],
        mac: bool,
        cached: dict[tuple[int, int], Any],
        values: dict[tuple[str, str, int], RawCell | None] | None = None,
    ) -> None:
        self.shared, (self.dates, self.durations), self.mac = shared, styles, mac
        self.cached = cached
        # (type, stored text, style) -> the cell: a pure function of the three within one workbook
        # (its shared strings, date styles and epoch), and most values recur (zeros, labels' strings)
        self.values = {} if values is None else values
        self.shared_formulae: dict[str | None, Any] = {}

    def read(self, part: bytes, limit: int | None, rows: list[Any] | None = None) -> dict[tuple[int, int], RawCell]:
        """Rows in document order up to the last one the layout needs; like openpyxl's iterator it
        never parses past that row, so whatever follows (conditional formats, junk) costs nothing.
        `rows`: the same rows from `parse_sheet`, when it took the sheet."""
        cells: dict[tuple[int, int], RawCell] = {}
        row_counter, counter = 0, 1
        incremental = rows is None
        for row in (row for _event, row in iter_ends(part, _ROW)) if rows is None else rows:
            r_attr = row.get("r")
            row_counter = _row_number(r_attr) if r_attr is not None else row_counter + 1
            parsed, rising = self._row(row, row_counter)
            if incremental:
                row.clear(keep_tail=True)
            if limit is not None and row_counter > limit:
                break
            if counter > row_counter:
                continue  # a row number lower than one already read: openpyxl drops it
            counter = row_counter + 1
            if not parsed:
                continue
            if rising:  # every column in 1..last, none repeated, in order: nothing to drop or sort
                for r, c, raw in parsed:
                    if raw is not None:
                        cells[(r - 1, c - 1)] = raw
                if limit is not None and parsed[-1][0] >= limit:
                    break
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

    def _row(self, row: Any, row_number: int) -> tuple[list[tuple[int, int, RawCell | None]], bool]:
        """The row's cells, and whether their columns rise strictly from 1 or more (as writers write them)."""
        out = []
        col_counter = previous = 0
        rising = True
        for el in row.iterchildren(_CELL):  # elements named <c> only, as `el.tag == _CELL` picks them
            ref = el.get("r")
            if ref:
                r, c = _coordinate(ref)
                col_counter = c
            else:
                col_counter += 1
                r, c = row_number, col_counter
            rising, previous = rising and c > previous, c
            out.append((r, c, self._cell(el, ref, r, c)))
        return out, rising

    def _cell(self, el: Any, ref: str | None, r: int, c: int) -> RawCell | None:
        style = el.get("s")
        style_id = int(style) if style else 0
        size = len(el)
        if not size:
            return None  # no <f>, <is> or <v>: nothing stored, whatever the type says
        kind = el.get("t", "n")
        if size == 1 and kind in _PLAIN and (v := el[0]).tag == _V:  # the common cell: one <v>
            return self._value(kind, v.text, style_id)
        f = child(el, _F)
        if f is not None:
            return RawCell(None, self._formula(f, ref), self.cached.get((r - 1, c - 1)))
        if kind == "inlineStr":
            inline = child(el, _IS)
            return None if inline is None else RawCell(unescape_ooxml(item_text(inline)))
        text = _text(el, _V) or None
        if text is None:
            return None
        if kind in _PLAIN:
            return self._value(kind, text, style_id)
        if kind == "e":
            return RawCell(CellError(text))
        if kind == "d":
            from openpyxl.utils.datetime import from_ISO8601

            return RawCell(from_ISO8601(text))
        return RawCell(unescape_ooxml(text))  # "str" and anything else: text

    def _value(self, kind: str, text: str | None, style_id: int) -> RawCell | None:
        """A number, shared-string or boolean cell's stored <v> text."""
        if not text:
            return None
        key = (kind, text, style_id)
        if key in self.values:
            return self.values[key]
        value = stored_value(kind, text, self.shared)  # what cannot be cast raises, and is not kept
        if kind == "n" and not isinstance(value, str) and style_id in self.dates:
            cell = RawCell(_excel_date(value, self.mac, style_id in self.durations))
        else:
            cell = RawCell(unescape_ooxml(value) if type(value) is str else value)
        self.values[key] = cell
        return cell

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
