"""The archive folder: plain files a person can browse, written atomically and only when changed.

Layout (DESIGN §8)::

    DIR/.lock                                     advisory lock (fcntl.flock) held by a running collect
    DIR/index.sqlite                              the index (see archive_index.py)
    DIR/sources/<sha256>.<ext>                    every received file, by content; never overwritten
    DIR/<schema>/<year>/<organisation>.json       the current accepted report of each organisation
    DIR/<schema>/<year>/history/<organisation>/<n>-<sha8>.json   earlier accepted versions (n = 1, 2, …)
    DIR/feedback/<year>/<organisation>-<sha8>-反馈.xlsx          to send back now: one per problem still open
    DIR/feedback/<year>/outdated/…-反馈.xlsx       feedback that no longer applies (not to be sent)
    DIR/status-<year>.xlsx                        the status workbook for the county

Every file is written atomically (temp file in the same folder, rename) and only when its bytes
differ; `sync()` makes the files written since the last call durable at once (`durable.py`), and
is called before the index commit that refers to them: a run killed at any point (or a power cut)
leaves at worst an unreferenced file (which the rerun finds equal and keeps, or different and
rewrites) or a `.tmp-*` file (swept by the next run under the lock).

Paths are never taken from the index as they are: every one is re-derived (organisation stems are
re-checked as safe file names) and `abs` refuses any path that would leave the archive folder.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..base.errors import XltoolError
from ..base.files import TEMP_PREFIX, replace_with
from ..base.text import safe_filename
from .durable import sync_files, write_unsynced
from .packed import Packed

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: msvcrt byte-range lock on the same file
    fcntl = None  # type: ignore[assignment]
    import msvcrt

LOCK = ".lock"
INDEX = "index.sqlite"
SOURCES = "sources"
HISTORY = "history"
FEEDBACK = "feedback"
OUTDATED = "outdated"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ArchiveBusy(XltoolError):
    """Another collect holds the archive lock."""


def safe_stem(stem: str) -> bool:
    """Whether a stem (from the index) is one `org_stem` could have made: a plain file name."""
    return bool(stem) and stem == safe_filename(stem, max_len=80) and stem not in (".", "..")


def org_stem(name: str, key: str, taken: set[str]) -> str:
    """File stem of an organisation: its safe name, plus a short hash of its key on a collision."""
    stem = safe_filename(name or key, max_len=70)
    if stem.lower() in taken:
        stem = f"{stem}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:8]}"
    taken.add(stem.lower())
    return stem


def _content(stem: str) -> str | bytes:
    """A stored source's key: a SHA-256 in hex as its bytes (half the memory), any other name as it is."""
    return bytes.fromhex(stem) if _SHA256.fullmatch(stem) else stem


