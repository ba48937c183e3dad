"""Linear scans of untrusted workbook bytes, run before or beside the parsing libraries.

Everything here sees bytes no parser has checked yet, so every pattern is bounded: none can run
past the next '<' or '>', attribute names are only tried where a name starts, and the scans are
state machines or single bounded patterns (an unclosed tag cannot make them quadratic). Three jobs:

- `scan_sheet_xml`: the cached results of formula cells and the protection flag of one xlsx sheet
  (openpyxl cannot give both in one read-only pass);
- `ods_cells` / `xls_cells`: how many cells python-calamine will allocate for a workbook. It
  materialises every sheet as a dense rectangle when the file is opened: one value at IV65536 of
  an .xls costs 16.7 million cells (~1 GB), a repeated row in an .ods can cost billions. The safety
  gate asks first and refuses the file.
"""

from __future__ import annotations

import html
import math
import re
import struct
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any


class CellError(str):
    """A cached formula error such as '#VALUE!' (kept apart from text a user typed)."""


class ForgedValue(str):
    """A stored value Python would cast but no spreadsheet program writes: '1_000' or Arabic-Indic
    digits in a number cell, a shared-string index of -1. Kept as the raw text, reported at its cell."""

    @staticmethod
    def messages(quoted: str) -> tuple[str, str]:
        return (
            f"单元格的存储值「{quoted}」不是表格程序写出的有效内容（文件可能被其他工具改动），请在Excel中重新填写后保存",
            f"the stored value '{quoted}' is not valid spreadsheet content (the file may have been altered "
            "by another tool); retype it in Excel and save",
        )


_NS = rb"(?:\w{1,32}:)?"  # any namespace prefix, bounded
_FORMULA_CELL = re.compile(
    rb"<"
    + _NS
    + rb"c\s([^<>]*)>\s*<"
    + _NS
    + rb"f(?:\s[^<>]*)?(?:/>|>[^<]*</"
    + _NS
    + rb"f>)\s*<"
    + _NS
    + rb"v(?:\s[^<>]*)?>([^<]*)</"
    + _NS
    + rb"v>"
)
_F_NAME = re.compile(rb"[<:]f[\s/>]")  # an <f> or <x:f> tag's name
_PLAIN_CELL = re.compile(rb'r="([A-Z]{1,3}[0-9]{1,7})"(?: s="[0-9]{1,9}")?(?: t="([a-zA-Z]{1,9})")?')
_ATTR_RE = re.compile(rb"""(?<![\w:])([\w:]+)\s*=\s*["']([^"'<>]*)["']""")
_PROT_RE = re.compile(rb"<" + _NS + rb"sheetProtection(?=[\s/>])([^<>]*)>")
_REF_RE = re.compile(r"^([A-Z]{1,3})([1-9]\d{0,6})$")
_NAME_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Z]{1,3})\$?(\d{1,7})$")
_INT_RE = re.compile(r"^[+-]?\d{1,18}$")
_ESCAPE_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_TRUE = {"1", "true", "on"}
_CANONICAL = {
    "n": re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"),
    "s": re.compile(r"[0-9]{1,9}"),
    "b": re.compile(r"[01]"),
}
_VALUE_CELL = re.compile(rb"<" + _NS + rb"c\s([^<>]*)>\s*<" + _NS + rb"v(?:\s[^<>]*)?>([^<]*)</" + _NS + rb"v>")


def parse_ref(ref: str) -> tuple[int, int] | None:
    """'B4' -> (3, 1), 0-based; None for anything else (row numbers are at most 7 digits). Pure and
    remembered: no reference is longer than 11 characters ('XFD1048576' and the newline `$` allows)."""
    return _ref_seen(ref) if len(ref) <= 11 else None


def _ref(ref: str) -> tuple[int, int] | None:
    m = _REF_RE.match(ref)
    if not m:
        return None
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


_ref_seen = lru_cache(maxsize=1 << 14)(_ref)


def parse_name_ref(ref: str) -> tuple[str, int, int] | None:
    """A defined name's single-cell reference "'Sheet'!$B$4" -> ('Sheet', 3, 1); None otherwise.
    Pure, and a template's ~200 names recur in every file made from it: short ones are remembered."""
    return _name_ref_seen(ref) if len(ref) <= 300 else _name_ref(ref)


def _name_ref(ref: str) -> tuple[str, int, int] | None:
    m = _NAME_REF.match(ref.strip().lstrip("="))
    pos = parse_ref(m.group(3) + m.group(4)) if m else None
    if m is None or pos is None:
        return None
    return (m.group(1) or "").replace("''", "'") or m.group(2), pos[0], pos[1]


_name_ref_seen = lru_cache(maxsize=1 << 12)(_name_ref)


