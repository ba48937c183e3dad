"""Safety gate for returned workbooks: runs on the raw bytes before any parser sees them.

Every returned file is untrusted. `sniff` reads the file once, decides what the bytes really are
(whatever the extension says), and refuses with a typed `InputFileError` anything that is not a
workbook, is encrypted, is a zip bomb, carries a DTD (billion laughs, XXE), or holds more than a
parser can load in a second (cells, styles, strings, sheets counted while inflating; the dense
extent python-calamine would allocate for .xls/.ods, see `scan.py`). Parsers then read
`Sniffed.data` from memory. Zip entries are inflated here with zlib in 64 KiB chunks, counting the
real output: `zipfile` stops at the *declared* size, so it cannot see a directory that lies. The XML
parts it inflated (within `MAX_KEPT`) are handed on in `Sniffed.parts`, so nothing is inflated twice.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import olefile

from ..base.errors import InputFileError
from .counting import Recount, Tally
from .refusals import refuse
from .scan import ods_cells, xls_cells
from .signatures import is_ole, is_zip, looks_like

Kind = Literal["xlsx", "xlsm", "xls", "ods"]

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TOTAL_UNCOMPRESSED = 100 * 1024 * 1024
MAX_ENTRY_UNCOMPRESSED = 50 * 1024 * 1024
MAX_ENTRIES = 2000
MAX_RATIO = 200  # applies to entries larger than RATIO_MIN_SIZE
RATIO_MIN_SIZE = 1024 * 1024
CHUNK = 65536
MAX_KEPT = 4 * 1024 * 1024  # inflated XML handed to the reader; past it the reader inflates again
# What a parser builds an object for, counted while inflating (a filled template: ~1,000 cells,
# 150 rows, 150 strings, 20 formats, 200 names, 8 sheets, 7,000 tags). Cheap to write, slow to
# load: 300,000 cell formats in 25 MB of styles take openpyxl 11 s and 250 MB, 1,000 sheets 4 s.
MAX_ELEMENTS = {
    "c": 200_000,
    "row": 200_000,
    "si": 50_000,
    "xf": 20_000,
    "definedName": 10_000,
    "sheet": 100,
    "tags": 1_000_000,
}
# Every counted element starts with its own '<', so while the whole file has at most this many tags
# no kind but `sheet` can pass its cap: the gate then counts only tags and sheets (`counting.Recount`).
FEW_TAGS = min(cap for what, cap in MAX_ELEMENTS.items() if what not in ("sheet", "tags"))
MAX_DENSE_CELLS = 2_000_000  # python-calamine allocates .xls/.ods sheets densely (~32 bytes a cell)

_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")  # XML keywords are case-sensitive
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_BOOK_CT = re.compile(r"(spreadsheetml\.(sheet|template)|ms-excel\.\w+\.macroEnabled)\.main\+xml")


@dataclass(frozen=True)
class Sniffed:
    """A file that passed the gate; parse `data` (never re-read the path: it may have changed)."""

    path: str
    kind: Kind  # what the bytes are, not what the extension says
    size: int
    sha256: str
    data: bytes
    # every zip entry -> its inflated bytes, exactly what `zipfile.ZipFile(data).read(name)` returns,
    # or None where the reader inflates it itself (not XML, past MAX_KEPT, or zipfile objects to it)
    parts: dict[str, bytes | None] = field(default_factory=dict, repr=False, compare=False)


def open_zip_checked(data: bytes, path: str | None = None) -> zipfile.ZipFile:
    """Open a zip and refuse it from its central directory alone, before anything is inflated."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # hostile input: any failure of the directory parser means "broken"
        raise refuse("BROKEN_ZIP", path, reason="directory", error=repr(exc)) from None
    infos, total = zf.infolist(), 0
    if len(infos) > MAX_ENTRIES:
        raise refuse(
            "ZIP_BOMB", path, stage="directory", reason="too_many_entries", entries=len(infos), limit=MAX_ENTRIES
        )
    if len({i.filename for i in infos}) != len(infos):  # parsers disagree on which one wins
        raise refuse("BROKEN_ZIP", path, reason="duplicate_entry")
    for info in infos:
        bomb = {"stage": "directory", "entry": info.filename, "declared": info.file_size}
        total += info.file_size
        if info.file_size > MAX_ENTRY_UNCOMPRESSED:
            raise refuse("ZIP_BOMB", path, reason="entry_size", **bomb)
        if info.file_size > max(RATIO_MIN_SIZE, MAX_RATIO * info.compress_size):
            raise refuse("ZIP_BOMB", path, reason="ratio", compressed=info.compress_size, **bomb)
        if total > MAX_TOTAL_UNCOMPRESSED:
            raise refuse("ZIP_BOMB", path, reason="total_size", declared_total=total, **bomb)
        if info.flag_bits & 0x1:
            raise refuse("ENCRYPTED_WORKBOOK", path, reason="zip_encryption", entry=info.filename)
    return zf


