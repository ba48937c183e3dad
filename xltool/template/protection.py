"""Workbook and sheet protection settings for the template writer.

xlsxwriter protects sheets but cannot lock the workbook structure (no adding, deleting, renaming or
unhiding sheets); `base.internals.xlsx_workbook` writes `<workbookProtection>` with the attributes
given here while the workbook XML is written, so no second pass over the zip is needed.
"""

from __future__ import annotations

from typing import Any


def legacy_password_hash(password: str) -> str:
    """The 16-bit hash Excel uses for sheet and workbook protection passwords (hex)."""
    digest = 0x0000
    for i, ch in enumerate(password, start=1):
        value = ord(ch) << i
        digest ^= ((value & 0x7FFF) | (value >> 15)) & 0xFFFF
    digest ^= len(password)
    digest ^= 0xCE4B
    return f"{digest:X}"


def structure_protection(password: str = "") -> list[tuple[str, str]]:
    """The attributes of `<workbookProtection>` locking the workbook structure, in file order."""
    attrs = [("lockStructure", "1")]
    if password:
        attrs.insert(0, ("workbookPassword", legacy_password_hash(password)))
    return attrs


def protect_sheet(ws: Any, password: str) -> None:
    """Lock a sheet: locked cells cannot change, yet both kinds can be selected and rows/columns resized."""
    options = {"select_locked_cells": True, "select_unlocked_cells": True, "format_columns": True, "format_rows": True}
    ws.protect(password, options)
