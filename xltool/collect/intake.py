"""Take an inbox in: store every received file by content and read what is new, overlapped.

The walk stores each file in `sources/` and hands it to the worker processes as soon as it is
found, so reading starts with the first file, not after the whole inbox is scanned. Each result is
committed to the index as it arrives and not kept: during the intake the parent holds the
received names packed (`Packed`: a few dozen bytes a name) and the contents in flight, never a
file's bytes or read result. Whether a content needs reading is asked of the index, one content at
a time, not held for the whole collection.

A content is read again only when its last read failed transiently (worker crash, timeout) or was
made by another reader (xltool version or schema digest): a cached verdict never outlives the
code or the schema that gave it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from ..base.clock import utc_now_precise
from ..base.version import __version__
from ..spec.model import Model
from .archive import Archive
from .inbox import Entry, Skipped, walk
from .index import READ_COLUMNS, Index
from .packed import Packed
from .progress import Event
from .tasks import read_task
from .workers import TRANSIENT, run_tasks

EventSink = Callable[[Event], None]


class Seen(NamedTuple):
    """One received name (a file, or a member of a zip attachment) once its bytes are stored."""

    path: str
    sha256: str
    size: int
    mtime: float
    role: str  # file | member | attachment


def reader_of(model: Model) -> str:
    """What a cached read depends on besides the file's bytes: the code and the exact schema."""
    return f"{__version__}/{model.digest}"


class Intake:
    def __init__(
        self,
        inbox: Path,
        store: Archive,
        db: Index,
        model: Model,
        strict: bool,
        emit: EventSink,
        jobs: int | None,
        timeout: float | None,
        read_fn: Callable[[dict[str, Any]], dict[str, Any]] | None,
    ) -> None:
        self.inbox, self.store, self.db, self.model, self.strict, self.emit = inbox, store, db, model, strict, emit
        self.jobs, self.timeout, self.read_fn = jobs, timeout, read_fn or read_task
        self.started = utc_now_precise()
        self.reader = reader_of(model)
        self.entries: Packed[Seen] = Packed(decode=lambda v: Seen(*v))
        self.skipped: list[Skipped] = []
        self.written: Packed[str] = Packed()
        self.read = 0
        self._queued = 0  # contents handed to the workers this run
        self._inflight: set[str] = set()  # handed to the workers, result not in yet
        self._failed: set[str] = set()  # read this run, transiently failed: not again until the next run

    def _key(self, sha: str) -> dict[str, Any]:
        return {"sha256": sha, "schema": self.model.name, "strict": int(self.strict), "reader": self.reader}

    def needs_read(self, sha: str) -> bool:
        """Never read by this reader, or its last read failed transiently in an earlier run."""
        if sha in self._inflight or sha in self._failed:
            return False
        code = self.db.read_code(sha, self.model.name, self.strict, self.reader)
        return code is None or code in TRANSIENT

    def _task(self, e: Entry | Seen, verdict: Any = None) -> dict[str, Any] | None:
        """The read task of a received name, or None: known already, an attachment, or a verdict
        decided by the walk (stored as a read result at once)."""
        if e.role == "attachment" or not self.needs_read(e.sha256):
            return None
        source = self.store.source_for(e.sha256)
        if verdict is not None or source is None:
            self._put(
                {
                    **self._key(e.sha256),
                    "ok": 0,
                    "error_code": verdict.code if verdict else "SOURCE_MISSING",
                    "message_zh": verdict.message_zh if verdict else "原文件未保存",
                    "message_en": verdict.message_en if verdict else "source not stored",
                    "details_json": json.dumps(verdict.details if verdict else {}, ensure_ascii=False, default=str),
                    "read_at": self.started,
                }
            )
            return None
        self._queued += 1
        self._inflight.add(e.sha256)
        name = e.path.rsplit("/", 1)[-1]
        return {
            "sha256": e.sha256,
            "path": str(self.store.abs(source)),
            "name": name,
            "shown": e.path,
            "schema": self.model.source_path or self.model.name,
            "strict": self.strict,
        }

    def _walk(self) -> Iterator[dict[str, Any]]:
        files = 0
        for item in walk(self.inbox, exclude=(self.store.root,)):
            if isinstance(item, Skipped):
                self.skipped.append(item)
                self.emit(Event("skip", path=item.path, code=item.reason))
                continue
            if item.data is not None:
                rel, new = self.store.store_source(item.sha256, item.ext, item.data)
                if new:
                    self.written.append(rel)
            self.entries.append(Seen(item.path, item.sha256, item.size, item.mtime, item.role))
            files += item.role != "attachment"  # a zip is not a file
            task = self._task(item, item.verdict)
            if task is not None:
                yield task
        self.emit(Event("scan", total=files))

    def take_in(self) -> None:
        """Walk the inbox and read what is new, at the same time."""
        self.emit(Event("start"))
        self._read(self._walk())

    def read_more(self, received: Iterable[tuple[str, str]]) -> None:
        """Read contents of the collection never read by this reader ((path, sha256) pairs)."""
        tasks = [t for p, sha in received if (t := self._task(Seen(p, sha, 0, 0.0, "file"))) is not None]
        if tasks:
            self.emit(Event("start", total=len(tasks)))
            self._read(tasks)

    def done_reading(self) -> None:
        """Drop what reading remembers of this run (contents whose read failed transiently)."""
        self._failed = set()

    def _read(self, tasks: Iterable[dict[str, Any]]) -> None:
        def done(task: dict[str, Any], result: dict[str, Any]) -> None:
            row = {"issues_json": "[]", "errors": 0, "warnings": 0, "read_at": utc_now_precise(), **result}
            row.update(self._key(task["sha256"]))
            if "details" in row:
                row["details_json"] = json.dumps(row.pop("details"), ensure_ascii=False, default=str)
            self._put(row)
            self._inflight.discard(task["sha256"])
            if not row.get("ok") and (row.get("error_code") or "") in TRANSIENT:
                self._failed.add(task["sha256"])
            self.read += 1
            self.emit(
                Event(
                    "file",
                    path=task["shown"],
                    done=self.read,
                    total=self._queued,
                    code=row.get("error_code") or "",
                    errors=row["errors"],
                    warnings=row["warnings"],
                )
            )

        run_tasks(self.read_fn, tasks, on_done=done, jobs=self.jobs, timeout=self.timeout)

    def _put(self, row: dict[str, Any]) -> None:
        self.db.put_read({c: row.get(c) for c in READ_COLUMNS})