def unescape_ooxml(text: str) -> str:
    """Decode OOXML's _xHHHH_ escapes (control characters; '_x005F_' is a literal '_').

    openpyxl leaves them in shared strings, so a line feed pasted from Windows would read as
    '_x000D_'. One left-to-right pass, so an escaped escape decodes to the literal text.
    """
    return _ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def _attrs(blob: bytes) -> dict[str, str]:
    return {k.decode().split(":")[-1]: v.decode("utf-8", "replace") for k, v in _ATTR_RE.findall(blob)}


def _cached(kind: str, text: str) -> Any:
    text = html.unescape(text)
    if kind in ("str", "inlineStr", "s"):
        return unescape_ooxml(text)
    if kind == "b":
        return text.strip() in ("1", "true")
    if kind == "e":
        return CellError(text)
    text = text.strip()
    if _INT_RE.match(text):
        return int(text)
    try:  # NaN, inf or a 5,000-digit number: kept as the text, which no check takes for a total
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def scan_sheet_xml(xml: bytes) -> tuple[dict[tuple[int, int], Any], bool]:
    """Cached results of formula cells ((row, col) -> value) and whether the sheet is protected.

    A formula cell is <c ...><f ...>...</f><v>...</v></c> (CT_Cell's order, optional whitespace
    between): one pattern whose every part stops at the next '<', so linear."""
    cached: dict[tuple[int, int], Any] = {}
    for m in _formula_cells(xml):
        attrs = m.group(1)
        pos, kind = _cell_attrs_seen(attrs) if len(attrs) <= 64 else _cell_attrs(attrs)
        if pos is not None:
            cached[pos] = _cached(kind, m.group(2).decode("utf-8", "replace"))
    return cached, protected(xml)


def _cell_attrs(attrs: bytes) -> tuple[tuple[int, int] | None, str]:
    """A formula cell's position (None if its reference is not one) and type, from its attributes."""
    plain = _PLAIN_CELL.fullmatch(attrs)
    if plain:  # r="B4" s="3" t="str": what _attrs gives, without the general pattern
        ref, kind = plain.group(1).decode(), (plain.group(2) or b"n").decode()
    else:
        found = _attrs(attrs)
        ref, kind = found.get("r", ""), found.get("t", "n")
    return parse_ref(ref), kind


# Pure, and a template's formula cells (totals, checks) carry the same attributes in every file made
# from it: short ones are remembered.
_cell_attrs_seen = lru_cache(maxsize=1 << 12)(_cell_attrs)


def _formula_cells(xml: bytes) -> Iterator[re.Match[bytes]]:
    """`_FORMULA_CELL.finditer(xml)`, with the pattern tried only where a match can start instead of
    at every '<' (most of a sheet is not formulas). Each match holds an <f> tag and starts where
    `_before_tag` says from it; matches never overlap (a match holds one '<c', none of its other tags
    starts a cell), so trying each such start in order finds what finditer finds, in its order."""
    starts = set()
    for needle in (b"<f", b":f"):  # found by bytes.find, in C
        at = xml.find(needle)
        while at >= 0:
            if _F_NAME.match(xml, at):
                starts.add(_before_tag(xml, at))
            at = xml.find(needle, at + 1)
    for start in sorted(starts):
        m = _FORMULA_CELL.match(xml, start)
        if m is not None:
            yield m


def _before_tag(xml: bytes, at: int) -> int:
    """Where a `_FORMULA_CELL` match holding the <f> tag whose name is at `at` (its '<' or its
    prefix's ':') starts: a match is '<c ...>', blanks, '<f', so at the last '<' before the last '>'
    before that tag (no '<' in a cell's attributes)."""
    tag = at if xml[at] == 0x3C else xml.rfind(b"<", 0, at)
    gt = xml.rfind(b">", 0, max(tag, 0))
    return max(0, xml.rfind(b"<", 0, max(gt, 0)))


def cast_number(text: str) -> int | float:
    """openpyxl's cast of a number cell's stored text."""
    return float(text) if "." in text or "E" in text or "e" in text else int(text)


def stored_value(kind: str, text: str, shared: list[str]) -> Any:
    """The value of a number ('n'), shared-string ('s') or boolean ('b') cell's <v> text, as openpyxl
    reads it, except that a text Python casts but no writer produces becomes a `ForgedValue`.
    What openpyxl cannot cast at all raises (the workbook is unreadable, as with openpyxl)."""
    canonical = _CANONICAL[kind].fullmatch(text) is not None
    if kind == "n":
        number = cast_number(text)
        return number if canonical else ForgedValue(text)
    if kind == "s":
        string = shared[int(text)]
        return string if canonical else ForgedValue(text)
    flag = bool(int(text))
    return flag if canonical else ForgedValue(text)


