"""`collect`: read an inbox of returned workbooks into the archive, reconcile with the roster.

    result = collect(inbox, archive, roster=..., year=..., jobs=..., on_event=ProgressRenderer())
    result.exit_code   # 0 all accepted, 1 something needs the county's attention; errors that stop
                       # the run (bad arguments, unreadable roster, archive busy, disk full, damaged
                       # index) raise XltoolError (2)

Steps, under the archive lock (a second collect waits `lock_wait` seconds, then ARCHIVE_BUSY):
1. walk the inbox (read-only), store every received file by content in `sources/` and read the
   ones not read before in worker processes, overlapped, committing each result to the index
   (`intake.py`);
2. decide the year (`year.py`), record the receipts, reconcile every file of the collection
   (`reconcile.py`);
3. write history versions, current versions, feedback workbooks (only what changed or is absent;
   `publish.py`), then commit the submission rows, then the status workbook.
A run killed at any point is completed by the next run; a run that finds nothing new writes nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..base.errors import XltoolError
from ..check.evaluate import previous_pointers
from ..spec.identity import model_for
from ..spec.layout import build_layout
from ..spec.model import Model
from ..spec.roster import load_roster
from .archive import INDEX, Archive
from .classify import Context, get
from .failures import archive_errors
from .index import Index
from .intake import EventSink, Intake
from .orgs import OrgRef, Orgs, org_key
from .packed import Packed
from .progress import Event
from .publish import write_file, write_outputs
from .reconcile import reconcile
from .result import CollectResult
from .stage import BATCH, Stage
from .status import build_status
from .status_workbook import write_status_workbook
from .workers import TRANSIENT
from .year import decide_year

__all__ = ["CollectResult", "collect"]


def _bad(zh: str, en: str, path: str | None = None) -> XltoolError:
    return XltoolError("BAD_ARGUMENT", zh, en, path=path)


def _resolve_model(schema: str | None, year: int | None) -> Model:
    return model_for(schema, year)  # the one year rule of every command (range and format)


def _previous(db: Index, model: Model, year: int) -> list[tuple[str, str, dict[str, Any]]]:
    wanted = previous_pointers(model)
    out = []
    for r in db.currents(year - 1):
        text = db.report_json(r["sha256"], r["schema"])
        if text:
            report = json.loads(text)
            out.append((r["org_name"] or "", r["org_code"] or "", {p: get(report, p) for p in wanted}))
    return out


def _roster_rows(orgs: list[Any], schema: str, year: int) -> list[dict[str, Any]]:
    return [
        {
            "schema": schema,
            "year": year,
            "row": o.row,
            "name": o.name,
            "code": o.code,
            "level": o.level,
            "contact": o.contact,
            "deadline": o.deadline,
        }
        for o in orgs
    ]


def _collect(run: Intake, orgs: list[Any] | None, year: int | None) -> CollectResult:
    db, store, model = run.db, run.store, run.model
    run.take_in()
    store.sync()  # the stored sources are on disk before any receipt names them
    if year is None:
        year = decide_year(
            db, model.name, run.strict, {e.sha256 for e in run.entries if e.role != "attachment"}, run.inbox
        )
    receipt = ("schema", "year", "path", "sha256", "size", "mtime", "role", "arrived_at")
    db.add_receipts(dict(zip(receipt, (model.name, year, *e, run.started), strict=True)) for e in run.entries)
    stage = Stage(db, model.name, year)
    stage.receive()
    run.read_more(stage.contents(run.strict, run.reader, TRANSIENT))  # never read by this reader (e.g. --strict)
    run.done_reading()
    if orgs is not None:
        db.set_roster(model.name, year, _roster_rows(orgs, model.name, year))
    stored = db.roster(model.name, year)
    refs = None
    if stored is not None:
        refs = [
            OrgRef(org_key(r["name"], r["code"] or ""), r["name"], r["code"] or "", r["level"] or "", r["row"])
            for r in stored
        ]
    ctx = Context(
        model.name,
        year,
        model,
        build_layout(model),
        Orgs(refs),
        _previous(db, model, year),
        lambda sha: json.loads(db.report_json(sha, model.name) or "{}"),
        now=_epoch(run.started),
    )
    received = (
        ({**rec, "source_path": store.source_for(rec["sha256"])}, fact) for rec, fact in stage.with_facts(run.strict)
    )
    reconcile(ctx, received, stage, db.stems(model.name, year), refs)
    del ctx, received, refs, stored  # the roster's organisations: the overview reads them again
    problems = write_outputs(run, stage, model.name, year)
    store.forget_sources()
    store.sync()  # history and current versions are on disk before the submissions name them
    stage.save()
    files = _files(run, stage)
    stage.close()
    run.entries = Packed()  # the rest is per file in packed rows
    status = build_status(db, str(store.root), model.name, year, dict(model.levels))
    write_file(run, Archive.status_path(year), lambda path: write_status_workbook(status, path))
    store.sync()
    skipped = [{"path": s.path, "reason": s.reason} for s in run.skipped]
    return CollectResult(
        str(store.root), str(run.inbox), model.name, year, status, files, skipped, run.read, run.written, [], problems
    )


def _files(run: Intake, stage: Stage) -> Packed[dict[str, Any]]:
    """One entry per received name of this inbox (a copy of identical bytes included), packed."""
    cols = "sha256, state, org_name, errors, warnings, error_code, message_zh, path_in_inbox, feedback_path"

    def files() -> Iterator[dict[str, Any]]:
        entries = (e for e in run.entries if e.role != "attachment")
        while chunk := list(itertools.islice(entries, BATCH)):
            by_sha = {r["sha256"]: r for r in stage.lookup((e.sha256 for e in chunk), cols)}
            yield from (_file(e.path, e.sha256, by_sha[e.sha256]) for e in chunk)

    return Packed(files())


def _epoch(stamp: str) -> float:
    return dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC).timestamp()


def _file(path: str, sha: str, r: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": path,
        "sha256": sha,
        "state": r["state"],
        "org_name": r["org_name"],
        "errors": r["errors"],
        "warnings": r["warnings"],
        "error_code": r["error_code"],
        "message_zh": r["message_zh"],
        "copy_of": r["path_in_inbox"] if r["path_in_inbox"] != path else None,
        "feedback": r["feedback_path"],
    }


def collect(
    inbox: str | Path,
    archive: str | Path,
    *,
    roster: str | Path | None = None,
    schema: str | None = None,
    year: int | None = None,
    jobs: int | None = None,
    strict: bool = False,
    on_event: EventSink | None = None,
    lock_wait: float = 5.0,
    timeout: float | None = 300.0,
    read_fn: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> CollectResult:
    """Collect `inbox` into the archive `archive`; see the module docstring. `read_fn` (tests,
    benchmarks): a picklable replacement for `tasks.read_task`."""
    emit = on_event or (lambda e: None)
    src, root = Path(inbox), Path(archive)
    if not src.is_dir():
        raise _bad(f"收件目录不存在或不是文件夹：{src}", f"the inbox is not a folder: {src}", str(src))
    if root.exists() and not root.is_dir():
        raise _bad(f"归档目录不是文件夹：{root}", f"the archive is not a folder: {root}", str(root))
    if src.resolve() == root.resolve() or root.resolve() in src.resolve().parents:
        raise _bad("收件目录不能位于归档目录之内", "the inbox must not be inside the archive", str(src))
    if jobs is not None and jobs < 1:
        raise _bad(f"--jobs 应为正整数（{jobs}）", f"--jobs must be a positive integer ({jobs})")
    model = _resolve_model(schema, year)
    orgs = load_roster(roster, model.levels) if roster is not None else None  # a roster without rows: ROSTER_EMPTY
    store = Archive(root)
    with archive_errors(root, root / INDEX), store.lock(lock_wait):
        removed = store.sweep_temp()
        with Index(store.abs(INDEX)) as db:
            run = Intake(src, store, db, model, strict, emit, jobs, timeout, read_fn)
            result = _collect(run, orgs, year)
    result.removed_temp = removed
    emit(Event("done", message=result.done_line("zh"), message_en=result.done_line("en")))
    return result
