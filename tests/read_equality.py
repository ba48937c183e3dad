"""Every workbook the test suite reads goes through both xlsx engines: the lxml stream (what users
get) and the openpyxl reference. `install` wraps the reader so that each read compares the two,
report for report and issue for issue (or the same refusal), and fails the test that made the file
when they differ: speed may never change a verdict."""

from __future__ import annotations

import json
from typing import Any

from xltool.base.errors import InputFileError
from xltool.read import reader
from xltool.read.cells import SourceError, open_source
from xltool.read.stream import StreamSource


def verdict(outcome: Any) -> Any:
    """What a read decides: the report (without its read time) and the issues, or the refusal's code
    (not which sheet it names: openpyxl fails on a broken sheet while loading, before it knows which
    one the reader wanted; the stream names it)."""
    if isinstance(outcome, InputFileError):
        return ("refused", outcome.code)
    if isinstance(outcome, SourceError):
        return ("unreadable",)
    report = dict(outcome.report)
    report["_meta"] = {k: v for k, v in report["_meta"].items() if k != "read_at"}
    return json.dumps(report, ensure_ascii=False, sort_keys=True, default=repr), outcome.issues


def _attempt(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except (InputFileError, SourceError) as exc:
        return exc


def install(monkeypatch: Any) -> None:
    original_read, original_open = reader._read, reader.open_source

    def reference(sniffed: Any, model: Any, strict: bool, level: Any) -> Any:
        try:
            source = original_open(sniffed.data, sniffed.kind, reference=True)
        except SourceError as exc:
            return exc
        try:
            return _attempt(original_read, sniffed, source, model, strict, level)
        finally:
            source.close()

    def checked_read(sniffed: Any, source: Any, model: Any, strict: bool, level: Any) -> Any:
        fast = _attempt(original_read, sniffed, source, model, strict, level)
        if isinstance(source, StreamSource):
            ref = reference(sniffed, model, strict, level)
            assert verdict(fast) == verdict(ref), f"stream and openpyxl reference differ on {sniffed.path}"
        if isinstance(fast, Exception):
            raise fast
        return fast

    def checked_open(data: bytes, kind: str, *, reference: bool = False, **options: Any) -> Any:
        try:
            return original_open(data, kind, reference=reference, **options)
        except SourceError:
            if kind in ("xlsx", "xlsm") and not reference:  # refused on opening: openpyxl must refuse too
                ref = _attempt(lambda: original_open(data, kind, reference=True))
                if not isinstance(ref, SourceError):
                    ref.close()
                    raise AssertionError("the stream could not open a workbook openpyxl opens") from None
            raise

    monkeypatch.setattr(reader, "_read", checked_read)
    monkeypatch.setattr(reader, "open_source", checked_open)


__all__ = ["install", "open_source", "verdict"]
