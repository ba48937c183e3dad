"""The status workbook for the county (`DIR/status-<year>.xlsx`), written with xlsxwriter.

Sheet 报送情况: one row per roster organisation (state, error and warning counts, the file received,
its time, links to its feedback workbook to send now and archived JSON, the roster's contact and
deadline for chasing), coloured by state, with filters and frozen headings. Sheet 全部文件: every
file received. Sheet 状态说明: what each state means.

Writable at any size: rows are streamed (xlsxwriter `constant_memory`), and a sheet gets links only
up to Excel's limit of 65,530 (later rows show the path as text). Link targets are escaped (a `#`
or `%` in a name would otherwise cut or change the link).

Reproducible: the document's created time is the newest file time in the data, so identical data
gives identical bytes (a rerun that changes nothing does not rewrite the file). All user text
(organisation and file names) is written as strings, never formulas.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from ..base.internals import compact_links_workbook, discard_workbook
from ..base.text import safe_text
from .status import STATE_ZH, Status, local_time

COLOURS = {  # state -> (fill, font)
    "accepted": ("#C6EFCE", "#006100"),
    "superseded": ("#E2EFDA", "#375623"),
    "duplicate": ("#EDEDED", "#404040"),
    "errors": ("#FFC7CE", "#9C0006"),
    "wrong_org": ("#FFEB9C", "#9C5700"),
    "wrong_year": ("#FFEB9C", "#9C5700"),
    "unknown_org": ("#FFEB9C", "#9C5700"),
    "wrong_format": ("#FFEB9C", "#9C5700"),
    "rejected": ("#FFC7CE", "#9C0006"),
    "missing": ("#D9D9D9", "#404040"),
}
MEANING = {
    "accepted": "读取无误，已归档为该单位本年度的当前版本",
    "superseded": "读取无误，但该单位有更新的版本；已保存在 history 文件夹",
    "duplicate": "与该单位已归档的某一版本数据完全相同，未另存新版本",
    "errors": "数据有错误，已作为“有错误”收存，未接收；请将反馈文件发回该单位修改",
    "wrong_org": "使用了其他单位的模板填写（模板发放单位与填报单位不一致）",
    "wrong_year": "不是本年度的模板或报告（例如上年的模板）",
    "unknown_org": "填报单位不在报送名单中",
    "wrong_format": "不是本次使用的模板格式（例如旧版格式或其他版本xltool生成的模板）",
    "rejected": "文件无法读取（不是工作簿、已损坏、加密、压缩包无法解压等）",
    "missing": "名单中的单位尚未报送",
}
ORG_HEAD = (
    ("序号", 6),
    ("单位名称", 30),
    ("统一社会信用代码", 22),
    ("层级", 12),
    ("状态", 14),
    ("错误数", 8),
    ("警告数", 8),
    ("收到的文件", 40),
    ("文件时间", 17),
    ("收到文件数", 10),
    ("反馈文件", 12),
    ("归档文件", 12),
    ("说明", 50),
    ("联系人", 24),
    ("截止日期", 12),
)
FILE_HEAD = (
    ("文件", 48),
    ("状态", 16),
    ("单位名称", 28),
    ("错误数", 8),
    ("警告数", 8),
    ("错误代码", 22),
    ("说明", 60),
    ("文件时间", 17),
    ("版本", 6),
    ("同一文件份数", 12),
    ("SHA-256", 18),
    ("原文件", 10),
    ("反馈文件", 10),
)


def _created(status: Status) -> dt.datetime:
    times = [f["file_mtime"] for f in status.files if f.get("file_mtime") is not None]
    if not times:
        return dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    return dt.datetime.fromtimestamp(int(max(times)), tz=dt.UTC)


MAX_LINKS = 65530  # per worksheet (Excel's limit; xlsxwriter refuses more)
_ESCAPE = {c: f"%{ord(c):02x}" for c in '%"#<>[]^`{} '}


def link_target(rel: str) -> str:
    """A relative archive path as a link target: percent-escaped as Excel does, `#` included
    (xlsxwriter would take what follows a `#` as a cell anchor)."""
    return "".join(_ESCAPE.get(c, c) for c in rel)


def _check(rc: Any, what: str) -> None:
    if isinstance(rc, int) and rc < 0:
        raise RuntimeError(f"xlsxwriter refused {what} (return code {rc})")


class _Book:
    def __init__(self, status: Status, target: str | io.BytesIO) -> None:
        self.wb = compact_links_workbook(
            target,
            {
                "constant_memory": True,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        self.wb.set_properties({"title": f"{status.year}年度报送情况", "author": "xltool", "created": _created(status)})
        f = self.wb.add_format
        self.head = f(
            {
                "bold": True,
                "bg_color": "#D9E1F2",
                "border": 1,
                "text_wrap": True,
                "valign": "vcenter",
                "align": "center",
            }
        )
        self.title = f({"bold": True, "font_size": 14})
        self.plain = f({"valign": "top"})
        self.cell = f({"border": 1, "valign": "top"})
        self.wrap = f({"border": 1, "valign": "top", "text_wrap": True})
        self.link = f({"border": 1, "valign": "top", "font_color": "#0563C1", "underline": 1})
        self.links: dict[str, int] = {}  # worksheet name -> links written
        self.state = {
            s: f({"border": 1, "valign": "top", "bold": True, "bg_color": bg, "font_color": fg})
            for s, (bg, fg) in COLOURS.items()
        }

    def text(self, ws: Any, r: int, c: int, value: Any, fmt: Any = None) -> None:
        if value is None or value == "":
            _check(ws.write_blank(r, c, None, fmt or self.cell), "blank")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            _check(ws.write_number(r, c, value, fmt or self.cell), "number")
        else:
            _check(ws.write_string(r, c, safe_text(value, quote=False), fmt or self.cell), "string")

    def url(self, ws: Any, r: int, c: int, target: str | None, label: str) -> None:
        if not target:
            self.text(ws, r, c, "")
            return
        n = self.links.get(ws.name, 0)
        if n >= MAX_LINKS:  # past Excel's limit: the path, as text
            self.text(ws, r, c, target)
            return
        self.links[ws.name] = n + 1
        _check(ws.write_url(r, c, "external:" + link_target(target), self.link, label, target), f"link {target}")

    def header(self, ws: Any, row: int, head: tuple[tuple[str, int], ...]) -> None:
        for c, (label, width) in enumerate(head):
            _check(ws.set_column(c, c, width), "width")
            self.text(ws, row, c, label, self.head)
        _check(ws.freeze_panes(row + 1, 0), "freeze")


def write_status_workbook(status: Status, target: str | Path | io.BytesIO) -> None:
    """Write the status workbook to `target` (a file: the workbook is never held in memory;
    identical data -> identical bytes)."""
    b = _Book(status, target if isinstance(target, io.BytesIO) else str(target))
    try:
        _sheets(b, status)
    except BaseException:
        discard_workbook(b.wb)
        raise
    b.wb.close()


def status_workbook(status: Status) -> bytes:
    """The status workbook's bytes (the same bytes `write_status_workbook` writes to a file)."""
    buffer = io.BytesIO()
    write_status_workbook(status, buffer)
    return buffer.getvalue()


