"""Default rendering of collect's progress events: a rich progress bar on a terminal, plain lines
otherwise. The CLI decides whether to use it (`--quiet`, `--json` pass no renderer)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import IO, Any

from ..base.text import printable


@dataclass(frozen=True)
class Event:
    """One step of a collect run, for a progress display or a log.

    kind: "scan" (inbox walked; total = files found), "skip" (temp/lock file; code = reason),
    "start" (reading begins; total = files to read), "file" (one file read; code = error code or
    "" when read; errors/warnings), "write" (an archive file written; path relative to the archive),
    "problem" (something the county must see, e.g. a feedback file not written; message),
    "done" (message / message_en = one-line summary). A file count of 0 in "start" means the
    number of files is not known yet (reading overlaps the inbox walk): "file" events carry the
    total known so far.
    """

    kind: str
    path: str = ""
    done: int = 0
    total: int = 0
    code: str = ""
    errors: int = 0
    warnings: int = 0
    message: str = ""
    message_en: str = ""


def _describe(e: Event, lang: str) -> str:
    if e.code:
        return e.code
    if lang == "zh":
        return (
            "读取完成" + (f"：{e.errors} 个错误" if e.errors else "") + (f"，{e.warnings} 个警告" if e.warnings else "")
        )
    return (
        "read" + (f": {e.errors} error(s)" if e.errors else "") + (f", {e.warnings} warning(s)" if e.warnings else "")
    )


class ProgressRenderer:
    """Callable event sink: `with ProgressRenderer() as on_event: collect(..., on_event=on_event)`."""

    def __init__(self, stream: IO[str] | None = None, *, tty: bool | None = None, lang: str = "zh") -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.lang = lang
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ProgressRenderer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _line(self, text: str) -> None:
        text = printable(text)  # file and organisation names come from the inbox: no terminal escapes
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream, flush=True)

    def __call__(self, e: Event) -> None:
        zh = self.lang == "zh"
        if e.kind == "scan":
            self._line(f"收件目录中找到 {e.total} 个文件" if zh else f"{e.total} file(s) found in the inbox")
        elif e.kind == "skip" and not self.tty:
            self._line(f"跳过 {e.path}（{e.code}）" if zh else f"skipped {e.path} ({e.code})")
        elif e.kind == "start":
            self.close()
            if self.tty:
                from rich.console import Console
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

                console = Console(file=self.stream, force_terminal=True)
                self._progress = Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeRemainingColumn(),
                    console=console,
                    transient=True,
                )
                self._progress.start()
                self._task = self._progress.add_task("读取" if zh else "reading", total=e.total or None)
            elif e.total:
                self._line(f"读取 {e.total} 个新文件" if zh else f"reading {e.total} new file(s)")
        elif e.kind == "file":
            if self._progress is not None:
                self._progress.update(
                    self._task, completed=e.done, total=max(e.total, e.done), description=printable(e.path[-40:])
                )
                if e.code:
                    self._line(f"{e.path}: {e.code}")
            else:
                self._line(f"[{e.done}/{e.total}] {e.path}: {_describe(e, self.lang)}")
        elif e.kind == "problem":
            self._line(f"{e.path}: [{e.code}] {e.message}")
        elif e.kind == "done":
            self.close()
            text = e.message if zh else (e.message_en or e.message)
            if text:
                self._line(text)
