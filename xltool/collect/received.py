"""What walking an inbox yields: an `Entry` per received file (or zip member), a `Skipped` per file
that is not a submission, and the `Verdict` on entries decided before any parser runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..base.errors import InputFileError
from ..read.refusals import MESSAGES, too_large

VERDICTS = {  # code -> (Chinese, English) for entries decided before any parser runs
    "UNSUPPORTED_ARCHIVE": (
        "压缩包格式（{fmt}）无法自动解压，请解压后提交其中的 .xlsx 文件（或改用 .zip）",
        "archive format ({fmt}) is not unpacked automatically; submit the .xlsx inside (or use .zip)",
    ),
    "NESTED_ARCHIVE": (
        "压缩包中又含有压缩包，未继续解压；请直接提交 .xlsx 文件",
        "an archive inside an archive is not unpacked; submit the .xlsx file directly",
    ),
    "UNSAFE_ARCHIVE_MEMBER": (
        "压缩包中的文件名不安全（含“..”或绝对路径），已拒绝读取",
        "unsafe name inside the archive ('..' or an absolute path); not read",
    ),
    "ARCHIVE_EMPTY": (
        "压缩包中没有文件，请提交填写好的 .xlsx 文件",
        "the archive contains no files; submit the filled .xlsx file",
    ),
    "BROKEN_ZIP": (
        "压缩包已损坏或不完整，无法解压，请重新打包后提交",
        "the zip archive is damaged or incomplete and cannot be unpacked; pack it again and resubmit",
    ),
    "FILE_TOO_LARGE": MESSAGES["FILE_TOO_LARGE"],
}


@dataclass(frozen=True)
class Verdict:
    code: str
    message_zh: str
    message_en: str
    details: dict[str, Any] = field(default_factory=dict)


def verdict(code: str, **details: Any) -> Verdict:
    fmt = dict(details)
    if code == "FILE_TOO_LARGE":
        fmt = too_large(details["size"], details["limit"])
    zh, en = VERDICTS[code]
    return Verdict(code, zh.format(**fmt), en.format(**fmt), details)


def _from_error(exc: InputFileError) -> Verdict:
    return Verdict(exc.code, exc.message_zh, exc.message_en, dict(exc.details))


@dataclass(frozen=True)
class Entry:
    """One received file (or zip member). `data` is None once stored (or when too large)."""

    path: str  # relative to the inbox, "/"-separated; members: "a/b.zip!/member.xlsx"
    sha256: str
    size: int
    mtime: float  # file time, seconds since the epoch (zip members: their own date)
    ext: str  # extension for the stored copy, by content where known ("xlsx", "bin")
    role: str = "file"  # file | member | attachment (an unpacked .zip: not itself a submission)
    verdict: Verdict | None = None
    data: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str  # temp | symlink | special | unreadable | archive_dir
    detail: str = ""

    @property
    def problem(self) -> bool:
        """Something that may be a submission but could not be looked at."""
        return self.reason == "unreadable"
