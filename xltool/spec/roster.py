"""The roster: which organisations must report (CSV as saved by Excel or WPS).

Columns (English or Chinese headers): name/单位名称, code/统一社会信用代码, level/层级, and optional
contact/联系人, deadline/截止日期. UTF-8 with or without BOM; GB18030 (what WPS and older Excel write
on Chinese Windows) is accepted too. A bad row stops the command with an error naming the row.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import InputFileError

HEADERS = {
    "name": ("name", "单位名称", "名称", "单位", "机关名称"),
    "code": ("code", "统一社会信用代码", "代码", "信用代码"),
    "level": ("level", "层级", "级别", "类型"),
    "contact": ("contact", "联系人", "联系方式"),
    "deadline": ("deadline", "截止日期", "报送截止日期"),
}
REQUIRED = ("name", "code", "level")


@dataclass(frozen=True)
class Org:
    name: str
    code: str
    level: str
    contact: str = ""
    deadline: str = ""
    row: int = 0


def _decode(raw: bytes, path: str) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise InputFileError(
        "ROSTER_ENCODING",
        "名单文件编码无法识别，请另存为UTF-8编码的CSV",
        "roster encoding not recognised; save it as UTF-8 CSV",
        path=path,
    )


def _err(path: str, row: int, zh: str, en: str) -> InputFileError:
    return InputFileError("ROSTER_BAD_ROW", f"第{row}行：{zh}", f"row {row}: {en}", path=path, details={"row": row})


def load_roster(path: str | Path, levels: dict[str, str]) -> list[Org]:
    """Parse and check a roster; `levels` maps level keys to Chinese names (both are accepted)."""
    p = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputFileError(
            "ROSTER_UNREADABLE", f"无法读取名单文件：{exc.strerror}", f"cannot read roster: {exc.strerror}", path=p
        ) from exc
    text = _decode(raw, p)
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t，")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise InputFileError("ROSTER_EMPTY", "名单文件为空", "roster is empty", path=p)
    header = [h.strip().lower() for h in rows[0]]
    index: dict[str, int] = {}
    for key, names in HEADERS.items():
        for i, h in enumerate(header):
            if h in names:
                index[key] = i
                break
    missing = [k for k in REQUIRED if k not in index]
    if missing:
        raise InputFileError(
            "ROSTER_HEADER",
            f"名单缺少列：{'、'.join(HEADERS[k][1] + '(' + k + ')' for k in missing)}；第1行应为表头",
            f"roster lacks column(s): {', '.join(missing)}; row 1 must be the header",
            path=p,
        )
    by_name = {v: k for k, v in levels.items()}
    orgs: list[Org] = []
    seen_names: dict[str, int] = {}
    seen_codes: dict[str, int] = {}
    for n, row in enumerate(rows[1:], start=2):
        cell = lambda k, row=row: row[index[k]].strip() if k in index and index[k] < len(row) else ""  # noqa: E731
        name, code, level = cell("name"), cell("code").upper(), cell("level")
        if not name:
            raise _err(p, n, "单位名称为空", "name is empty")
        if code and (len(code) != 18 or not code.isalnum() or not code.isascii()):
            raise _err(
                p, n, f"统一社会信用代码“{code}”应为18位字母或数字", f"code '{code}' must be 18 letters or digits"
            )
        key = level if level in levels else by_name.get(level)
        if key is None:
            choices = "、".join(f"{k}（{v}）" for k, v in levels.items())
            raise _err(
                p, n, f"层级“{level}”无效，应为：{choices}", f"level '{level}' is not one of {', '.join(levels)}"
            )
        if name in seen_names:
            raise _err(
                p, n, f"单位名称“{name}”与第{seen_names[name]}行重复", f"name '{name}' repeats row {seen_names[name]}"
            )
        if code and code in seen_codes:
            raise _err(p, n, f"统一社会信用代码与第{seen_codes[code]}行重复", f"code repeats row {seen_codes[code]}")
        seen_names[name] = n
        if code:
            seen_codes[code] = n
        orgs.append(Org(name, code, key, cell("contact"), cell("deadline"), n))
    return orgs
