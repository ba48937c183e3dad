"""The collection overview: one row per organisation, from the archive's index (read-only).

Used by `collect` (its summary and the status workbook) and by `xltool status --archive DIR`.

Organisation states: accepted, errors, wrong_org, wrong_year, missing (roster organisations with no
file). An organisation is `accepted` when its latest submission (arrival, then file time) is its
current accepted version; a later file (arrival, then file time) with problems shows that problem (the older accepted version
stays current). Files that belong to no roster organisation (unreadable, another format, not on the
roster) are listed as unattributed. Exit code: 0 when every organisation is accepted and no file
is unattributed, else 1 (the data needs the county's attention).
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..base.errors import XltoolError
from .archive import INDEX
from .failures import archive_errors
from .index import Index
from .orgs import org_key
from .packed import Packed
from .reconcile import PROBLEMS, order

STATE_ZH = {
    "accepted": "已接收",
    "superseded": "已被新版本替代",
    "duplicate": "重复提交（内容相同）",
    "errors": "有错误",
    "wrong_org": "用错单位模板",
    "wrong_year": "年度不符",
    "unknown_org": "名单外单位",
    "wrong_format": "模板格式不符",
    "rejected": "无法读取",
    "missing": "未报送",
}
STATE_EN = {
    "accepted": "accepted",
    "superseded": "superseded",
    "duplicate": "duplicate",
    "errors": "has errors",
    "wrong_org": "wrong organisation's template",
    "wrong_year": "wrong year",
    "unknown_org": "not on the roster",
    "wrong_format": "wrong format",
    "rejected": "unreadable",
    "missing": "missing",
}
ORG_STATES = ("accepted", "errors", "wrong_org", "wrong_year", "missing")


@dataclass
class OrgRow:
    n: int
    name: str
    code: str
    level: str
    state: str
    errors: int = 0
    warnings: int = 0
    file: str = ""  # path in the inbox of the latest submission
    file_time: float | None = None
    submissions: int = 0
    current: str | None = None  # archive path of the current accepted version
    feedback: str | None = None  # feedback workbook of the latest submission
    note_zh: str = ""
    note_en: str = ""
    contact: str = ""  # from the roster: whom to chase for a missing or faulty report
    deadline: str = ""


@dataclass
class Status:
    archive: str
    schema: str
    year: int
    roster: bool
    orgs: Sequence[OrgRow]  # packed (`Packed`) when built from the index
    files: Sequence[dict[str, Any]]  # every submission (FILE_COLUMNS), by path
    levels: dict[str, str] = field(default_factory=dict)

    @property
    def unattributed(self) -> list[dict[str, Any]]:
        return [f for f in self.files if not f["org_key"] and f["state"] in PROBLEMS]

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(o.state for o in self.orgs)
        return {s: c[s] for s in ORG_STATES if c[s] or s in ("accepted", "missing")}

    @property
    def exit_code(self) -> int:
        return 1 if any(o.state != "accepted" for o in self.orgs) or self.unattributed else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "archive": self.archive,
            "schema": self.schema,
            "year": self.year,
            "roster": self.roster,
            "counts": self.counts,
            "file_counts": dict(sorted(Counter(f["state"] for f in self.files).items())),
            "exit_code": self.exit_code,
            "organisations": [asdict(o) for o in self.orgs],
            "unattributed": [_file_dict(f) for f in self.unattributed],
            "files": [_file_dict(f) for f in self.files],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=1)

    def to_text(self, lang: str = "zh") -> str:
        zh = lang == "zh"
        names = STATE_ZH if zh else STATE_EN
        c = self.counts
        parts = (
            "，".join(f"{names[s]} {n}" for s, n in c.items())
            if zh
            else ", ".join(f"{names[s]} {n}" for s, n in c.items())
        )
        head = (
            f"{self.year}年度（{self.schema}）报送情况：{'应报' if self.roster else '收到'} {len(self.orgs)} 个单位，{parts}"
            if zh
            else f"{self.year} ({self.schema}): {len(self.orgs)} organisations, {parts}"
        )
        table = [
            ["序号", "单位名称", "状态", "错误", "警告", "文件", "说明"]
            if zh
            else ["no.", "organisation", "state", "errors", "warnings", "file", "note"]
        ]
        for o in self.orgs:
            table.append(
                [
                    str(o.n),
                    o.name,
                    names[o.state],
                    str(o.errors),
                    str(o.warnings),
                    o.file,
                    o.note_zh if zh else o.note_en,
                ]
            )
        lines = [head, ""] + _grid(table)
        if self.unattributed:
            lines += ["", "无法归属到名单单位的文件：" if zh else "files not attributed to a roster organisation:"]
            for f in self.unattributed:
                msg = (f["message_zh"] if zh else f["message_en"]) or ""
                who = f" [{f['org_name']}]" if f.get("org_name") else ""
                lines.append(
                    f"  {f['path_in_inbox']}{who}: {names[f['state']]}"
                    + (f" [{f['error_code']}] {msg}" if f["error_code"] else "")
                )
        return "\n".join(lines)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _grid(rows: list[list[str]]) -> list[str]:
    widths = [max(_width(r[c]) for r in rows) for c in range(len(rows[0]) - 1)]
    return ["  ".join(_pad(v, w) for v, w in zip(r, widths, strict=False)) + "  " + r[-1] for r in rows]


SHOWN = (  # a file's columns in the overview's JSON
    "path_in_inbox",
    "sha256",
    "state",
    "org_name",
    "org_code",
    "errors",
    "warnings",
    "error_code",
    "message_zh",
    "message_en",
    "file_mtime",
    "version",
    "is_current",
    "duplicate_of",
    "archive_path",
    "source_path",
    "feedback_path",
    "copies",
)
FILE_COLUMNS = (*SHOWN, "org_key", "level")  # and what the overview groups by


def _file_dict(f: dict[str, Any]) -> dict[str, Any]:
    return {k: f.get(k) for k in SHOWN}


def _org_row(n: int, name: str, code: str, level: str, subs: list[dict[str, Any]]) -> OrgRow:
    row = OrgRow(n, name, code, level, "missing", submissions=len(subs))
    live = [s for s in subs if s["state"] != "duplicate"]
    if not live:
        row.note_zh, row.note_en = "未收到文件", "no file received"
        return row
    latest = max(live, key=order)
    current = next((s for s in live if s["is_current"]), None)
    row.state = "accepted" if latest["state"] in ("accepted", "superseded") else latest["state"]
    row.errors, row.warnings = latest["errors"], latest["warnings"]
    row.file, row.file_time, row.feedback = latest["path_in_inbox"], latest["file_mtime"], latest["feedback_path"]
    row.current = current["archive_path"] if current else None
    if current is not None and row.state != "accepted":
        row.note_zh = f"最新文件有问题；已保留较早的已接收版本（第{current['version']}版）"
        row.note_en = f"the latest file has problems; the earlier accepted version {current['version']} is kept"
    elif current is not None and current["version"] > 1:
        row.note_zh, row.note_en = f"已更新为第{current['version']}版", f"updated to version {current['version']}"
    if row.state != "accepted" and not row.note_zh:  # the most telling problem, for the county's eye
        issues = json.loads(latest["issues_json"] or "[]")
        first = next(
            (i for i in issues if i["code"] in ("ORG_MISMATCH", "WRONG_YEAR", "YEAR_MISMATCH", "UNKNOWN_ORG")),
            next((i for i in issues if i["severity"] == "error"), None),
        )
        if first is not None:
            more = len([i for i in issues if i["severity"] == "error"]) - 1
            row.note_zh = first["message_zh"] + (f"（另有 {more} 个错误）" if more > 0 else "")
            row.note_en = first["message_en"] + (f" (and {more} more error(s))" if more > 0 else "")
    return row


def build_status(db: Index, archive: str, schema: str, year: int, levels: dict[str, str] | None = None) -> Status:
    """The overview, streamed from the index into packed rows: one organisation's submissions in
    memory at a time, whatever the size of the collection."""
    files: Packed[dict[str, Any]] = Packed(db.iter_submissions(schema, year, FILE_COLUMNS))
    roster = db.roster(schema, year)

    def subs(key: str) -> list[dict[str, Any]]:
        return list(db.iter_submissions(schema, year, (*FILE_COLUMNS, "arrived_at", "issues_json"), org_key=key))

    def rows() -> Iterator[OrgRow]:
        if roster is not None:
            for n, r in enumerate(roster, 1):
                row = _org_row(
                    n, r["name"], r["code"] or "", r["level"] or "", subs(org_key(r["name"], r["code"] or ""))
                )
                row.contact, row.deadline = r["contact"] or "", r["deadline"] or ""
                yield row
            return
        for n, key in enumerate(db.org_keys_by_name(schema, year), 1):
            mine = subs(key)
            yield _org_row(n, mine[0]["org_name"] or "", mine[0]["org_code"] or "", mine[0]["level"] or "", mine)

    orgs = Packed(rows(), lambda o: vars(o), lambda d: OrgRow(**d))
    return Status(archive, schema, year, roster is not None, orgs, files, dict(levels or {}))


def load_status(archive: str | Path, *, year: int | None = None, schema: str | None = None) -> Status:
    """The overview of one collection in an archive; the latest year (and its schema) by default."""
    path = Path(archive) / INDEX
    with archive_errors(Path(archive), path):
        return _load(archive, path, year, schema)


def _load(archive: str | Path, path: Path, year: int | None, schema: str | None) -> Status:
    try:
        db = Index(path, create=False)
    except FileNotFoundError:
        raise XltoolError(
            "NO_ARCHIVE",
            f"找不到归档索引：{path}（请先运行 collect）",
            f"no archive index at {path} (run collect first)",
            path=str(archive),
        ) from None
    with db:
        known = [(s, y) for s, y in db.collections() if (year is None or y == year) and (schema is None or s == schema)]
        if not known:
            what = f"{year}年度" if year is not None else ""
            raise XltoolError(
                "NO_COLLECTION",
                f"归档中没有{what}的收集记录",
                f"the archive has no collection{f' for {year}' if year else ''}",
                path=str(archive),
            )
        schema_, year_ = known[-1]
        levels: dict[str, str] = {}
        try:
            from ..spec.model import load_model

            levels = dict(load_model(schema_).levels)
        except XltoolError:
            pass
        return build_status(db, str(archive), schema_, year_, levels)


def local_time(ts: float | None) -> str:
    return "" if ts is None else dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")