def _sheets(b: _Book, status: Status) -> None:
    ws = b.wb.add_worksheet("报送情况")
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    b.text(ws, 0, 0, f"{status.year}年度报送情况（{status.schema}）", b.title)
    counts = "，".join(f"{STATE_ZH[s]} {n}" for s, n in status.counts.items())
    b.text(
        ws,
        1,
        0,
        f"{'应报' if status.roster else '收到'} {len(status.orgs)} 个单位：{counts}；"
        f"无法归属的文件 {len(status.unattributed)} 个",
        b.plain,
    )
    top = 3
    b.header(ws, top, ORG_HEAD)
    ws.repeat_rows(top)
    for i, o in enumerate(status.orgs):
        r = top + 1 + i
        level = status.levels.get(o.level, o.level)
        values: tuple[Any, ...] = (
            o.n,
            o.name,
            o.code,
            level,
            None,
            o.errors,
            o.warnings,
            o.file,
            local_time(o.file_time),
            o.submissions,
        )
        for c, v in enumerate(values):
            b.text(ws, r, c, v, b.wrap if c in (1, 7) else None)
        b.text(ws, r, 4, STATE_ZH[o.state], b.state[o.state])
        b.url(ws, r, 10, o.feedback, "反馈文件")
        b.url(ws, r, 11, o.current, "JSON")
        b.text(ws, r, 12, o.note_zh, b.wrap)
        b.text(ws, r, 13, o.contact, b.wrap)
        b.text(ws, r, 14, o.deadline)
    _check(ws.autofilter(top, 0, top + len(status.orgs), len(ORG_HEAD) - 1), "filter")

    ws = b.wb.add_worksheet("全部文件")
    b.header(ws, 0, FILE_HEAD)
    for i, f in enumerate(status.files):
        r = 1 + i
        version = f["version"] if f["state"] in ("accepted", "superseded") else None
        values = (
            f["path_in_inbox"],
            None,
            f["org_name"],
            f["errors"],
            f["warnings"],
            f["error_code"],
            f["message_zh"] or "",
            local_time(f["file_mtime"]),
            version,
            f["copies"],
            f["sha256"][:16],
        )
        for c, v in enumerate(values):
            b.text(ws, r, c, v, b.wrap if c in (0, 6) else None)
        b.text(ws, r, 1, STATE_ZH[f["state"]], b.state[f["state"]])
        b.url(ws, r, 11, f["source_path"], "原文件")
        b.url(ws, r, 12, f["feedback_path"], "反馈文件")
    _check(ws.autofilter(0, 0, len(status.files), len(FILE_HEAD) - 1), "filter")

    ws = b.wb.add_worksheet("状态说明")
    b.header(ws, 0, (("状态", 18), ("含义", 80)))
    for i, (state, meaning) in enumerate(MEANING.items(), 1):
        b.text(ws, i, 0, STATE_ZH[state], b.state[state])
        b.text(ws, i, 1, meaning, b.wrap)