def _inflate(data: memoryview, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """Yield an entry's real bytes in chunks of at most CHUNK, whatever its declared size."""
    off = info.header_offset
    name_len, extra_len = (int.from_bytes(data[i : i + 2], "little") for i in (off + 26, off + 28))
    pos = off + 30 + name_len + extra_len
    end = pos + info.compress_size
    if off < 0 or bytes(data[off : off + 4]) != b"PK\x03\x04" or end > len(data):
        raise ValueError("bad local header or entry data past the end of the file")
    if info.compress_type == zipfile.ZIP_STORED:
        for at in range(pos, end, CHUNK):
            yield bytes(data[at : min(at + CHUNK, end)])
        return
    if info.compress_type != zipfile.ZIP_DEFLATED:  # Excel, LibreOffice and WPS only deflate
        raise ValueError(f"unsupported compression method {info.compress_type}")
    d = zlib.decompressobj(-15)
    buf: bytes | memoryview
    while not d.eof:
        if d.unconsumed_tail:
            buf = d.unconsumed_tail
        elif pos < end:
            buf, pos = data[pos : min(pos + CHUNK, end)], pos + CHUNK
        else:  # input exhausted (like zipfile): the size/CRC check below reports truncation
            return
        yield d.decompress(buf, CHUNK)


def _stream_check(
    zf: zipfile.ZipFile, data: bytes, path: str | None, exact: bool = False
) -> tuple[dict[str, bytes], dict[str, bytes | None]]:
    """Inflate every entry, one chunk at a time, counting real bytes against the caps and
    scanning XML for DTDs; returns the heads of `mimetype` and `[Content_Types].xml`, and the
    XML entries as `zipfile` would read them (see `_kept`). Elements are counted short unless
    `exact` (raises `Recount` when the file has too many tags for that: see `counting.py`)."""
    heads: dict[str, bytes] = {}
    parts: dict[str, bytes | None] = {}
    view, total, tally, kept = memoryview(data), 0, Tally(exact, FEW_TAGS), 0
    for info in zf.infolist():
        name, size, crc, tail, utf16 = info.filename, 0, 0, b"", False
        chunks: list[bytes] = []
        is_xml = name.lower().endswith(_XML_SUFFIXES)
        try:
            for chunk in _inflate(view, info):
                if size == 0:  # XML by name or by content: a rels target can have any name
                    utf16 = chunk[:2] in (b"\xff\xfe", b"\xfe\xff", b"<\0", b"\0<")
                    is_xml = is_xml or utf16 or chunk.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"
                size, total = size + len(chunk), total + len(chunk)
                bomb = {"stage": "stream", "entry": name, "inflated_at_least": size}
                if size > MAX_ENTRY_UNCOMPRESSED:
                    raise refuse("ZIP_BOMB", path, reason="entry_size", **bomb)
                if total > MAX_TOTAL_UNCOMPRESSED:
                    raise refuse("ZIP_BOMB", path, reason="total_size", inflated_total=total, **bomb)
                if size > max(RATIO_MIN_SIZE, MAX_RATIO * info.compress_size):
                    raise refuse("ZIP_BOMB", path, reason="ratio", compressed=info.compress_size, **bomb)
                crc = zlib.crc32(chunk, crc)
                if name in ("mimetype", "[Content_Types].xml") and size <= CHUNK:
                    heads[name] = heads.get(name, b"") + chunk
                if is_xml and kept + size <= MAX_KEPT:
                    chunks.append(chunk)
                if is_xml:  # the whole part, not only its head: a comment can pad the prolog
                    text = chunk.replace(b"\0", b"") if utf16 else chunk
                    if (b"<!" in text or b"<!" in tail + text[:16]) and any(
                        marker in tail + text for marker in _DTD_MARKERS
                    ):
                        raise refuse("XML_DTD", path, entry=name)
                    _count(tally, tail + text, tail, path, name)
                    tail = text[-64:]
        except (InputFileError, Recount):
            raise
        except Exception as exc:  # zlib.error, ValueError...: the entry cannot be inflated
            raise refuse("BROKEN_ZIP", path, reason="entry", entry=name, error=repr(exc)) from None
        if size != info.file_size or crc != info.CRC:
            raise refuse("BROKEN_ZIP", path, reason="size_or_crc_mismatch", entry=name)
        parts[name] = None
        if is_xml and kept + size <= MAX_KEPT and _kept(zf, info):
            parts[name], kept = b"".join(chunks), kept + size
    return heads, parts


def _kept(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether `zipfile` reads this entry as the gate did: its local header passes zipfile's own
    checks (name as in the directory, no overlap, flags). Same data range, same raw deflate, same
    size and CRC (checked above), so the same bytes. If not, the reader reads the entry itself and
    fails there exactly as before."""
    try:
        zf.open(info).close()
    except Exception:  # hostile input: whatever zipfile objects to stays its verdict, not the gate's
        return False
    return True


def _count(tally: Tally, window: bytes, tail: bytes, path: str | None, entry: str) -> None:
    """Add the elements of `window` not already counted in `tail` (a tag cut by the chunk
    boundary is counted once); refuse as soon as one kind passes its cap."""
    for what, found in tally.add(window, tail).items():
        if found > MAX_ELEMENTS[what.decode()]:
            raise refuse(
                "WORKBOOK_TOO_LARGE",
                path,
                reason=what.decode(),
                found=found,
                limit=MAX_ELEMENTS[what.decode()],
                entry=entry,
            )


def _dense_check(cells: int, path: str | None) -> None:
    if cells > MAX_DENSE_CELLS:
        raise refuse("WORKBOOK_TOO_LARGE", path, reason="dense_cells", found=cells, limit=MAX_DENSE_CELLS)


def _classify_zip(zf: zipfile.ZipFile, heads: dict[str, bytes], path: str | None) -> Kind:
    """ods / xlsx / xlsm by content (mimetype, [Content_Types].xml), never by extension."""
    names = set(zf.namelist())
    mime = heads.get("mimetype", b"").strip()
    if mime == _ODS_MIME:
        if "content.xml" in names:  # its size and CRC were checked while inflating
            try:  # zipfile checks the local header the inflating pass did not (e.g. a forged name)
                content = zf.read("content.xml")
            except Exception as exc:  # noqa: BLE001 - hostile input: a refusal, never a traceback
                raise refuse("BROKEN_ZIP", path, reason="entry", entry="content.xml", error=repr(exc)) from None
            _dense_check(ods_cells(content), path)
        return "ods"
    if mime.startswith(b"application/vnd.oasis.opendocument") or "word/document.xml" in names:
        raise refuse("NOT_A_WORKBOOK", path, looks_like="word")
    types = heads.get("[Content_Types].xml", b"").decode("utf-8", "replace")
    part, content_type = "xl/workbook.xml", ""
    for tag in re.findall(r"<(?:\w{1,32}:)?Override\b[^<>]*>", types):  # bounded: linear on any text
        attrs = dict(re.findall(r"""(?<!\w)(\w+)\s*=\s*["']([^"'<>]*)["']""", tag))
        if _BOOK_CT.search(attrs.get("ContentType", "")):
            part, content_type = attrs.get("PartName", "").lstrip("/"), attrs["ContentType"]
            break
    if part not in names:
        raise refuse("ZIP_NO_WORKBOOK", path, looks_like="zip", entries=sorted(names)[:20])
    return "xlsm" if "macroEnabled" in content_type or "xl/vbaProject.bin" in names else "xlsx"


def _check_ole(data: bytes, path: str | None) -> Kind:
    """Tell a real .xls from a password-protected xlsx, an encrypted .xls or another OLE2 file."""
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))  # raw bytes < 1536 would be taken as a path
        streams = ["/".join(p) for p in ole.listdir(streams=True, storages=False)]
        encrypted = ole.exists("EncryptionInfo") and ole.exists("EncryptedPackage")
        book = next((n for n in ("Workbook", "Book") if ole.exists(n)), None)
        stream = ole.openstream(book).read() if book else b""  # at most the file's size
        ole.close()
    except Exception as exc:  # olefile raises assorted errors on hostile input
        raise refuse("BROKEN_OLE2", path, error=repr(exc)) from None
    if encrypted:
        raise refuse("ENCRYPTED_WORKBOOK", path, reason="ooxml_encrypted_package")
    if book:  # BIFF: a FILEPASS record (0x002F) right after the BOF means the .xls is encrypted
        bof_len = int.from_bytes(stream[2:4], "little")
        if stream[:2] == b"\x09\x08" and stream[4 + bof_len : 6 + bof_len] == b"\x2f\x00":
            raise refuse("ENCRYPTED_WORKBOOK", path, reason="xls_filepass")
        _dense_check(xls_cells(stream), path)
        return "xls"
    looks_like = "word" if "WordDocument" in streams else "unknown"
    raise refuse("OLE2_NOT_WORKBOOK", path, looks_like=looks_like, streams=streams[:20])


def sniff(path: str | os.PathLike[str], *, max_file_bytes: int = MAX_FILE_BYTES) -> Sniffed:
    """Read `path` once; return its bytes and real kind if safe to parse, else InputFileError."""
    p = str(path)
    try:
        st = os.stat(p)
        if not stat.S_ISREG(st.st_mode):  # a folder, or a FIFO/device that could block or not end
            raise OSError("a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file")
        data = b""
        if st.st_size <= max_file_bytes:
            with open(p, "rb") as f:  # read(n) allocates n bytes up front: ask for what is there
                data = f.read(st.st_size + 1)
                if len(data) > st.st_size:  # it grew since stat: read on, still bounded
                    data += f.read(max_file_bytes + 1 - len(data))
    except FileNotFoundError:
        raise refuse("FILE_NOT_FOUND", p) from None
    except OSError as exc:
        raise refuse("FILE_UNREADABLE", p, error=repr(exc)) from None
    size = len(data) if st.st_size <= max_file_bytes else st.st_size
    if size > max_file_bytes:
        raise refuse("FILE_TOO_LARGE", p, size=size, limit=max_file_bytes)
    if not data:
        raise refuse("EMPTY_FILE", p, size=0)
    parts: dict[str, bytes | None] = {}
    if is_zip(data):
        with open_zip_checked(data, p) as zf:
            try:
                heads, parts = _stream_check(zf, data, p)
            except Recount:  # many tags: the full count decides, from the first entry
                heads, parts = _stream_check(zf, data, p, exact=True)
            kind = _classify_zip(zf, heads, p)
    elif is_ole(data):
        kind = _check_ole(data, p)
    else:
        raise refuse("NOT_A_WORKBOOK", p, looks_like=looks_like(data[:CHUNK]), size=size)
    return Sniffed(p, kind, size, hashlib.sha256(data).hexdigest(), data, parts if kind != "ods" else {})
