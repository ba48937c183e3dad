"""The cell formats a feedback workbook adds to the returned file's `xl/styles.xml`.

A marked cell keeps its own format (number format, font, borders, alignment, protection): its
`<xf>` is copied with only the fill changed (and `quotePrefix` set where a formula became text).
The list sheet's formats are new `<xf>`s with their own fonts and fills. Formats are appended, never
changed, so every other cell looks exactly as before. What openpyxl reads back is the reference:
it takes a cell's protection from the `<protection>` child of its `<xf>`, whatever
`applyProtection` says, and so does `locked` here.
"""

from __future__ import annotations

import copy

from lxml import etree

from .feedback_text import FILLS

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_M = f"{{{MAIN}}}"
_FALSE = ("0", "false")


class Unhandled(Exception):
    """The source has something the patcher does not handle with certainty: use the openpyxl path."""


def _fill(rgb: str) -> etree._Element:
    fill = etree.Element(f"{_M}fill")
    pattern = etree.SubElement(fill, f"{_M}patternFill", patternType="solid")
    etree.SubElement(pattern, f"{_M}fgColor", rgb="FF" + rgb)
    etree.SubElement(pattern, f"{_M}bgColor", rgb="FF" + rgb)
    return fill


def _font(bold: bool = False, size: int | None = None, colour: str | None = None, underline: bool = False):
    """A font as openpyxl writes `Font(bold=..., size=..., color=..., underline="single")`."""
    font = etree.Element(f"{_M}font")
    if bold:
        etree.SubElement(font, f"{_M}b", val="1")
    if underline:
        etree.SubElement(font, f"{_M}u", val="single")
    if size:
        etree.SubElement(font, f"{_M}sz", val=str(size))
    if colour:
        etree.SubElement(font, f"{_M}color", rgb="00" + colour)
    return font


FONTS = {
    "title": lambda: _font(bold=True, size=14),
    "summary": lambda: _font(bold=True, colour="9C0006"),
    "bold": lambda: _font(bold=True),
    "link": lambda: _font(colour="0563C1", underline=True),
}


class Styles:
    """`xl/styles.xml` parsed, with formats appended on demand (each at most once)."""

    def __init__(self, xml: bytes, parser: etree.XMLParser) -> None:
        self.root = etree.fromstring(xml, parser)
        if self.root.tag != f"{_M}styleSheet":
            raise Unhandled("styles: not a SpreadsheetML style sheet")
        self._xfs, self._fills, self._fonts = (self.root.find(f"{_M}{n}") for n in ("cellXfs", "fills", "fonts"))
        if self._xfs is None or self._fills is None or self._fonts is None or not len(self._xfs):
            raise Unhandled("styles: no cellXfs, fills or fonts")
        self.xfs = self._xfs.findall(f"{_M}xf")
        self._added: dict[tuple[object, ...], int] = {}
        self._locked: dict[int, bool] = {}
        self.changed = False

    def locked(self, s: int) -> bool:
        if s not in self._locked:  # asked for every formula cell: a few dozen formats
            protection = self.xf(s).find(f"{_M}protection")
            self._locked[s] = protection is None or protection.get("locked", "1") not in _FALSE
        return self._locked[s]

    def xf(self, s: int) -> etree._Element:
        if not 0 <= s < len(self.xfs):
            raise Unhandled(f"styles: cell format {s} does not exist")
        return self.xfs[s]

    def _append(self, parent: etree._Element, element: etree._Element) -> int:
        parent.append(element)
        parent.set("count", str(len(parent)))
        self.changed = True
        return len(parent) - 1

    def _part(self, kind: str, name: str) -> int:
        key = (kind, name)
        if key not in self._added:
            if kind == "fill":
                self._added[key] = self._append(self._fills, _fill(FILLS[name]))
            else:
                self._added[key] = self._append(self._fonts, FONTS[name]())
        return self._added[key]

    def _new_xf(self, key: tuple[object, ...], xf: etree._Element) -> int:
        if key not in self._added:
            self.xfs.append(xf)
            self._added[key] = self._append(self._xfs, xf)
        return self._added[key]

    def marked(self, s: int, fill: str | None, quote: bool) -> int:
        """The format of cell format `s` with `fill` ("error"/"warning") and/or a quote prefix."""
        if fill is None and not quote:
            return s
        key = ("cell", s, fill, quote)
        if key in self._added:
            return self._added[key]
        xf = copy.deepcopy(self.xf(s))
        if fill is not None:
            xf.set("fillId", str(self._part("fill", fill)))
            xf.set("applyFill", "1")
        if quote:
            xf.set("quotePrefix", "1")
        return self._new_xf(key, xf)

    def listing(
        self, font: str | None = None, fill: str | None = None, align: dict[str, str] | None = None, quote: bool = False
    ) -> int:
        """A new format for the list sheet (defaults as openpyxl gives a new cell, then these)."""
        key = ("list", font, fill, tuple(sorted((align or {}).items())), quote)
        if key in self._added:
            return self._added[key]
        font_id = self._part("font", font) if font else 0
        fill_id = self._part("fill", fill) if fill else 0
        xf = etree.Element(f"{_M}xf", numFmtId="0", fontId=str(font_id), fillId=str(fill_id), borderId="0", xfId="0")
        if quote:
            xf.set("quotePrefix", "1")
        if font:
            xf.set("applyFont", "1")
        if fill:
            xf.set("applyFill", "1")
        if align:
            xf.set("applyAlignment", "1")
            etree.SubElement(xf, f"{_M}alignment", **align)
        return self._new_xf(key, xf)

    def tobytes(self) -> bytes:
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", standalone=True)
