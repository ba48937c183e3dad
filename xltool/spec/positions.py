"""Fixed positions of a workbook and A1 references: the part of the layout that does not depend on the schema.

Writer, reader and tests take rows and columns from here (and the schema-dependent ones from `layout`),
never from literals, so a position is decided in one place.
"""

from __future__ import annotations

import re

from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name, xl_rowcol_to_cell

from .identity import KEYS

_A1 = re.compile(r"\$?[A-Z]{1,3}\$?[1-9][0-9]{0,6}")

# Data sheets: title, summary ("有 2 处不一致"), then the blocks.
TITLE_ROW = 0
SUMMARY_ROW = 1
FIRST_BLOCK_ROW = 3
# Instructions sheet: title and summary as above, then key | value rows of whom it was issued to.
INFO_FIRST_ROW = 3
KEY_COL, VALUE_COL = 0, 1
# Checks sheet: one row per rule instance, in model order, under a header row.
CHECKS_HEADER_ROW = 2
CHECKS_FIRST_ROW = 3
CHECKS_COLUMNS = ("rule", "title", "item", "state", "left", "right", "severity")
CHECKS_STATE_COL = CHECKS_COLUMNS.index("state")
# Hidden meta sheet: one identity key | value per row, in identity order.
META_KEY_COL, META_VALUE_COL = KEY_COL, VALUE_COL


def col_letter(col: int) -> str:
    """0-based column index -> Excel letters."""
    return xl_col_to_name(col)


def a1(row: int, col: int) -> str:
    return xl_rowcol_to_cell(row, col)


def abs_a1(row: int, col: int) -> str:
    """'$D$4': an absolute reference, the same wherever a formula is copied."""
    return xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True)


def quoted_sheet(sheet: str) -> str:
    """A sheet name as formulas write it: always quoted (CJK names and punctuation need it)."""
    return "'" + sheet.replace("'", "''") + "'"


def sheet_ref(sheet: str, row: int, col: int) -> str:
    """ "'Sheet'!$D$4": an absolute, sheet-qualified reference."""
    return f"{quoted_sheet(sheet)}!{abs_a1(row, col)}"


def parse_a1(cell: str) -> tuple[int, int] | None:
    """'D31' -> (30, 3), 0-based; None for anything that is not a plain cell reference."""
    if not _A1.fullmatch(cell):
        return None
    return xl_cell_to_rowcol(cell)


def meta_row(key: str) -> int:
    """Row of an identity key on the hidden meta sheet."""
    return KEYS.index(key)
