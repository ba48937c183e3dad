"""What one `collect` run returns: the collection's overview and what this run did, counted
separately for files (every name received, a copy of identical bytes included) and organisations."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .status import STATE_EN, STATE_ZH, Status


@dataclass
class CollectResult:
    archive: str
    inbox: str
    schema: str
    year: int
    status: Status
    files: Sequence[dict[str, Any]]  # one per received name in this inbox (zip members included); packed
    skipped: list[dict[str, str]]
    read: int  # contents read this run (the others were already in the index)
    written: Sequence[str] = field(default_factory=list)  # archive files written this run; packed
    removed_temp: list[str] = field(default_factory=list)  # leftovers of a killed run, swept
    problems: list[dict[str, str]] = field(default_factory=list)  # feedback files not written / moved

    @property
    def exit_code(self) -> int:
        unreadable = any(s["reason"] == "unreadable" for s in self.skipped)
        return 1 if self.status.exit_code or unreadable or self.problems else 0

    @property
    def file_counts(self) -> dict[str, int]:
        """Files of this inbox by state; a second name of identical bytes counts as a duplicate."""
        c = Counter("duplicate" if f["copy_of"] else f["state"] for f in self.files)
        return dict(sorted(c.items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "archive": self.archive,
            "inbox": self.inbox,
            "schema": self.schema,
            "year": self.year,
            "exit_code": self.exit_code,
            "read": self.read,
            "file_counts": self.file_counts,
            "written": list(self.written),
            "removed_temp": self.removed_temp,
            "problems": self.problems,
            "files": list(self.files),
            "skipped": self.skipped,
            "status": self.status.as_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=1)

    def done_line(self, lang: str = "zh") -> str:
        """The run's last line: organisations and files, each labelled."""
        zh = lang == "zh"
        names = STATE_ZH if zh else STATE_EN
        sep = "，" if zh else ", "
        orgs = sep.join(f"{names[k]} {n}" for k, n in self.status.counts.items())
        files = sep.join(f"{names[k]} {n}" for k, n in self.file_counts.items())
        odd = len(self.status.unattributed)
        if zh:
            return (
                f"收集完成（{self.year}年度）：单位 {orgs}；文件 {len(self.files)} 个：{files}；无法归属的文件 {odd} 个"
            )
        return (
            f"collected ({self.year}): organisations: {orgs}; {len(self.files)} file(s): {files}; "
            f"{odd} file(s) not attributed"
        )

    def summary(self, lang: str = "zh") -> str:
        """The overview (same as `xltool status`), what this run did, the files skipped."""
        zh = lang == "zh"
        contents = len({f["sha256"] for f in self.files})
        done = (
            f"本次收到 {len(self.files)} 个文件（内容不同的 {contents} 个；新读取 {self.read} 个，"
            f"写入 {len(self.written)} 个归档文件）"
            if zh
            else f"this run: {len(self.files)} file(s) received ({contents} distinct, {self.read} read, "
            f"{len(self.written)} archive file(s) written)"
        )
        lines = [self.status.to_text(lang), "", done, self.done_line(lang)]
        if self.skipped:
            lines.append(
                ("已跳过：" if zh else "skipped: ") + "; ".join(f"{s['path']} ({s['reason']})" for s in self.skipped)
            )
        for p in self.problems:
            lines.append(f"{p['path']}: [{p['code']}] {p['message_zh'] if zh else p['message_en']}")
        return "\n".join(lines)
