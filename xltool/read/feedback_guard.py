"""Damage the openpyxl path would refuse: the feedback patcher declines such a file (`Unhandled`).

A damaged file can still read (the reader needs only some cells), but `write_feedback` answers
UNREADABLE_WORKBOOK when openpyxl cannot load it, and the patch must not turn that refusal into a
workbook that carries the damage on. openpyxl refuses a well-formed part when a value does not
convert (a 5,000-digit number, a string index past the table, a style that does not exist) or an
element it maps to a class has an attribute or child that class does not know. The checks here are
deliberately stricter than openpyxl: a file they do not pass goes the exact way.

- cells and rows: every attribute, child and value, in bulk by one regex over the serialised
  sheetData (`feedback_bulk`), element by element with lxml wherever the bulk check doubts;
- other worksheet elements (views, columns, merges, formatting, validations, page set-up): given
  to openpyxl's own `WorkSheetParser`, one element at a time, memoised by content (files from the
  same template repeat them, so a collect checks each once);
- `xl/styles.xml` and `xl/workbook.xml`: read by openpyxl's classes, memoised by content.
"""

from __future__ import annotations

import functools
import re
import warnings

from lxml import etree
from openpyxl.packaging.workbook import WorkbookPackage
from openpyxl.styles.stylesheet import Stylesheet
from openpyxl.utils.cell import range_boundaries

from ..base.internals import parse_worksheet
from .feedback_bulk import as_written, plain_cells
from .feedback_styles import MAIN, Unhandled

_M = f"{{{MAIN}}}"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_INT = re.compile(r"[0-9]{1,9}")
_REF = re.compile(r"[A-Z]{1,3}[1-9][0-9]{0,6}")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,3})?")
_FLAG = re.compile(r"0|1|true|false")
_HEIGHT = re.compile(r"[0-9]{1,4}(\.[0-9]{0,17})?")
_SPANS = re.compile(r"[0-9]{1,5}:[0-9]{1,5}( [0-9]{1,5}:[0-9]{1,5})*")
_ROW = {
    "r": _INT,
    "spans": _SPANS,
    "s": _INT,
    "ht": _HEIGHT,
    "outlineLevel": re.compile(r"[0-7]"),
    **{k: _FLAG for k in ("customFormat", "customHeight", "hidden", "collapsed", "thickTop", "thickBot", "ph")},
}
_CELL = {"r", "s", "t", "cm", "vm", "ph"}
_TYPES = {None, "n", "s", "str", "b", "e", "inlineStr"}
_FORMULA = {"t", "ref", "si", "aca", "ca", "bx", "dt2D", "dtr", "del1", "del2", "r1", "r2"}


def _refuse(where: str, what: str) -> Unhandled:
    return Unhandled(f"{where}: {what} openpyxl may refuse")


_ROW_TAG, _C_TAG, _F_TAG, _V_TAG, _IS_TAG, _T_TAG = (f"{_M}{n}" for n in ("row", "c", "f", "v", "is", "t"))


def _value_ok(t: str | None, v: str, strings: int) -> bool:
    if t in (None, "n"):
        return len(v) <= 400 and _NUMBER.fullmatch(v) is not None
    if t == "s":
        return _INT.fullmatch(v) is not None and int(v) < strings
    return v in ("0", "1") if t == "b" else True


def check_cells(root: etree._Element, strings: int, xfs: int, where: str, part: bytes | None = None) -> None:
    """Every row and cell of a worksheet is one openpyxl converts without an error: in bulk
    (`feedback_bulk`: on the sheetData as `part` spells it where that is certainly the parsed one,
    else, or if that spelling is not the plain one, as lxml serialises it), and element by element
    where the bulk check doubts."""
    data = root.find(f"{_M}sheetData")
    if data is None:
        return
    written = None if part is None else as_written(part)
    if written is not None and plain_cells(written, strings, xfs):
        return
    if not plain_cells(etree.tostring(data, encoding="UTF-8", with_tail=False), strings, xfs):
        _check_each(data, strings, xfs, where)