def forged_cells(xml: bytes) -> dict[tuple[int, int], ForgedValue]:
    """Value cells (no formula) of one sheet whose stored text is forged, by (row, col): what the
    openpyxl reference path overlays on the values openpyxl cast silently."""
    out: dict[tuple[int, int], ForgedValue] = {}
    for m in _VALUE_CELL.finditer(xml):
        attrs = _attrs(m.group(1))
        kind, pos = attrs.get("t", "n"), parse_ref(attrs.get("r", ""))
        text = html.unescape(m.group(2).decode("utf-8", "replace"))
        if kind in _CANONICAL and pos is not None and text and _CANONICAL[kind].fullmatch(text) is None:
            out[pos] = ForgedValue(text)
    return out


def protected(xml: bytes) -> bool:
    """Excel writes sheet="1", LibreOffice sheet="true"; no element or sheet="0" means unprotected."""
    name = xml.find(b"sheetProtection")  # a match holds the name, at most 34 bytes after its start
    prot = _PROT_RE.search(xml, max(0, name - 34)) if name >= 0 else None
    return prot is not None and _attrs(prot.group(1)).get("sheet", "0").lower() in _TRUE


def protected_sheets(names: Iterable[str], known: dict[str, bool], part: Callable[[str], bytes]) -> set[str]:
    """The protected sheets among `names`; `known` caches what a read of the sheet already found."""
    for name in names:
        if name not in known:
            known[name] = protected(part(name))
    return {name for name in names if known[name]}


# -- what python-calamine will allocate ---------------------------------------------------------

_ODS_TAG = re.compile(rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^<>]*)>")
_REPEAT = re.compile(rb"number-(?:rows|columns)-repeated\s*=\s*[\"'](\d{1,12})[\"']")


def _repeat(attrs: bytes) -> int:
    m = _REPEAT.search(attrs)
    return max(int(m.group(1)), 1) if m else 1


def ods_cells(content: bytes) -> int:
    """Dense cells of every table of an ODS content.xml, up to its last cell holding something.

    Repeated rows and columns count as often as they repeat; empty cells after the last value
    (LibreOffice pads every table to 1,048,576 rows that way) cost nothing."""
    total = 0
    stack: list[list[int]] = []  # per open table: [row, last_row, last_col]; tables can nest
    col, row_rep, row_has = 0, 1, False
    for m in _ODS_TAG.finditer(content):
        closing, name, attrs = m.group(1), m.group(2), m.group(3)
        empty = attrs.endswith(b"/")
        if name == b"table":
            if closing and stack:
                _row, last_row, last_col = stack.pop()
                total += last_row * last_col
            elif not closing and not empty:
                stack.append([0, 0, 0])
        elif not stack:
            continue
        elif name == b"table-row":
            t = stack[-1]
            if not closing:
                col, row_rep, row_has = 0, _repeat(attrs), False
            if closing or empty:
                if row_has:
                    t[1] = t[0] + row_rep
                t[0] += row_rep
        elif not closing:  # a cell: one holding a value or text extends the table to it
            rep = _repeat(attrs)
            if not empty or b"value-type" in attrs:
                row_has, stack[-1][2] = True, max(stack[-1][2], col + rep)
            col += rep
    return total


_BOF, _EOF, _BOUNDSHEET = 0x0809, 0x000A, 0x0085
_CELL_RECORDS = {0x0203, 0x00FD, 0x027E, 0x0006, 0x0205, 0x0204, 0x00D6}  # one cell: row, col
_MULTI_RECORDS = {0x00BD}  # MULRK: row, first col, ..., last col (blanks are not values)


def _records(stream: bytes, pos: int) -> Iterator[tuple[int, int, int]]:
    """(type, body offset, body size) of each whole record from `pos` to the first EOF record."""
    while 0 <= pos and pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        if pos + 4 + size > len(stream):
            return
        yield kind, pos + 4, size
        if kind == _EOF:
            return
        pos += 4 + size


def xls_cells(stream: bytes) -> int:
    """Dense cells of every sheet of a BIFF5/8 Workbook stream (sheets found by their BOUNDSHEET
    offsets, as calamine finds them; a sheet listed twice costs twice)."""
    offsets = [
        struct.unpack_from("<I", stream, body)[0]
        for kind, body, size in _records(stream, 0)
        if kind == _BOUNDSHEET and size >= 4
    ]
    sizes: dict[int, int] = {}
    for off in set(offsets):
        top, bottom, left, right = 1 << 20, -1, 1 << 20, -1
        for kind, body, size in _records(stream, off):
            if kind == _BOF and body - 4 != off:
                break  # the next substream: this sheet had no EOF record
            if size >= 4 and kind in _CELL_RECORDS or size >= 6 and kind in _MULTI_RECORDS:
                row, first = struct.unpack_from("<HH", stream, body)
                last = struct.unpack_from("<H", stream, body + size - 2)[0] if kind in _MULTI_RECORDS else first
                top, bottom, left, right = min(top, row), max(bottom, row), min(left, first), max(right, first, last)
        sizes[off] = max(bottom - top + 1, 0) * max(right - left + 1, 0)
    return sum(sizes[off] for off in offsets)
