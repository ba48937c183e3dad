"""What bytes are, by their first bytes: a zip container (xlsx, xlsm, ods, or an archive), an OLE2
compound file (xls, or an encrypted xlsx), or, for a message, what else they look like."""

from __future__ import annotations

import codecs

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")  # local header, empty archive, spanned
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def is_zip(data: bytes) -> bool:
    return data[:4] in ZIP_MAGICS


def is_ole(data: bytes) -> bool:
    return data.startswith(OLE_MAGIC)


def looks_like(data: bytes) -> str:
    """Best guess at what a non-workbook file is, so the message can tell the user."""
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")):
        return "image"
    if data.startswith(b"{\\rtf"):
        return "word"
    sample, utf16 = data, data.startswith((b"\xff\xfe", b"\xfe\xff"))  # "Unicode text"
    for enc in ["utf-16"] if utf16 else ["utf-8-sig", "gb18030"]:
        try:  # incremental, so a multi-byte character cut at the sample's end is no error
            text = codecs.getincrementaldecoder(enc)().decode(sample, final=False)
            break
        except UnicodeDecodeError:
            continue
    else:
        return "unknown"
    control = sum(1 for c in text if c < " " and c not in "\t\r\n\f")
    if not text.strip() or control > len(text) // 100:
        return "unknown"
    if text.lstrip().startswith("<"):
        return "html"
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    for sep in (",", "\t", ";"):  # every line but the (maybe cut) last has the separator
        if lines and all(sep in ln for ln in lines[: max(len(lines) - 1, 1)]):
            return "csv"
    return "text"
