"""Make untrusted text safe to put into spreadsheets, CSV files and file names.

Text from returned workbooks, rosters and inboxes is user data: it may start with `=` (formula
injection when a CSV export is opened in Excel), carry characters XML cannot hold (openpyxl refuses
to save them), or, as a file name, contain `../`, `CON` or `:`.

- `safe_text(value)`: for CSV exports (OWASP: a leading `=`, `+`, `-`, `@`, tab, CR or LF gets a
  `'` prefix) and, with `quote=False`, for workbook cells written by `write_text`.
- `write_text(cell, value)`: put text into an openpyxl cell as an explicit string cell, never a
  formula, whatever it starts with.
- `safe_filename(name)`: one path component that is valid on Windows, macOS and Linux.
- `printable(text)`: for a terminal, control and bidi characters shown as escapes (a file name or
  a cell can carry ESC sequences that would drive the terminal).
- `clip(text)` / `show(value)`: user text and values quoted in a message, short and printable.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import Any

from .numbers import plain_number

MAX_CELL_CHARS = 32_767  # Excel's limit, counted in UTF-16 code units
REPLACEMENT = "\ufffd"
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
# openpyxl's ILLEGAL_CHARACTERS_RE (the control characters it refuses to save), restated here because
# importing openpyxl for one pattern cost every CLI start, `--help` included, ~200 ms; a test keeps them equal
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
# XML 1.0 also excludes lone surrogates and U+FFFE / U+FFFF, which openpyxl's pattern misses
_XML_EXTRA = re.compile("[\ud800-\udfff\ufffe\uffff]")

_WINDOWS_CHARS = set('<>:"|?*/\\')
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{p}{d}" for p in ("COM", "LPT") for d in "123456789\u00b9\u00b2\u00b3"
}
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}$")
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)  # tab stays: it is layout, not an escape


def printable(text: str) -> str:
    """`text` safe to print on a terminal: C0/C1 controls and bidi overrides as \\uXXXX escapes."""
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if _UNPRINTABLE.search(text) else text


def _cap(text: str, limit: int = MAX_CELL_CHARS) -> str:
    if len(text) * 2 <= limit:  # fast path: even all-astral text fits
        return text
    units = text.encode("utf-16-le", "surrogatepass")
    if len(units) <= 2 * limit:
        return text
    # cutting between the halves of a surrogate pair leaves half a pair, which "ignore" drops
    return units[: 2 * limit].decode("utf-16-le", "ignore")


def needs_quote(text: str) -> bool:
    """True when a spreadsheet could read `text` as a formula (plain numbers like -5 are exempt)."""
    if not text:
        return False
    head = text.lstrip(" ")[:1]
    return (text[0] in _TRIGGERS or head in _TRIGGERS) and not _PLAIN_NUMBER.fullmatch(text)


def safe_text(value: Any, *, quote: bool = True) -> str:
    """`value` as text safe for a CSV field or a workbook cell.

    None becomes "". Characters XML 1.0 cannot hold become U+FFFD. With `quote` (the default, for
    CSV), text a spreadsheet would take for a formula gets a leading `'` (OWASP). The result is at
    most 32,767 UTF-16 units, Excel's cell limit; comments and cells share it.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = _XML_EXTRA.sub(REPLACEMENT, ILLEGAL_CHARACTERS_RE.sub(REPLACEMENT, text))
    if quote and needs_quote(text):
        text = "'" + text
    return _cap(text)


def write_text(cell: Any, value: Any) -> None:
    """Write `value` into an openpyxl cell as a string cell, never as a formula.

    openpyxl turns any str starting with "=" into a formula on assignment; forcing the data type
    back to "s" stores it as a shared string. Text that could become a formula when re-typed also
    gets the cell's quotePrefix style (what Excel sets when a user types a leading apostrophe).
    """
    text = safe_text(value, quote=False)
    cell.value = text
    cell.data_type = "s"
    if needs_quote(text):
        cell.quotePrefix = True


def _clean_char(ch: str) -> str:
    if ch in _WINDOWS_CHARS:
        return "_"
    cat = unicodedata.category(ch)
    if cat == "Cf":  # zero-width and bidi controls (RLO spoofs extensions): drop
        return ""
    if cat in ("Cc", "Cs", "Zl", "Zp"):
        return "_"
    return ch


def _trim(text: str) -> str:
    return text.strip(" .\t\u3000")


def _cut(text: str, max_bytes: int) -> str:
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


def safe_filename(name: str, *, max_len: int = 80) -> str:
    """One safe path component made from an untrusted name (organisation, inbox file name).

    NFC-normalised; no path separators, `..`, control characters, Windows-reserved characters
    (<>:"|?*) or device names (CON, NUL, COM1, ... also with an extension: "con.txt"); leading and
    trailing dots and spaces removed; at most `max_len` UTF-8 bytes, cut on a character boundary
    and keeping a short extension (".xlsx"); never empty ("unnamed").

    Different names can map to the same result ("a/b", "a:b" -> "a_b"; long names sharing a
    prefix). Resolving collisions is the caller's job, e.g. by appending a short hash of the
    original name: f"{safe_filename(n, max_len=70)}-{sha256(n.encode()).hexdigest()[:8]}".
    """
    if max_len < 16:
        raise ValueError(f"max_len must be at least 16 bytes, got {max_len}")
    text = unicodedata.normalize("NFC", name)
    text = "".join(_clean_char(ch) for ch in text)
    text = _trim(re.sub(r"\.{2,}", ".", text))
    m = _EXTENSION.search(text)
    stem, ext = (text[: m.start()], m.group()) if m and m.start() > 0 else (text, "")
    budget = max_len - len(ext)  # the extension is ASCII: one byte a character
    stem = _trim(_cut(stem, budget)) or "unnamed"
    if stem.split(".")[0].rstrip(" ").upper() in _RESERVED:
        stem = _trim(_cut("_" + stem, budget))
    return stem + ext


def clip(text: str, limit: int = 80) -> str:
    """User text quoted in a message: cut to `limit` characters (a cell can hold a megabyte), and
    control characters shown as escapes (a message is printed on a terminal: ESC could drive it)."""
    return printable(text if len(text) <= limit else text[: limit - 1] + "…")


def show(value: Any) -> str:
    """A value as a person would recognise it in a message."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return plain_number(value) if math.isfinite(value) else str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)
