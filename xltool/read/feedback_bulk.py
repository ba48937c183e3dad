"""The feedback guard's cell check in bulk: one regex over a worksheet's `<sheetData>`.

`feedback_guard` checks every row and cell as openpyxl would convert it; element by element that
is thousands of Python steps a file. Here the sheetData element, serialised by lxml (so quoting,
escaping and namespace prefixes are canonical, and comments or processing instructions show),
must match a grammar of the plain rows and cells every known writer produces, whose attribute
values are the guard's own patterns; a few `findall`s then bound the style indexes and check the
cached values by cell type. Passing is at least as strict as the element-by-element check (it may
doubt more: a formula's cached value, a text that looks like an attribute, an unusual spelling);
whatever it doubts is checked element by element, which decides.

Why unprefixed tags are SpreadsheetML: the serialised element is `{main}sheetData`, written without
a prefix, so the default namespace is `main`; the grammar allows no `xmlns="..."` on anything
inside it, so every unprefixed row, cell and child is `main` too.
"""

from __future__ import annotations

import re

_REF = rb"[A-Z]{1,3}[1-9][0-9]{0,6}"
_INT = rb"[0-9]{1,9}"
_ANY = rb'"[^"]*+"'  # any value: lxml writes `"` inside one as &quot;
_FLAG = rb'"(?:0|1|true|false)"'
_ROW_ATTR = (
    rb'(?: r="' + _INT + rb'"| s="' + _INT + rb'"| ht="[0-9]{1,4}(?:\.[0-9]{0,17})?"| outlineLevel="[0-7]"'
    rb'| spans="[0-9]{1,5}:[0-9]{1,5}(?: [0-9]{1,5}:[0-9]{1,5})*+"'
    rb"| (?:customFormat|customHeight|hidden|collapsed|thickTop|thickBot|ph)="
    + _FLAG
    + rb"| [\w.-]++:[\w.-]++="
    + _ANY
    + rb")"  # namespaced (e.g. x14ac:dyDescent): openpyxl ignores it
)
_CELL_ATTR = (
    rb'(?: r="' + _REF + rb'"| s="(?:' + _INT + rb')?"| t="(?:n|s|str|b|e|inlineStr)"| (?:cm|vm|ph)=' + _ANY + rb")"
)
_FORMULA_ATTR = rb'(?: t="(?!dataTable")[^"]*+"| (?:ref|si|aca|ca|bx|dt2D|dtr|del1|del2|r1|r2)=' + _ANY + rb")"
_F = rb"<f" + _FORMULA_ATTR + rb"*+(?:/>|>[^<]*+</f>)"
_V = rb"<v(?:/>|>[^<]*+</v>)"
_IS = rb"<is>[^<]*+<t(?: xml:space=" + _ANY + rb")?(?:/>|>[^<]*+</t>)[^<]*+</is>"
_BODY = rb"[^<]*+(?:(?:" + _F + rb"[^<]*+)?(?:" + _V + rb"[^<]*+)?|" + _IS + rb"[^<]*+)"
_CELL = rb"<c" + _CELL_ATTR + rb"*+(?:/>|>" + _BODY + rb"</c>)"
_ROW = rb"<row" + _ROW_ATTR + rb"*+(?:/>|>[^<]*+(?:" + _CELL + rb"[^<]*+)*+</row>)"
_SHEET_DATA = re.compile(
    rb"<sheetData(?: xmlns(?::[\w.-]+)?=" + _ANY + rb")*+(?:/>|>[^<]*+(?:" + _ROW + rb"[^<]*+)*+</sheetData>)"
)
# what the grammar lets through: every style index, and every cell's type and cached value
_STYLE = re.compile(rb' s="([0-9]{1,9})"')  # rows' too, and any text that looks like one: stricter
_VALUE = rb"[^<]*+(?:" + _F + rb"[^<]*+)?<v>([^<]++)</v>"  # formula results too: stricter
_TYPED_VALUES = re.compile(rb'<c(?: (?:r|s|cm|vm|ph)="[^"]*+"| t="([^"]*+)")*+>' + _VALUE)
_EVERY_NUMBER = re.compile(rb"(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?\0)*")
_EVERY_INT = re.compile(rb"(?:[0-9]{1,9}\0)*")


_DECLARATION = re.compile(rb"(?:\xef\xbb\xbf)?<\?xml[^>]*>")
_UTF8 = re.compile(rb"""encoding\s*=\s*["']utf-8["']""", re.I)


def as_written(part: bytes) -> bytes | None:
    """The worksheet's `<sheetData>` element as the file spells it, when that is certainly the
    element lxml parsed (else None, and the caller serialises it): UTF-8, so every `<`, `"` and
    tag name is the ASCII byte it looks like; "sheetData" only twice, as `<sheetData>` and
    `</sheetData>`, so no comment, text or prefixed twin is taken for it; and no comment, CDATA
    or processing instruction inside it."""
    declared = _DECLARATION.match(part)
    if declared is not None and b"encoding" in declared.group() and not _UTF8.search(declared.group()):
        return None
    start, end = part.find(b"<sheetData>"), part.find(b"</sheetData>")
    if start < 0 or end < start or part.count(b"sheetData") != 2:
        return None
    element = part[start : end + len(b"</sheetData>")]
    return None if b"<!" in element or b"<?" in element else element


def _every(pattern: re.Pattern[bytes], values: list[bytes]) -> bool:
    """`values` joined by NUL (no XML text holds one): one fullmatch checks them all."""
    return pattern.fullmatch(b"\0".join(values) + b"\0" if values else b"") is not None


def plain_cells(sheet_data: bytes, strings: int, xfs: int) -> bool:
    """Whether `<sheetData>` (serialised by lxml, or `as_written`) has only rows and cells the
    guard accepts."""
    if _SHEET_DATA.fullmatch(sheet_data) is None:
        return False
    typed = _TYPED_VALUES.findall(sheet_data)  # (type, value) of every cell with a value
    numbers = [v for t, v in typed if t in (b"", b"n")]
    shared = [v for t, v in typed if t == b"s"]
    return (
        max(map(int, _STYLE.findall(sheet_data)), default=-1) < xfs
        and max(map(len, numbers), default=0) <= 400
        and _every(_EVERY_NUMBER, numbers)
        and _every(_EVERY_INT, shared)
        and max(map(int, shared), default=-1) < strings
        and {b"0", b"1"}.issuperset(v for t, v in typed if t == b"b")
    )
