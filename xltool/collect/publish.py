"""Write what a reconciled collection shows: history and current versions, feedback workbooks.

History first, then current versions (a kill in between loses nothing), written here while the
worker processes render the feedback workbooks that are to be sent now (the two do not depend on
each other; the parent would otherwise keep the workers waiting). `feedback/<year>/` holds only those: a
feedback file that no longer applies (the organisation was accepted since, a message from a run
with another roster) is moved to `feedback/<year>/outdated/`, so "send every file in the folder"
stays true. A feedback file that cannot be written or moved is reported, never silent.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .archive import FEEDBACK, OUTDATED, Archive
from .index import Index
from .intake import Intake
from .progress import Event
from .stage import Stage
from .status import STATE_ZH
from .tasks import feedback_task
from .workers import run_tasks


def write_outputs(run: Intake, stage: Stage, schema: str, year: int) -> list[dict[str, str]]:
    """Write the archive files of the reconciled rows in `stage`; returns the feedback problems
    (path, code, messages). Rows are streamed from the stage, never all held."""
    store = run.store
    problems: list[dict[str, str]] = []
    todo = [  # (sha256, feedback path) of the feedback workbooks to render: a few per file at most
        (r["sha256"], r["feedback_path"])
        for r in stage.rows("WHERE feedback_path IS NOT NULL", columns="sha256, feedback_path, source_path")
        if r["feedback_path"] and not store.abs(r["feedback_path"]).exists() and r["source_path"]
    ]
    with_path = "WHERE archive_path IS NOT NULL AND archive_path <> ''"
    share = -(-stage.count(with_path) // (len(todo) + 1))  # versions written each time a feedback task is queued

    def feed() -> Iterator[dict[str, Any]]:
        """The feedback tasks; in between, the versions, in order, while the workers render."""
        versions = stage.rows(
            with_path,
            order="is_current, archive_path",
            columns="sha256, schema, year, is_current, archive_path, json_sha256",
        )
        for sha, _path in todo:
            yield _task(store, stage.row(sha))
            for row in itertools.islice(versions, share):
                _write_version(run, row, stage, schema)
        for row in versions:
            _write_version(run, row, stage, schema)

    paths = dict(todo)

    def done(task: dict[str, Any], result: dict[str, Any]) -> None:
        path = paths[task["sha256"]]
        if result.get("ok"):
            run.written.append(path)
            run.emit(Event("write", path=path))
        else:
            problems.append(_problem(path, result.get("error_code") or "FEEDBACK_FAILED", result))

    run_tasks(feedback_task, feed(), on_done=done, jobs=run.jobs, timeout=run.timeout)
    sent = [
        (r["sha256"], r["feedback_path"])
        for r in stage.rows("WHERE feedback_path IS NOT NULL", columns="sha256, feedback_path")
    ]
    stage.drop_feedback(
        [sha for sha, path in sent if path and not store.abs(path).exists()]
    )  # not written: not referenced
    problems += _move_outdated(run, run.db, schema, year, {p for _sha, p in sent if p and store.abs(p).exists()})
    for p in problems:
        run.emit(Event("problem", path=p["path"], code=p["code"], message=p["message_zh"]))
    return problems


def _task(store: Archive, row: dict[str, Any]) -> dict[str, Any]:
    title = f"{row['org_name'] or ''}（{row['file_name']}）：{STATE_ZH[row['state']]}"
    return {
        "sha256": row["sha256"],
        "source": str(store.abs(row["source_path"])),
        "out": str(store.abs(row["feedback_path"])),
        "issues": json.loads(row["issues_json"]),
        "title": title,
    }


def _write_version(run: Intake, row: dict[str, Any], stage: Stage, schema: str) -> None:
    text = run.db.report_json(row["sha256"], schema)
    if text is None:
        return  # its read was replaced meanwhile (another reader): written by the next run
    if row["is_current"]:
        _keep_unknown(run, row, stage)
    write_file(run, row["archive_path"], text.encode("utf-8"))


def _problem(path: str, code: str, result: dict[str, Any]) -> dict[str, str]:
    return {
        "path": path,
        "code": code,
        "message_zh": f"反馈文件未能生成：{result.get('message_zh') or code}",
        "message_en": f"feedback file not written: {result.get('message_en') or code}",
    }


def _move_outdated(run: Intake, db: Index, schema: str, year: int, current: set[str]) -> list[dict[str, str]]:
    folder = run.store.abs(f"{FEEDBACK}/{year}")
    if not folder.is_dir():
        return []
    keep = current | db.feedback_paths(year, other_than=schema)
    problems = []
    for name in sorted(os.listdir(folder)):
        rel = f"{FEEDBACK}/{year}/{name}"
        if rel in keep or not name.endswith("-反馈.xlsx") or not (folder / name).is_file():
            continue
        target = f"{FEEDBACK}/{year}/{OUTDATED}/{name}"
        try:
            run.store.abs(target).parent.mkdir(exist_ok=True)
            os.replace(run.store.abs(rel), run.store.abs(target))
        except OSError as exc:
            problems.append(
                {
                    "path": rel,
                    "code": "FEEDBACK_NOT_MOVED",
                    "message_zh": f"过期的反馈文件无法移入 {OUTDATED}/（{exc.strerror}），请勿发送",
                    "message_en": f"an outdated feedback file could not be moved to {OUTDATED}/ ({exc.strerror}); do not send it",
                }
            )
            continue
        run.written.append(target)
        run.emit(Event("write", path=target))
    return problems


def write_file(run: Intake, rel: str, data: bytes | Callable[[Path], None]) -> None:
    """Write an archive file unless it already holds the same bytes: `data`, or what a library
    writes to a path (streamed, not held in memory)."""
    written = run.store.write_with(rel, data) if callable(data) else run.store.write_if_changed(rel, data)
    if written:
        run.written.append(rel)
        run.emit(Event("write", path=rel))


def _keep_unknown(run: Intake, row: dict[str, Any], stage: Stage) -> None:
    """Never overwrite a current file whose content the index does not know (edited by hand?)."""
    path = run.store.abs(row["archive_path"])
    if not path.is_file():
        return
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest == row["json_sha256"] or stage.has_json(digest):
        return
    stem = Path(row["archive_path"]).stem
    write_file(run, f"{row['schema']}/{row['year']}/history/{stem}/unindexed-{digest[:8]}.json", data)
