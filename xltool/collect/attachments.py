"""Zip attachments, opened in memory: never extracted, so member names cannot escape anywhere.

A `.zip` passes the safety gate's directory checks (`safety.open_zip_checked`: entry count,
declared sizes, ratio, encryption) and a CRC pass; its members become entries named
`attachment.zip!/member/path.xlsx`. `..` or absolute member names, and nested archives, are
entries with a verdict (not read). Member names without the UTF-8 flag are decoded as GBK.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
import zipfile
from collections.abc import Iterator
from typing import Any

from ..base.errors import InputFileError
from ..read import safety
from ..read.signatures import is_ole, is_zip
from .received import Entry, Skipped, Verdict, verdict

TEMP_PREFIXES = ("~$", ".~lock.", "~wrl", "._", ".~")
TEMP_SUFFIXES = (".tmp", ".temp", ".crdownload", ".part", ".partial", "~", ".bak", ".wbk")
TEMP_NAMES = {".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db", ".localized"}
SKIP_DIRS = {"__macosx", ".git", ".svn"}
ARCHIVE_EXTS = {".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".cab", ".arj", ".lzh", ".zipx"}
_MAGIC = ((b"Rar!\x1a\x07", "rar"), (b"7z\xbc\xaf\x27\x1c", "7z"))
_EXT = re.compile(r"\.([a-z0-9]{1,10})$")
MEMBER_SEP = "!/"


def _from_error(exc: InputFileError) -> Verdict:
    return Verdict(exc.code, exc.message_zh, exc.message_en, dict(exc.details))


def is_temp(name: str) -> bool:
    low = name.lower()
    return (
        low in TEMP_NAMES
        or low.startswith(TEMP_PREFIXES)
        or low.endswith(TEMP_SUFFIXES)
        or (low.startswith("~") and low.endswith("#"))
    )


def ext_of(name: str) -> str:
    m = _EXT.search(name.lower())
    return m.group(1) if m else ""


def archive_format(name: str, data: bytes) -> str | None:
    for magic, fmt in _MAGIC:
        if data.startswith(magic):
            return fmt
    ext = "." + ext_of(name)
    return ext[1:] if ext in ARCHIVE_EXTS else None


def zip_names(data: bytes) -> set[str] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return set(zf.namelist())
    except Exception:  # noqa: BLE001 - hostile bytes: not a readable zip
        return None


def content_ext(name: str, data: bytes) -> str:
    """Extension for the stored copy: by content for workbooks, else the received one."""
    if is_zip(data):
        names = zip_names(data) or set()
        if "xl/vbaProject.bin" in names:
            return "xlsm"
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "content.xml" in names and "mimetype" in names:
            return "ods"
        return "zip" if names else (ext_of(name) or "bin")
    if is_ole(data):
        return ext_of(name) if ext_of(name) in ("xls", "doc", "ppt", "xlsx") else "xls"
    return ext_of(name) or "bin"


def is_workbook_zip(names: set[str]) -> bool:
    return "[Content_Types].xml" in names or "mimetype" in names


def _member_name(info: zipfile.ZipInfo) -> str:
    """Member name as the sender saw it: names without the UTF-8 flag are often GBK (Chinese Windows)."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            return name
        for enc in ("utf-8", "gb18030"):
            try:
                return raw.decode(enc)
            except UnicodeDecodeError:
                continue
    return name


def _unsafe(name: str) -> bool:
    norm = name.replace("\\", "/")
    parts = norm.split("/")
    return norm.startswith("/") or bool(re.match(r"^[A-Za-z]:", norm)) or ".." in parts or "\0" in name


def _member_time(info: zipfile.ZipInfo, fallback: float) -> float:
    try:
        return time.mktime((*info.date_time, 0, 0, -1))
    except (OverflowError, ValueError):
        return fallback


def hash_stream(f: Any) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    while chunk := f.read(safety.CHUNK):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def _members(rel: str, data: bytes, mtime: float) -> Iterator[Entry | Skipped]:
    """Entries for the members of a zip attachment that passed the directory checks."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files = [i for i in zf.infolist() if not i.is_dir()]
        if not files:
            yield Entry(
                rel,
                hashlib.sha256(data).hexdigest(),
                len(data),
                mtime,
                "zip",
                verdict=verdict("ARCHIVE_EMPTY"),
                data=data,
            )
            return
        yield Entry(rel, hashlib.sha256(data).hexdigest(), len(data), mtime, "zip", role="attachment", data=data)
        for info in files:
            name = _member_name(info)
            path = f"{rel}{MEMBER_SEP}{name.replace(chr(92), '/').lstrip('/')}"
            base = name.replace("\\", "/").rsplit("/", 1)[-1]
            parts = [p.lower() for p in name.replace("\\", "/").split("/")]
            if is_temp(base) or SKIP_DIRS.intersection(parts[:-1]):
                yield Skipped(path, "temp")
                continue
            when = _member_time(info, mtime)
            if info.file_size > safety.MAX_FILE_BYTES:
                with zf.open(info) as f:
                    sha, size = hash_stream(f)
                yield Entry(
                    path,
                    sha,
                    size,
                    when,
                    ext_of(base) or "bin",
                    verdict=verdict("FILE_TOO_LARGE", size=size, limit=safety.MAX_FILE_BYTES),
                    role="member",
                )
                continue
            with zf.open(info) as f:
                body = f.read(info.file_size + 1)  # sizes were checked (declared and CRC) before
            sha, found = hashlib.sha256(body).hexdigest(), None
            if _unsafe(name):
                found = verdict("UNSAFE_ARCHIVE_MEMBER", member=name)
            elif archive_format(base, body) or (
                base.lower().endswith(".zip") and not is_workbook_zip(zip_names(body) or set())
            ):
                found = verdict("NESTED_ARCHIVE", member=name)
            yield Entry(path, sha, len(body), when, content_ext(base, body), role="member", verdict=found, data=body)


def attachment(rel: str, data: bytes, mtime: float) -> Iterator[Entry | Skipped]:
    sha = hashlib.sha256(data).hexdigest()
    try:
        safety.open_zip_checked(data, rel).close()
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            bad = zf.testzip()  # CRC of every member, in bounded chunks; declared sizes already capped
        if bad is not None:
            yield Entry(rel, sha, len(data), mtime, "zip", verdict=verdict("BROKEN_ZIP", entry=bad), data=data)
            return
    except InputFileError as exc:
        yield Entry(rel, sha, len(data), mtime, "zip", verdict=_from_error(exc), data=data)
        return
    except Exception as exc:  # noqa: BLE001 - zlib/zipfile errors on hostile input
        yield Entry(rel, sha, len(data), mtime, "zip", verdict=verdict("BROKEN_ZIP", error=repr(exc)), data=data)
        return
    yield from _members(rel, data, mtime)