class Archive:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        # the stored sources, listed once a run: content -> what follows the hash in the file name,
        # a hash as its 32 bytes and the extensions shared (~0.1 KiB a content instead of ~0.3)
        self._sources: dict[str | bytes, str] | None = None
        self._unsynced: Packed[str] = Packed()  # written since the last `sync()`

    # -- paths (relative to the root, "/"-separated: they go into the index and the status workbook)

    @staticmethod
    def current_path(schema: str, year: int, stem: str) -> str:
        return f"{schema}/{year}/{stem}.json"

    @staticmethod
    def history_path(schema: str, year: int, stem: str, version: int, sha256: str) -> str:
        return f"{schema}/{year}/{HISTORY}/{stem}/{version}-{sha256[:8]}.json"

    @staticmethod
    def feedback_path(year: int, stem: str, sha256: str) -> str:
        return f"{FEEDBACK}/{year}/{stem}-{sha256[:8]}-反馈.xlsx"

    @staticmethod
    def status_path(year: int) -> str:
        return f"status-{year}.xlsx"

    def abs(self, rel: str) -> Path:
        """The file `rel` of the archive; a path that would lead outside it is refused."""
        path = self.root / rel
        if not rel or os.path.isabs(rel) or "\\" in rel or ".." in rel.split("/"):
            raise XltoolError(
                "ARCHIVE_PATH_UNSAFE",
                f"归档中的路径“{rel}”会指向归档目录之外，已拒绝；归档索引可能被改动过",
                f"the archive path '{rel}' would lead outside the archive; refused (was the index edited?)",
                path=str(self.root),
            )
        return path

    # -- writing

    def write_if_changed(self, rel: str, data: bytes) -> bool:
        """Write `data` to `rel` atomically unless the file already holds exactly these bytes."""
        target = self.abs(rel)
        try:
            if target.stat().st_size == len(data) and target.read_bytes() == data:
                return False
        except FileNotFoundError:
            pass
        self._write(target, data)
        return True

    def write_with(self, rel: str, write: Callable[[Path], None]) -> bool:
        """`write_if_changed` for a file a library writes to a path (the status workbook): streamed
        to a temp file and compared with the current one, never held whole in memory."""
        target = self.abs(rel)
        if not replace_with(target, write, unless_same=True):
            return False
        self._unsynced.append(str(target))
        return True

    def _write(self, target: Path, data: bytes) -> None:
        write_unsynced(target, data)
        self._unsynced.append(str(target))

    def sync(self) -> None:
        """Make every file written since the last call durable (before an index commit names them)."""
        if self._unsynced:
            sync_files(map(Path, self._unsynced))
            self._unsynced = Packed()

    def source_for(self, sha256: str) -> str | None:
        """The stored copy of a received file, whatever extension it was stored with."""
        if self._sources is None:  # one listing per run, not one glob per file
            self._sources = {}
            folder = self.root / SOURCES
            names = sorted(os.listdir(folder)) if folder.is_dir() else []
            for name in names:
                if not name.startswith(TEMP_PREFIX) and "." in name:
                    stem, ext = name.split(".", 1)
                    self._sources.setdefault(_content(stem), sys.intern(ext))
        found = self._sources.get(_content(sha256))
        return None if found is None else f"{SOURCES}/{sha256}.{found}"

    def forget_sources(self) -> None:
        """Drop the listing of stored sources (a path per content; listed again when asked)."""
        self._sources = None

    def store_source(self, sha256: str, ext: str, data: bytes) -> tuple[str, bool]:
        """Keep a received file by content; an existing copy is never rewritten. (path, written)."""
        existing = self.source_for(sha256)
        if existing is not None and self.abs(existing).stat().st_size == len(data):
            return existing, False
        rel = f"{SOURCES}/{sha256}.{ext or 'bin'}"
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError(f"content does not match its hash {sha256}")
        self._write(self.abs(rel), data)
        assert self._sources is not None
        self._sources[_content(sha256)] = sys.intern(ext or "bin")
        return rel, True

    def sweep_temp(self) -> list[str]:
        """Remove temp files a killed run left behind (only ours: `.tmp-*` inside the archive)."""
        removed: list[str] = []
        if not self.root.is_dir():
            return removed
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(TEMP_PREFIX):
                    path = Path(dirpath) / name
                    path.unlink(missing_ok=True)
                    removed.append(path.relative_to(self.root).as_posix())
        return sorted(removed)

    # -- the lock

    @contextmanager
    def lock(self, wait: float = 5.0) -> Iterator[None]:
        """Hold the archive's lock; wait up to `wait` seconds for another collect, then refuse."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    if fcntl is not None:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    else:  # pragma: no cover
                        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK):
                        raise
                    if time.monotonic() >= deadline:
                        raise ArchiveBusy(
                            "ARCHIVE_BUSY",
                            f"归档目录正被另一个收集任务使用（已等待 {wait:g} 秒），请待其完成后再运行",
                            f"the archive is in use by another collect (waited {wait:g} s); run again when it has finished",
                            path=str(self.root),
                        ) from None
                    time.sleep(0.1)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock
