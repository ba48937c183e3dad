"""Walk an inbox of returned files: read-only, deterministic, hostile-input safe.

`walk(inbox)` yields one `Entry` per received file (with its bytes, to be stored and then dropped)
or one `Skipped` per file that is not a submission (Office/WPS/LibreOffice temp and lock files,
desktop litter, symlinks, special files). Nothing in the inbox is opened for writing.

A `.zip` attachment is opened in memory after the safety gate's directory checks
(`safety.open_zip_checked`: entry count, declared sizes, ratio, encryption) and a CRC pass; its
members become entries named `attachment.zip!/member/path.xlsx`. Members are never written out
under their own names, so `..` or absolute member names cannot escape anywhere; such members, and
nested archives, are entries with a verdict (not read). `.rar`/`.7z`/… are entries with the verdict
UNSUPPORTED_ARCHIVE. Names are never trusted for identity: they are only shown to people, so a
name that is not UTF-8 (what `unzip` makes of a zip from Chinese Windows: GBK bytes) is shown
decoded as GB18030, or escaped (`\\xNN`) when that fails too; the file is read all the same.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from ..read import safety
from ..read.signatures import is_zip
from .attachments import (
    SKIP_DIRS,
    archive_format,
    attachment,
    content_ext,
    ext_of,
    hash_stream,
    is_temp,
    is_workbook_zip,
    zip_names,
)
from .received import Entry, Skipped, Verdict, verdict

__all__ = ["Entry", "Skipped", "Verdict", "walk", "is_temp", "content_ext"]


def shown(rel: str) -> str:
    """A path from the file system as people see it (os names not in UTF-8 arrive surrogate-escaped)."""
    try:
        rel.encode("utf-8")
        return rel
    except UnicodeEncodeError:
        pass
    parts = []
    for part in rel.split("/"):
        raw = part.encode("utf-8", "surrogateescape")
        try:
            parts.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            try:
                parts.append(raw.decode("gb18030"))
            except UnicodeDecodeError:
                parts.append(raw.decode("utf-8", "backslashreplace"))
    return "/".join(parts)


def _file(full: Path, rel: str, st: os.stat_result) -> Iterator[Entry | Skipped]:
    if st.st_size > safety.MAX_FILE_BYTES:
        with open(full, "rb") as f:
            sha, size = hash_stream(f)
        yield Entry(
            rel,
            sha,
            size,
            st.st_mtime,
            ext_of(rel) or "bin",
            verdict=verdict("FILE_TOO_LARGE", size=size, limit=safety.MAX_FILE_BYTES),
        )
        return
    with open(full, "rb") as f:
        data = f.read(st.st_size + 1)  # not MAX + 1: a 20 MB buffer a file fragments the heap
    sha = hashlib.sha256(data).hexdigest()
    fmt = archive_format(rel, data)
    if fmt:
        yield Entry(
            rel,
            sha,
            len(data),
            st.st_mtime,
            ext_of(rel) or fmt,
            verdict=verdict("UNSUPPORTED_ARCHIVE", fmt=fmt),
            data=data,
        )
        return
    if is_zip(data) and rel.lower().endswith(".zip"):
        names = zip_names(data)
        if names is None or not is_workbook_zip(names):  # a real attachment (or a broken one)
            yield from attachment(rel, data, st.st_mtime)
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
            rel = shown((here / d).relative_to(root).as_posix())
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
            rel = shown((here / name).relative_to(root).as_posix())
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
                    yield from _file(here / name, rel, st)
                except OSError as exc:
                    yield Skipped(rel, "unreadable", exc.strerror or repr(exc))
    for err in unreadable:  # folders os.walk could not list
        where = Path(err.filename or root)
        rel = shown(where.relative_to(root).as_posix()) + "/" if where != root else "./"
        yield Skipped(rel, "unreadable", err.strerror or repr(err))
