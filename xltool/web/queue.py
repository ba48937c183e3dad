"""One thread that feeds uploads to `collect`, a batch at a time.

Uploads that arrive while a collect is running (the portal's own or `xltool collect` on the same
archive, which holds the archive lock) wait in the queue and go in together in the next run, so
runs never interleave and 50 simultaneous uploads cost a few runs, not 50. The server process
never parses an upload: `collect_uploads` reads them in worker processes.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import XltoolError
from ..collect.orgs import OrgRef
from ..collect.uploads import Upload, collect_uploads
from ..spec.model import Model

MAX_BATCH = 64


@dataclass(frozen=True)
class Settings:
    archive: Path
    model: Model
    year: int
    roster_path: Path | None
    roster: list[OrgRef]
    lock_wait: float = 240.0  # how long an upload waits for another collect before ARCHIVE_BUSY
    timeout: float = 60.0  # per file, in the worker


class UploadQueue:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._items: list[tuple[Upload, Future[Upload]]] = []
        self._cv = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="xltool-portal-collect", daemon=True)
        self._thread.start()

    def submit(self, upload: Upload) -> Future[Upload]:
        fut: Future[Upload] = Future()
        with self._cv:
            if self._stop:
                raise RuntimeError("the upload queue is closed")
            self._items.append((upload, fut))
            self._cv.notify()
        return fut

    def close(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._items and not self._stop:
                    self._cv.wait()
                if self._stop and not self._items:
                    return
                batch, self._items = self._items[:MAX_BATCH], self._items[MAX_BATCH:]
            self._run(batch)

    def _run(self, batch: list[tuple[Upload, Future[Upload]]]) -> None:
        s = self.settings
        try:
            collect_uploads(
                [u for u, _ in batch],
                s.archive,
                model=s.model,
                year=s.year,
                roster_path=s.roster_path,
                roster=s.roster,
                lock_wait=s.lock_wait,
                timeout=s.timeout,
            )
        except XltoolError as exc:  # e.g. ARCHIVE_BUSY: another collect held the lock too long
            for _u, fut in batch:
                fut.set_exception(exc)
            return
        except Exception as exc:  # noqa: BLE001 - one bad batch must not stop the portal
            for _u, fut in batch:
                fut.set_exception(exc)
            return
        for up, fut in batch:
            fut.set_result(up)
