"""Workbook structure protection, added after xlsxwriter has written the file.

xlsxwriter protects sheets but cannot lock the workbook structure (no adding, deleting, renaming or
unhiding sheets). We add `<workbookProtection lockStructure="1"/>` to xl/workbook.xml and rewrite the
zip with the same entry order and timestamps, so the output stays byte-reproducible.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

_WORKBOOK = "xl/workbook.xml"
# elements that must precede workbookProtection in CT_Workbook
_AFTER = re.compile(rb"(<workbookPr\b[^>]*/>|<fileSharing\b[^>]*/>|<fileVersion\b[^>]*/>)")


def legacy_password_hash(password: str) -> str:
    """The 16-bit hash Excel uses for sheet and workbook protection passwords (hex)."""
    digest = 0x0000
    for i, ch in enumerate(password, start=1):
        value = ord(ch) << i
        digest ^= ((value & 0x7FFF) | (value >> 15)) & 0xFFFF
    digest ^= len(password)
    digest ^= 0xCE4B
    return f"{digest:X}"


def protect_structure(data: bytes, password: str = "") -> bytes:
    """Return the xlsx bytes with the workbook structure locked."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    attrs = ' lockStructure="1"'
    if password:
        attrs = f' workbookPassword="{legacy_password_hash(password)}"' + attrs
    tag = f"<workbookProtection{attrs}/>".encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == _WORKBOOK:
                matches = list(_AFTER.finditer(body))
                if not matches:
                    raise RuntimeError("workbook.xml has no workbookPr to anchor workbookProtection")
                end = max(m.end() for m in matches)
                body = body[:end] + tag + body[end:]
            new = zipfile.ZipInfo(info.filename, info.date_time)
            new.compress_type = zipfile.ZIP_DEFLATED
            new.external_attr = info.external_attr
            new.create_system = info.create_system
            dst.writestr(new, body)
    return out.getvalue()


def protect_sheet(ws: Any, password: str) -> None:
    """Lock a sheet: locked cells cannot change, yet both kinds can be selected and rows/columns resized."""
    options = {"select_locked_cells": True, "select_unlocked_cells": True, "format_columns": True, "format_rows": True}
    ws.protect(password, options)
