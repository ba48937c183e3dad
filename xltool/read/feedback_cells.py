"""A worksheet's cells as lxml elements, for the feedback patcher: find, create, make text.

Rows and cells are addressed by number; a writer may leave `r` out (the row after the previous
one, the column after the previous cell: ECMA-376 Part 1 §18.3.1.73, §18.3.1.4), so the grid
writes it in. New rows and cells go where their number puts them, as Excel requires.
"""

from __future__ import annotations

import re

from lxml import etree
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries

from ..base.text import safe_text
from .feedback_styles import MAIN, Unhandled

_M = f"{{{MAIN}}}"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


_A1 = re.compile(r"([A-Z]{1,3})[0-9]{1,7}")
_ROW, _C = f"{_M}row", f"{_M}c"


class Grid:
    """The cells of one worksheet by (row, column); `r` is filled in where a writer left it out."""

    def __init__(self, root: etree._Element) -> None:
        self.data = root.find(f"{_M}sheetData")
        if self.data is None:
            raise Unhandled("worksheet without sheetData")
        self.rows: dict[int, etree._Element] = {}
        self.cells: dict[tuple[int, int], etree._Element] = {}
        r, cells = 0, self.cells
        for row in self.data.iterchildren(_ROW):
            given = row.get("r")
            r = int(given or r + 1)
            digits = str(r)
            if given != digits:
                row.set("r", digits)
            self.rows[r] = row
            col = 0
            for c in row.iterchildren(_C):
                ref = c.get("r")
                if ref:  # the column as written, the row as the row says
                    if (m := _A1.fullmatch(ref)) is None:
                        raise Unhandled(f"cell reference {ref!r}")
                    letters = m.group(1)
                    col = column_index_from_string(letters)
                else:
                    col += 1
                    letters = get_column_letter(col)
                if ref != letters + digits:
                    c.set("r", letters + digits)
                cells[(r, col)] = c

    def cell(self, r: int, col: int) -> etree._Element:
        """The cell at (r, col), created (with the default format) when it is not in the file."""
        if (r, col) in self.cells:
            return self.cells[(r, col)]
        row = self.rows.get(r)
        if row is None:
            row = etree.Element(f"{_M}row", r=str(r))
            later = [n for n in self.rows if n > r]
            if later:
                self.rows[min(later)].addprevious(row)
            else:
                self.data.append(row)
            self.rows[r] = row
        row.attrib.pop("spans", None)  # an optional hint (§18.3.1.73) the new cell may fall outside of
        c = etree.Element(f"{_M}c", r=f"{get_column_letter(col)}{r}")
        later_cells = [k for k in self.cells if k[0] == r and k[1] > col]
        if later_cells:
            self.cells[min(later_cells)].addprevious(c)
        else:
            row.append(c)
        self.cells[(r, col)] = c
        return c


def merged(root: etree._Element) -> list[tuple[int, int, int, int]]:
    out = []
    for m in root.iterfind(f"{_M}mergeCells/{_M}mergeCell"):
        min_col, min_row, max_col, max_row = range_boundaries(m.get("ref", ""))
        out.append((min_row, min_col, max_row or min_row, max_col or min_col))
    return out


def to_text(c: etree._Element, text: str) -> None:
    """Make `c` a string cell holding `text` (a formula dropped, as `write_text` stores it)."""
    for child in list(c):
        c.remove(child)
    for attr in ("t", "cm", "vm"):
        c.attrib.pop(attr, None)
    c.set("t", "inlineStr")
    t = etree.SubElement(etree.SubElement(c, f"{_M}is"), f"{_M}t")
    t.text, _ = safe_text(text, quote=False), t.set(_XML_SPACE, "preserve")
