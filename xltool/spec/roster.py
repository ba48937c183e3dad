"""The roster: which organisations must report (CSV as saved by Excel or WPS).

Columns (English or Chinese headers): name/单位名称, code/统一社会信用代码, level/层级, and optional
contact/联系人, deadline/截止日期. UTF-8 with or without BOM; GB18030 (what WPS and older Excel write
on Chinese Windows) and UTF-16 with a BOM (Excel's "Unicode 文本") are accepted too. A bad row stops the command with an error naming the row; so does
anything that is not a small regular CSV file (a device, a FIFO, a huge file, UTF-16, a broken quote),
or a roster with a header and no organisation. Codes and deadlines are checked by `identity`, the same
way `template --org-code / --deadline` are.
"""

from __future__ import annotations

import codecs
import csv
import io
import stat
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import InputFileError, XltoolError
from .identity import code_problem, norm_code, norm_name, parse_date

MAX_BYTES = 5 * 1024 * 1024  # a county roster is a few KB; anything this big is the wrong file

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
    """UTF-16 with a BOM is Excel's "Unicode 文本" (tab-separated); without a BOM it cannot be told from
    other bytes and is refused by the NUL check."""
    encodings = ("utf-16",) if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else ("utf-8-sig", "gb18030")
    for enc in encodings:
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
    raw = _read_small_file(Path(path), p)
    text = _decode(raw, p)
    if "\x00" in text:
        raise InputFileError(
            "ROSTER_ENCODING",
            "名单文件含空字符（可能是UTF-16编码），请另存为UTF-8编码的CSV",
            "roster contains NUL characters (UTF-16?); save it as UTF-8 CSV",
            path=p,
        )
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t，")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(text), dialect, strict=True))
    except csv.Error as exc:
        raise InputFileError(
            "ROSTER_BAD_CSV",
            f"名单不是有效的CSV（{exc}），请检查引号是否成对、单元格是否过长",
            f"roster is not valid CSV ({exc}); check that quotes are paired and cells are not huge",
            path=p,
        ) from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise InputFileError(
            "ROSTER_EMPTY",
            "名单中没有任何单位（第1行为表头，从第2行起每行一个单位）",
            "the roster lists no organisation (row 1 is the header, one organisation per row after it)",
            path=p,
        )
    header = [h.strip().lower() for h in rows[0]]
    index: dict[str, int] = {}
    for column, names in HEADERS.items():
        for i, h in enumerate(header):
            if h in names:
                index[column] = i
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
        name, code, level = cell("name"), norm_code(cell("code")), cell("level")
        if not name:
            raise _err(p, n, "单位名称为空", "name is empty")
        problem = code_problem(code) if code else None
        if problem:
            raise _err(p, n, problem[0], problem[1])
        deadline = cell("deadline")
        if deadline:
            try:
                deadline = parse_date(deadline, "截止日期").isoformat()
            except XltoolError as exc:
                raise _err(p, n, exc.message_zh, exc.message_en) from None
        key = level if level in levels else by_name.get(level)
        if key is None:
            choices = "、".join(f"{k}（{v}）" for k, v in levels.items())
            raise _err(
                p, n, f"层级“{level}”无效，应为：{choices}", f"level '{level}' is not one of {', '.join(levels)}"
            )
        same = seen_names.get(norm_name(name))
        if same:
            raise _err(p, n, f"单位名称“{name}”与第{same}行重复", f"name '{name}' repeats row {same}")
        if code and code in seen_codes:
            raise _err(p, n, f"统一社会信用代码与第{seen_codes[code]}行重复", f"code repeats row {seen_codes[code]}")
        seen_names[norm_name(name)] = n
        if code:
            seen_codes[code] = n
        orgs.append(Org(name, code, key, cell("contact"), deadline, n))
    return orgs


def _read_small_file(path: Path, p: str) -> bytes:
    """The bytes of a regular file of reasonable size: a device (/dev/zero), a FIFO (would block) or a
    folder is refused before anything is read."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise InputFileError(
                "ROSTER_NOT_A_FILE", "名单不是普通文件（目录、设备或管道）", "the roster is not a regular file", path=p
            )
        if st.st_size > MAX_BYTES:
            raise InputFileError(
                "ROSTER_TOO_LARGE",
                f"名单文件过大（超过{MAX_BYTES // 1024 // 1024} MB），可能选错了文件",
                f"the roster is over {MAX_BYTES // 1024 // 1024} MB; probably the wrong file",
                path=p,
            )
        with path.open("rb") as fh:
            return fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputFileError(
            "ROSTER_UNREADABLE", f"无法读取名单文件：{exc.strerror}", f"cannot read roster: {exc.strerror}", path=p
        ) from exc