def _check_each(data: etree._Element, strings: int, xfs: int, where: str) -> None:
    """Row by row, cell by cell: what decides where the bulk check doubts (and names the culprit)."""
    for row in data:
        if row.tag != _ROW_TAG:
            raise _refuse(where, f"<{row.tag}> in sheetData")
        for key, value in row.items():
            if key[0] != "{" and (key not in _ROW or not _ROW[key].fullmatch(value)):
                raise _refuse(where, f"row attribute {key}={value!r}")
        for c in row:
            ref, s, t = c.get("r"), c.get("s"), c.get("t")
            if c.tag != _C_TAG or not _CELL.issuperset(c.keys()) or t not in _TYPES:
                raise _refuse(where, f"cell {ref}")
            if (ref is not None and not _REF.fullmatch(ref)) or (s and (not _INT.fullmatch(s) or int(s) >= xfs)):
                raise _refuse(where, f"cell {ref} reference or format {s}")
            formula = False
            for child in c:
                tag = child.tag
                if tag == _F_TAG:
                    formula = True
                    if len(child) or not _FORMULA.issuperset(child.keys()) or child.get("t") == "dataTable":
                        raise _refuse(where, f"cell {ref} formula")
                elif tag == _V_TAG:
                    if not formula and child.text and not _value_ok(t, child.text, strings):
                        raise _refuse(where, f"cell {ref} value")
                elif tag != _IS_TAG or [x.tag for x in child] != [_T_TAG]:
                    raise _refuse(where, f"cell {ref} child")


_STRING_PARTS = {"t", "r", "rPh", "phoneticPr"}
_SI = f"{_M}si"
_ODD_STRING = etree.XPath(  # a child of an <si> that is not an element named t, r, rPh or phoneticPr
    "boolean(m:si/node()[not(self::text())][not(self::* and contains('|t|r|rPh|phoneticPr|', "
    "concat('|', local-name(), '|')))])",
    namespaces={"m": MAIN},
)


def check_strings(table: etree._Element, part: str) -> None:
    """Every item of the shared string table is an `<si>` of parts openpyxl reads (in bulk: one
    XPath query, and item by item only when it doubts)."""
    if sum(1 for _ in table.iterchildren(_SI)) == len(table) and not _ODD_STRING(table):
        return
    if any(si.tag != _SI or any(_local(x) not in _STRING_PARTS for x in si) for si in table):
        raise Unhandled(f"{part}: a string openpyxl may refuse")


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def check_elements(root: etree._Element, where: str) -> None:
    """The worksheet's other elements, as openpyxl's worksheet parser reads them."""
    for child in root:
        if not isinstance(child.tag, str) or child.tag == f"{_M}sheetData":
            continue
        if not _accepted(etree.tostring(child)):
            raise _refuse(where, f"<{etree.QName(child).localname}>")
        if child.tag == f"{_M}mergeCells":
            for m in child:
                _range(m.get("ref", ""), where)
        if child.tag == f"{_M}hyperlinks":
            for link in child:
                _range(link.get("ref", ""), where)
                if link.get(f"{{{_REL}}}id") is not None:
                    raise _refuse(where, "a hyperlink to another file")


def _range(ref: str, where: str) -> None:
    try:
        range_boundaries(ref)
    except (ValueError, TypeError):
        raise _refuse(where, f"range {ref!r}") from None


@functools.lru_cache(maxsize=4096)
def _accepted(fragment: bytes) -> bool:
    xml = f'<worksheet xmlns="{MAIN}" xmlns:r="{_REL}">'.encode() + fragment + b"</worksheet>"
    try:
        with warnings.catch_warnings():  # openpyxl warns about parts it drops; the patch keeps them
            warnings.simplefilter("ignore")
            parse_worksheet(xml)
    except Exception:  # noqa: BLE001 - whatever openpyxl raises, it would raise on load
        return False
    return True


@functools.lru_cache(maxsize=256)
def accepted_part(kind: str, xml: bytes) -> bool:
    """openpyxl reads `xl/styles.xml` ("styles") or `xl/workbook.xml` ("workbook") without an error."""
    try:
        tree = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (Stylesheet if kind == "styles" else WorkbookPackage).from_tree(tree)
    except Exception:  # noqa: BLE001 - whatever openpyxl raises, it would raise on load
        return False
    return True
