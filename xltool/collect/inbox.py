"""Walk an inbox of returned files: read-only, deterministic, hostile-input safe.

`walk(inbox)` yields one `Entry` per received file (with its bytes, to be stored and then dropped)
or one `Skipped` per file that is not a submission (Office/WPS/LibreOffice temp and lock files,
desktop litter, symlinks, special files). Nothing in the inbox is opened for writing.

A `.zip` attachment is opened in memory after the safety gate's directory checks
(`safety.open_zip_checked`: entry count, declared sizes, ratio, encryption) and a CRC pass; its
members become entries named `attachment.zip!/member/path.xlsx`. Members are never written out
under their own names, so `..` or absolute member names cannot escape anywhere; such members, and
nested archives, are entries with a verdict (not read). `.rar`/`.7z`/… are entries with the verdict
UNSUPPORTED_ARCHIVE. Names are never trusted for identity: they are only shown to people.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..base.errors import InputFileError
from ..read import safety

TEMP_PREFIXES = ("~$", ".~lock.", "~wrl", "._", ".~")
TEMP_SUFFIXES = (".tmp", ".temp", ".crdownload", ".part", ".partial", "~", ".bak", ".wbk")
TEMP_NAMES = {".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db", ".localized"}
SKIP_DIRS = {"__macosx", ".git", ".svn"}
ARCHIVE_EXTS = {".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".cab", ".arj", ".lzh", ".zipx"}
_MAGIC = ((b"Rar!\x1a\x07", "rar"), (b"7z\xbc\xaf\x27\x1c", "7z"))
_EXT = re.compile(r"\.([a-z0-9]{1,10})$")
MEMBER_SEP = "!/"

VERDICTS = {  # code -> (Chinese, English) for entries decided before any parser runs
    "UNSUPPORTED_ARCHIVE": (
        "压缩包格式（{fmt}）无法自动解压，请解压后提交其中的 .xlsx 文件（或改用 .zip）",
        "archive format ({fmt}) is not unpacked automatically; submit the .xlsx inside (or use .zip)",
    ),
    "NESTED_ARCHIVE": (
        "压缩包中又含有压缩包，未继续解压；请直接提交 .xlsx 文件",
        "an archive inside an archive is not unpacked; submit the .xlsx file directly",
    ),
    "UNSAFE_ARCHIVE_MEMBER": (
        "压缩包中的文件名不安全（含“..”或绝对路径），已拒绝读取",
        "unsafe name inside the archive ('..' or an absolute path); not read",
    ),
    "ARCHIVE_EMPTY": (
        "压缩包中没有文件，请提交填写好的 .xlsx 文件",
        "the archive contains no files; submit the filled .xlsx file",
    ),
    "BROKEN_ZIP": (
        "压缩包已损坏或不完整，无法解压，请重新打包后提交",
        "the zip archive is damaged or incomplete and cannot be unpacked; pack it again and resubmit",
    ),
    "FILE_TOO_LARGE": (
        "文件过大（{mb:.1f} MB，上限 {limit_mb:.1f} MB），请检查是否提交错了文件",
        "the file is too large ({mb:.1f} MB, limit {limit_mb:.1f} MB); right file?",
    ),
}


@dataclass(frozen=True)
class Verdict:
    code: str
    message_zh: str
    message_en: str
    details: dict[str, Any] = field(default_factory=dict)


def verdict(code: str, **details: Any) -> Verdict:
    fmt = dict(details)
    if code == "FILE_TOO_LARGE":
        fmt = {"mb": details["size"] / 1048576, "limit_mb": details["limit"] / 1048576}
    zh, en = VERDICTS[code]
    return Verdict(code, zh.format(**fmt), en.format(**fmt), details)


def _from_error(exc: InputFileError) -> Verdict:
    return Verdict(exc.code, exc.message_zh, exc.message_en, dict(exc.details))


@dataclass(frozen=True)
class Entry:
    """One received file (or zip member). `data` is None once stored (or when too large)."""

    path: str  # relative to the inbox, "/"-separated; members: "a/b.zip!/member.xlsx"
    sha256: str
    size: int
    mtime: float  # file time, seconds since the epoch (zip members: their own date)
    ext: str  # extension for the stored copy, by content where known ("xlsx", "bin")
    role: str = "file"  # file | member | attachment (an unpacked .zip: not itself a submission)
    verdict: Verdict | None = None
    data: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str  # temp | symlink | special | unreadable | archive_dir
    detail: str = ""

    @property
    def problem(self) -> bool:
        """Something that may be a submission but could not be looked at."""
        return self.reason == "unreadable"


def is_temp(name: str) -> bool:
    low = name.lower()
    return (
        low in TEMP_NAMES
        or low.startswith(TEMP_PREFIXES)
        or low.endswith(TEMP_SUFFIXES)
        or (low.startswith("~") and low.endswith("#"))
    )


def _ext_of(name: str) -> str:
    m = _EXT.search(name.lower())
    return m.group(1) if m else ""


def _archive_format(name: str, data: bytes) -> str | None:
    for magic, fmt in _MAGIC:
        if data.startswith(magic):
            return fmt
    ext = "." + _ext_of(name)
    return ext[1:] if ext in ARCHIVE_EXTS else None


def _zip_names(data: bytes) -> set[str] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return set(zf.namelist())
    except Exception:  # noqa: BLE001 - hostile bytes: not a readable zip
        return None


def content_ext(name: str, data: bytes) -> str:
    """Extension for the stored copy: by content for workbooks, else the received one."""
    if data[:4] == b"PK\x03\x04":
        names = _zip_names(data) or set()
        if "xl/vbaProject.bin" in names:
            return "xlsm"
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "content.xml" in names and "mimetype" in names:
            return "ods"
        return "zip" if names else (_ext_of(name) or "bin")
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _ext_of(name) if _ext_of(name) in ("xls", "doc", "ppt", "xlsx") else "xls"
    return _ext_of(name) or "bin"


def _is_workbook_zip(names: set[str]) -> bool:
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


def _hash_stream(f: Any) -> tuple[str, int]:
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
                    sha, size = _hash_stream(f)
                yield Entry(
                    path,
                    sha,
                    size,
                    when,
                    _ext_of(base) or "bin",
                    verdict=verdict("FILE_TOO_LARGE", size=size, limit=safety.MAX_FILE_BYTES),
                    role="member",
                )
                continue
            with zf.open(info) as f:
                body = f.read(safety.MAX_FILE_BYTES + 1)
            sha, found = hashlib.sha256(body).hexdigest(), None
            if _unsafe(name):
                found = verdict("UNSAFE_ARCHIVE_MEMBER", member=name)
            elif _archive_format(base, body) or (
                base.lower().endswith(".zip") and not _is_workbook_zip(_zip_names(body) or set())
            ):
                found = verdict("NESTED_ARCHIVE", member=name)
            yield Entry(path, sha, len(body), when, content_ext(base, body), role="member", verdict=found, data=body)


def _attachment(rel: str, data: bytes, mtime: float) -> Iterator[Entry | Skipped]:
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


def _file(root: Path, rel: str, st: os.stat_result) -> Iterator[Entry | Skipped]:
    full = root / rel
    if st.st_size > safety.MAX_FILE_BYTES:
        with open(full, "rb") as f:
            sha, size = _hash_stream(f)
        yield Entry(
            rel,
            sha,
            size,
            st.st_mtime,
            _ext_of(rel) or "bin",
            verdict=verdict("FILE_TOO_LARGE", size=size, limit=safety.MAX_FILE_BYTES),
        )
        return
    with open(full, "rb") as f:
        data = f.read(safety.MAX_FILE_BYTES + 1)
    sha = hashlib.sha256(data).hexdigest()
    fmt = _archive_format(rel, data)
    if fmt:
        yield Entry(
            rel,
            sha,
            len(data),
            st.st_mtime,
            _ext_of(rel) or fmt,
            verdict=verdict("UNSUPPORTED_ARCHIVE", fmt=fmt),
            data=data,
        )
        return
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06") and rel.lower().endswith(".zip"):
        names = _zip_names(data)
        if names is None or not _is_workbook_zip(names):  # a real attachment (or a broken one)
            yield from _attachment(rel, data, st.st_mtime)
            return
    yield Entry(rel, sha, len(data), st.st_mtime, content_ext(rel, data), data=data)


def walk(inbox: str | os.PathLike[str], *, exclude: tuple[Path, ...] = ()) -> Iterator[Entry | Skipped]:
    """Every received file under `inbox`, in a stable order (sorted paths), never following links."""
    root = Path(inbox)
    excluded = {os.path.realpath(p) for p in exclude}
    unreadable: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable.append, followlinks=False):
        here = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            rel = (here / d).relative_to(root).as_posix()
            if os.path.realpath(here / d) in excluded:
                yield Skipped(rel + "/", "archive_dir")
            elif d.lower() in SKIP_DIRS:
                yield Skipped(rel + "/", "temp")
            elif os.path.islink(here / d):
                yield Skipped(rel + "/", "symlink")
            else:
                keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            rel = (here / name).relative_to(root).as_posix()
            try:
                st = os.lstat(here / name)
            except OSError as exc:
                yield Skipped(rel, "unreadable", exc.strerror or repr(exc))
                continue
            if stat.S_ISLNK(st.st_mode):
                yield Skipped(rel, "symlink")
            elif not stat.S_ISREG(st.st_mode):
                yield Skipped(rel, "special")
            elif is_temp(name):
                yield Skipped(rel, "temp")
            else:
                try:
                    yield from _file(root, rel, st)
                except OSError as exc:
                    yield Skipped(rel, "unreadable", exc.strerror or repr(exc))
    for err in unreadable:  # folders os.walk could not list
        where = Path(err.filename or root)
        rel = where.relative_to(root).as_posix() + "/" if where != root else "./"
        yield Skipped(rel, "unreadable", err.strerror or repr(err))
