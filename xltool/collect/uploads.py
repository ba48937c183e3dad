"""Single uploads (the web portal) into the archive, through exactly the code `collect` uses.

An upload is first read in a worker process (the same `read_task`, gate, time and memory bounds)
only to decide whether it may enter the archive at all: not a workbook, hostile, or a file that
`collect` would attribute to another organisation than the one uploading it is refused and nothing
is stored. Accepted uploads are written, under names chosen here (never the uploaded name), into a
fresh inbox folder outside the archive and collected with `collect.run.collect` (lock, sources,
index, states, history, feedback, status workbook). The verdict is then read back from the index.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..spec.model import Model
from .archive import INDEX
from .index import Index
from .orgs import OrgRef, Orgs, org_key
from .result import CollectResult
from .run import collect
from .tasks import read_task
from .workers import run_tasks

UPLOAD_EXTS = ("xlsx", "xlsm", "xls", "ods")


@dataclass
class Upload:
    """One received file: bytes and the organisation whose private link it came through."""

    org: OrgRef
    data: bytes
    sha256: str
    ext: str  # one of UPLOAD_EXTS (from the uploaded name's suffix; the gate sniffs the bytes anyway)
    received: float = field(default_factory=time.time)
    refused: dict[str, Any] | None = None  # why it did not enter the archive
    path: str = ""  # its name in the inbox handed to collect


def attributed(read: dict[str, Any], roster: list[OrgRef]) -> OrgRef | None:
    """The organisation `collect` attributes a successful read to (mirrors `classify.classify`)."""
    ident = json.loads(read.get("identity_json") or "{}")
    filled = json.loads(read.get("filled_json") or "{}")
    codes = {i["code"] for i in json.loads(read.get("issues_json") or "[]")}
    orgs = Orgs(roster)
    tmpl = orgs.find(ident.get("org_name"), ident.get("org_code"))
    mine = orgs.find(filled.get("org_name"), filled.get("org_code"))
    if "ORG_MISMATCH" in codes:
        return mine or tmpl
    return tmpl if (ident.get("org_name") or ident.get("org_code")) else mine


def _refusal(code: str, zh: str, en: str) -> dict[str, Any]:
    return {"error_code": code, "message_zh": zh, "message_en": en}


def precheck(uploads: list[Upload], model: Model, roster: list[OrgRef], workdir: Path, timeout: float) -> None:
    """Read every upload in worker processes; mark those that must not enter the archive. The
    reads are kept in `workdir/reads/<sha256>.json` for `reuse_read` (read once, not twice)."""
    (workdir / "reads").mkdir(exist_ok=True)
    tasks = []
    for i, up in enumerate(uploads):
        path = workdir / f"check-{i}.{up.ext}"
        path.write_bytes(up.data)
        name = up.path.rsplit("/", 1)[-1]  # the name collect will see, so the report's _meta is the same
        tasks.append({"i": i, "path": str(path), "name": name, "schema": model.source_path or model.name})
    results: dict[int, dict[str, Any]] = {}

    def done(task: dict[str, Any], result: dict[str, Any]) -> None:
        results[task["i"]] = result

    run_tasks(read_task, [{**t, "strict": False} for t in tasks], on_done=done, jobs=None, timeout=timeout)
    for i, up in enumerate(uploads):
        res = results[i]
        if not res.get("ok"):
            up.refused = _refusal(res.get("error_code") or "UNREADABLE", res["message_zh"], res["message_en"])
            continue
        org = attributed(res, roster)
        if org is None or org.key != up.org.key:
            who = org.name if org is not None else "（名单外单位）"
            up.refused = _refusal(
                "NOT_YOUR_FILE",
                f"此文件属于“{who}”，不是本单位（{up.org.name}）的报告，未接收；请使用下发给本单位的模板",
                f"this file belongs to '{who}', not to {up.org.name}; not accepted: use the template issued to you",
            )
            continue
        cached = workdir / "reads" / f"{up.sha256}.json"
        if not cached.exists():
            cached.write_text(json.dumps(res, ensure_ascii=False), encoding="utf-8")


def reuse_read(reads: str, task: dict[str, Any]) -> dict[str, Any]:
    """`collect`'s read step for portal uploads (in its worker): the `read_task` result the check
    computed for these very bytes, under the same name; `read_task` itself for anything else."""
    try:
        return dict(json.loads((Path(reads) / f"{task['sha256']}.json").read_text(encoding="utf-8")))
    except FileNotFoundError:
        return read_task(task)


def collect_uploads(
    uploads: list[Upload],
    archive: Path,
    *,
    model: Model,
    year: int,
    roster_path: Path | None,
    roster: list[OrgRef],
    lock_wait: float = 600.0,
    timeout: float = 60.0,
) -> CollectResult | None:
    """Check, then collect the acceptable uploads in one run; returns None when none was acceptable."""
    with tempfile.TemporaryDirectory(prefix="xltool-portal-") as tmp:
        work = Path(tmp)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        for n, up in enumerate(uploads):
            up.path = f"门户上传/{stamp}-{n:03d}-{up.sha256[:8]}.{up.ext}"
        precheck(uploads, model, roster, work, timeout)
        inbox = work / "inbox"
        ok = [u for u in uploads if u.refused is None]
        for up in ok:
            target = inbox / up.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(up.data)
            os.utime(target, (up.received, up.received))
        if not ok:
            return None
        return collect(
            inbox,
            archive,
            roster=roster_path,
            schema=model.source_path or model.name,
            year=year,
            lock_wait=lock_wait,
            timeout=timeout,
            read_fn=functools.partial(reuse_read, str(work / "reads")),
        )


def org_refs(rows: list[dict[str, Any]]) -> list[OrgRef]:
    """Roster rows (name, code, level, row) as the references `reconcile` uses."""
    return [
        OrgRef(org_key(r["name"], r["code"] or ""), r["name"], r["code"] or "", r["level"] or "", r["row"])
        for r in rows
    ]


def submissions_of(archive: Path, schema: str, year: int, key: str) -> list[dict[str, Any]]:
    """Every submission of one organisation in a collection, newest first (read-only)."""
    path = archive / INDEX
    if not path.is_file():
        return []
    with Index(path, create=False) as db:
        subs = [s for s in db.submissions(schema, year).values() if s["org_key"] == key]
    return sorted(subs, key=lambda s: (s["file_mtime"] or 0, s["arrived_at"] or "", s["sha256"]), reverse=True)
