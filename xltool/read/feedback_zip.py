"""Write a zip that copies most members of a checked source zip byte for byte (still compressed).

The feedback patcher changes a handful of parts of a returned workbook; re-inflating and
re-deflating the other parts would cost more than the patch itself. `zipfile` has no public way to
copy a member's compressed bytes, so this writes the few zip records itself (PKWARE APPNOTE 4.3:
local header, data, central directory, end record; no zip64: the safety gate caps sizes far below
4 GiB and entries below 65,535). Sources have passed `safety.sniff`, which inflated every member
and checked its size and CRC, so copied members are known good.
"""

from __future__ import annotations

import struct
import zipfile
import zlib

_UTF8 = 0x800  # general purpose flag bit 11: the name is UTF-8
_DOS_DATE = (1980 - 1980) << 9 | 1 << 5 | 1  # 1980-01-01, what xlsxwriter and openpyxl write
_VERSION = 20  # 2.0: deflate


class ZipCopy:
    """Collects members (copied raw from `source`, or new bytes deflated here) and returns the zip."""

    def __init__(self, source: zipfile.ZipFile, data: bytes) -> None:
        self._source, self._data = source, memoryview(data)
        self._parts: list[bytes] = []
        self._central: list[bytes] = []
        self._offset = 0

    def _add(self, name: str, method: int, crc: int, raw: bytes | memoryview, size: int) -> None:
        encoded = name.encode("utf-8")
        flags = 0 if encoded.isascii() else _UTF8
        fields = (_VERSION, flags, method, 0, _DOS_DATE, crc, len(raw), size, len(encoded))
        local = struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields, 0) + encoded
        central = struct.pack("<4sH5H3L5H2L", b"PK\x01\x02", _VERSION, *fields, 0, 0, 0, 0, 0, self._offset)
        self._parts += [local, bytes(raw)]
        self._central.append(central + encoded)
        self._offset += len(local) + len(raw)

    def copy(self, name: str) -> None:
        """Copy member `name` of the source as it is stored (its data descriptor dropped)."""
        info = self._source.getinfo(name)
        off = info.header_offset
        name_len, extra_len = struct.unpack_from("<2H", self._data, off + 26)
        start = off + 30 + name_len + extra_len
        raw = self._data[start : start + info.compress_size]
        self._add(name, info.compress_type, info.CRC, raw, info.file_size)

    def write(self, name: str, content: bytes) -> None:
        """Add a new member `name` holding `content` (deflated)."""
        deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        raw = deflate.compress(content) + deflate.flush()
        self._add(name, zipfile.ZIP_DEFLATED, zlib.crc32(content), raw, len(content))

    def getvalue(self) -> bytes:
        directory = b"".join(self._central)
        n = len(self._central)
        end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(directory), self._offset, 0)
        return b"".join(self._parts) + directory + end
