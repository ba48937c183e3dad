"""`collect`: read an inbox of returned workbooks into the archive, reconcile with the roster.

    result = collect(inbox, archive, roster=..., year=..., jobs=..., on_event=ProgressRenderer())
    result.exit_code   # 0 all accepted, 1 something needs the county's attention; errors that stop
                       # the run (bad arguments, unreadable roster, archive busy) raise XltoolError (2)

Steps, under the archive lock (a second collect waits `lock_wait` seconds, then ARCHIVE_BUSY):
1. walk the inbox (read-only) and store every received file by content in `sources/`;
2. read the files not read before, in worker processes, committing each result to the index;
3. record the receipts, reconcile every file of the collection (`reconcile.py`);
4. write history versions, current versions, feedback workbooks (only what changed or is absent),
   then commit the submission rows, then the status workbook.
A run killed at any point is completed by the next run; a run that finds nothing new writes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..base.errors import XltoolError
from ..check.evaluate import previous_pointers
from ..spec.identity import model_for
from ..spec.layout import build_layout
from ..spec.model import Model
from ..spec.roster import load_roster
from .archive import INDEX, Archive
from .inbox import Entry, Skipped, walk
from .index import READ_COLUMNS, Index
from .progress import Event
from .reconcile import Context, OrgRef, Orgs, Received, get, org_key, reconcile
from .status import STATE_EN, STATE_ZH, Status, build_status
from .status_workbook import status_workbook
from .tasks import feedback_task, read_task
from .workers import TRANSIENT, run_tasks

EventSink = Callable[[Event], None]


def _bad(zh: str, en: str, path: str | None = None) -> XltoolError:
    return XltoolError("BAD_ARGUMENT", zh, en, path=path)


@dataclass
class CollectResult:
    archive: str
    inbox: str
    schema: str
    year: int
    status: Status
    files: list[dict[str, Any]]  # one per received name in this inbox (zip members included)
    skipped: list[dict[str, str]]
    read: int  # files read this run (the others were already in the index)
    written: list[str] = field(default_factory=list)  # archive files written this run
    removed_temp: list[str] = field(default_factory=list)  # leftovers of a killed run, swept

    @property
    def exit_code(self) -> int:
        return 1 if self.status.exit_code or any(s["reason"] == "unreadable" for s in self.skipped) else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "archive": self.archive,
            "inbox": self.inbox,
            "schema": self.schema,
            "year": self.year,
            "exit_code": self.exit_code,
            "read": self.read,
            "written": self.written,
            "removed_temp": self.removed_temp,
            "files": self.files,
            "skipped": self.skipped,
            "status": self.status.as_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=1)

    def summary(self, lang: str = "zh") -> str:
        """The overview (same as `xltool status`), what this run did, the files skipped."""
        zh = lang == "zh"
        c = Counter(f["state"] for f in self.files)
        names = STATE_ZH if zh else STATE_EN
        done = (
            f"本次处理 {len(self.files)} 个文件（新读取 {self.read} 个，写入 {len(self.written)} 个归档文件）："
            if zh
            else f"this run: {len(self.files)} file(s) ({self.read} read, {len(self.written)} archive file(s) written): "
        )
        done += ("，" if zh else ", ").join(f"{names[s]} {n}" for s, n in sorted(c.items()))
        lines = [self.status.to_text(lang), "", done]
        if self.skipped:
            lines.append(
                ("已跳过：" if zh else "skipped: ") + "; ".join(f"{s['path']} ({s['reason']})" for s in self.skipped)
            )
        return "\n".join(lines)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _resolve_model(schema: str | None, year: int | None) -> Model:
    return model_for(schema, year)  # the one year rule of every command (range and format)


class _Run:
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
        self.started = _now()
        self.facts = db.read_facts(model.name, strict)
        self.written: list[str] = []
        self.read = 0

    def scan(self) -> tuple[list[Entry], list[Skipped]]:
        entries, skipped = [], []
        for item in walk(self.inbox, exclude=(self.store.root,)):
            if isinstance(item, Skipped):
                skipped.append(item)
                self.emit(Event("skip", path=item.path, code=item.reason))
                continue
            if item.data is not None:
                _rel, new = self.store.store_source(item.sha256, item.ext, item.data)
                if new:
                    self.written.append(_rel)
            entries.append(dataclasses.replace(item, data=None))
        self.emit(Event("scan", total=len(entries)))
        return entries, skipped

    def _key(self, sha: str) -> dict[str, Any]:
        return {"sha256": sha, "schema": self.model.name, "strict": int(self.strict)}

    def read_all(self, entries: list[Entry]) -> None:
        """Read every content not read before (by sha256); verdicts of the inbox walk are results too."""
        todo: dict[str, Entry] = {}
        for e in entries:
            fact = self.facts.get(e.sha256)
            if e.role == "attachment" or (fact is not None and fact["error_code"] not in TRANSIENT) or e.sha256 in todo:
                continue
            if e.verdict is not None or self.store.source_for(e.sha256) is None:
                v = e.verdict
                row = {
                    **self._key(e.sha256),
                    "ok": 0,
                    "error_code": v.code if v else "SOURCE_MISSING",
                    "message_zh": v.message_zh if v else "原文件未保存",
                    "message_en": v.message_en if v else "source not stored",
                    "details_json": json.dumps(v.details if v else {}, ensure_ascii=False, default=str),
                    "issues_json": "[]",
                    "errors": 0,
                    "warnings": 0,
                    "read_at": self.started,
                }
                self._put(row)
                continue
            todo[e.sha256] = e
        tasks = [
            {
                "sha256": sha,
                "path": str(self.store.abs(self.store.source_for(sha) or "")),
                "name": e.name,
                "schema": self.model.source_path or self.model.name,
                "strict": self.strict,
            }
            for sha, e in todo.items()
        ]
        total = len(tasks)
        if total or not self.read:
            self.emit(Event("start", total=total))
        names = {sha: e.path for sha, e in todo.items()}

        def done(task: dict[str, Any], result: dict[str, Any]) -> None:
            row = {
                "issues_json": "[]",
                "errors": 0,
                "warnings": 0,
                "read_at": _now(),
                **result,
                **self._key(task["sha256"]),
            }
            if "details" in row:
                row["details_json"] = json.dumps(row.pop("details"), ensure_ascii=False, default=str)
            self._put(row)
            self.read += 1
            self.emit(
                Event(
                    "file",
                    path=names[task["sha256"]],
                    done=self.read,
                    total=total,
                    code=row.get("error_code") or "",
                    errors=row["errors"],
                    warnings=row["warnings"],
                )
            )

        run_tasks(self.read_fn, tasks, on_done=done, jobs=self.jobs, timeout=self.timeout)

    def _put(self, row: dict[str, Any]) -> None:
        row = {c: row.get(c) for c in READ_COLUMNS}
        self.db.put_read(row)
        self.facts[row["sha256"]] = {k: v for k, v in row.items() if k != "report_json"}

    def infer_year(self, entries: list[Entry]) -> int:
        years: Counter[int] = Counter()
        for e in {e.sha256: e for e in entries}.values():
            fact = self.facts.get(e.sha256)
            if fact and fact["ok"]:
                ident, filled = json.loads(fact["identity_json"] or "{}"), json.loads(fact["filled_json"] or "{}")
                for value in (ident.get("year"), filled.get("year")):
                    if str(value or "").strip().isdigit():
                        years[int(str(value).strip())] += 1
                        break
        if not years:
            raise XltoolError(
                "NO_YEAR",
                "收件目录中没有可读取的报告，无法确定年度；请用 --year 指定",
                "no readable report in the inbox to tell the year from; pass --year",
                path=str(self.inbox),
            )
        return max(years.items(), key=lambda kv: (kv[1], kv[0]))[0]

    def write(self, rel: str, data: bytes) -> None:
        if self.store.write_if_changed(rel, data):
            self.written.append(rel)
            self.emit(Event("write", path=rel))


def _received(db: Index, store: Archive, schema: str, year: int) -> list[Received]:
    by_sha: dict[str, list[dict[str, Any]]] = {}
    for r in db.receipts(schema, year):
        if r["role"] != "attachment":
            by_sha.setdefault(r["sha256"], []).append(r)
    return [
        Received(
            sha,
            tuple(sorted(r["path"] for r in rs)),
            rs[0]["size"],
            min(r["mtime"] for r in rs),
            min(r["arrived_at"] for r in rs),
            store.source_for(sha),
        )
        for sha, rs in sorted(by_sha.items())
    ]


def _previous(db: Index, model: Model, year: int) -> list[tuple[str, str, dict[str, Any]]]:
    wanted = previous_pointers(model)
    out = []
    for r in db.currents(year - 1):
        text = db.report_json(r["sha256"], r["schema"])
        if text:
            report = json.loads(text)
            out.append((r["org_name"] or "", r["org_code"] or "", {p: get(report, p) for p in wanted}))
    return out


def _write_outputs(run: _Run, rows: list[dict[str, Any]], schema: str, year: int) -> None:
    """History first, then current versions (a kill in between loses nothing), then feedback."""
    db, store = run.db, run.store
    for row in sorted(rows, key=lambda r: (r["is_current"], r["archive_path"] or "")):
        if row["archive_path"]:
            text = db.report_json(row["sha256"], schema)
            assert text is not None
            if row["is_current"]:
                _keep_unknown(run, row, rows)
            run.write(row["archive_path"], text.encode("utf-8"))
    tasks = []
    for row in rows:
        if row["feedback_path"] and not store.abs(row["feedback_path"]).exists() and row["source_path"]:
            title = f"{row['org_name'] or ''}（{row['file_name']}）：{STATE_ZH[row['state']]}"
            tasks.append(
                {
                    "sha256": row["sha256"],
                    "source": str(store.abs(row["source_path"])),
                    "out": str(store.abs(row["feedback_path"])),
                    "issues": json.loads(row["issues_json"]),
                    "title": title,
                }
            )
    by_sha = {r["sha256"]: r for r in rows}

    def done(task: dict[str, Any], result: dict[str, Any]) -> None:
        if result.get("ok"):
            run.written.append(by_sha[task["sha256"]]["feedback_path"])
            run.emit(Event("write", path=by_sha[task["sha256"]]["feedback_path"]))

    run_tasks(feedback_task, tasks, on_done=done, jobs=run.jobs, timeout=run.timeout)
    for row in rows:  # a feedback file that could not be written is not referenced
        if row["feedback_path"] and not store.abs(row["feedback_path"]).exists():
            row["feedback_path"] = None


def _keep_unknown(run: _Run, row: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """Never overwrite a current file whose content the index does not know (edited by hand?)."""
    path = run.store.abs(row["archive_path"])
    if not path.is_file():
        return
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest == row["json_sha256"] or any(r["json_sha256"] == digest for r in rows):
        return
    stem = Path(row["archive_path"]).stem
    run.write(f"{row['schema']}/{row['year']}/history/{stem}/unindexed-{digest[:8]}.json", data)


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
    benchmarks): a picklable replacement for `collect_tasks.read_task`."""
    emit = on_event or (lambda e: None)
    src, root = Path(inbox), Path(archive)
    if not src.is_dir():
        raise _bad(f"收件目录不存在或不是文件夹：{src}", f"the inbox is not a folder: {src}", str(src))
    if src.resolve() == root.resolve() or root.resolve() in src.resolve().parents:
        raise _bad("收件目录不能位于归档目录之内", "the inbox must not be inside the archive", str(src))
    if jobs is not None and jobs < 1:
        raise _bad(f"--jobs 应为正整数（{jobs}）", f"--jobs must be a positive integer ({jobs})")
    model = _resolve_model(schema, year)
    orgs = load_roster(roster, model.levels) if roster is not None else None
    store = Archive(root)
    with store.lock(lock_wait):
        removed = store.sweep_temp()
        with Index(store.abs(INDEX)) as db:
            run = _Run(src, store, db, model, strict, emit, jobs, timeout, read_fn)
            entries, skipped = run.scan()
            run.read_all(entries)
            year = year if year is not None else run.infer_year(entries)
            db.add_receipts(
                [
                    {
                        "schema": model.name,
                        "year": year,
                        "path": e.path,
                        "sha256": e.sha256,
                        "size": e.size,
                        "mtime": e.mtime,
                        "role": e.role,
                        "arrived_at": run.started,
                    }
                    for e in entries
                ]
            )
            received = _received(db, store, model.name, year)
            missing = [Entry(r.paths[0], r.sha256, r.size, r.mtime, "") for r in received if r.sha256 not in run.facts]
            run.read_all(missing)  # files of the collection never read with these settings (e.g. --strict)
            if orgs is not None:
                db.set_roster(
                    model.name,
                    year,
                    [
                        {
                            "schema": model.name,
                            "year": year,
                            "row": o.row,
                            "name": o.name,
                            "code": o.code,
                            "level": o.level,
                            "contact": o.contact,
                            "deadline": o.deadline,
                        }
                        for o in orgs
                    ],
                )
            stored = db.roster(model.name, year)
            refs = (
                None
                if stored is None
                else [
                    OrgRef(org_key(r["name"], r["code"] or ""), r["name"], r["code"] or "", r["level"] or "", r["row"])
                    for r in stored
                ]
            )
            ctx = Context(
                model.name,
                year,
                model,
                build_layout(model),
                Orgs(refs),
                _previous(db, model, year),
                lambda sha: json.loads(db.report_json(sha, model.name) or "{}"),
            )
            rows, new_stems = reconcile(
                ctx, received, run.facts, db.submissions(model.name, year), db.stems(model.name, year), refs
            )
            _write_outputs(run, rows, model.name, year)
            db.save(model.name, year, rows, new_stems)
            status = build_status(db, str(root), model.name, year, dict(model.levels))
            run.write(Archive.status_path(year), status_workbook(status))
    by_sha = {r["sha256"]: r for r in rows}
    files = []
    for e in entries:
        if e.role == "attachment":
            continue
        r = by_sha[e.sha256]
        files.append(
            {
                "path": e.path,
                "sha256": e.sha256,
                "state": r["state"],
                "org_name": r["org_name"],
                "errors": r["errors"],
                "warnings": r["warnings"],
                "error_code": r["error_code"],
                "message_zh": r["message_zh"],
                "copy_of": r["path_in_inbox"] if r["path_in_inbox"] != e.path else None,
                "feedback": r["feedback_path"],
            }
        )
    result = CollectResult(
        str(root),
        str(src),
        model.name,
        year,
        status,
        files,
        [{"path": s.path, "reason": s.reason} for s in skipped],
        run.read,
        run.written,
        removed,
    )
    counts = "，".join(f"{STATE_ZH[k]} {n}" for k, n in status.counts.items())
    emit(Event("done", message=f"收集完成（{year}年度）：{counts}；无法归属的文件 {len(status.unattributed)} 个"))
    return result
