"""What every command shares: the typer app, common options, output and the one error boundary.

Exit codes for every command: 0 nothing wrong (warnings allowed), 1 the data has errors, 2 the tool
could not do its job (bad arguments, unreadable file, wrong template, the environment failed). Exit 1 is
only ever the answer of a command about the data, so `_run` never lets an exception end with it.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import sys
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ..base.errors import XltoolError
from ..base.version import __version__
from . import light_rich

if TYPE_CHECKING:
    from ..check.issues import Issue

light_rich.install()  # typer imports its help renderer only when help or a usage error is shown
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="xltool：由 JSON Schema 生成锁定的 Excel 模板，收集填报文件并校验为 JSON。 "
    "JSON Schema -> locked Excel templates -> validated JSON.",
)


class Fmt(StrEnum):
    text = "text"
    json = "json"


class Lang(StrEnum):
    zh = "zh"
    en = "en"


SchemaOpt = typer.Option(None, "--schema", "-s", help="内置模式名或模式文件路径 / built-in schema name or schema file")
LangOpt = typer.Option(Lang.zh, "--lang", help="消息语言（也可写在命令前）/ message language (also before the command)")
FormatOpt = typer.Option(Fmt.text, "--format", "-f", help="输出格式 / output format")
LevelOpt = typer.Option(
    None,
    "--level",
    help="单位层级：township（乡镇（街道））、county_department（县级部门）、county（县级人民政府）、other；"
    "默认取自模板 / organisation level, default from the template",
)
OUTPUT_HELP = "不存在的上级目录会被创建；不能是输入文件本身或一个目录 / missing parent folders are created; never an input or a folder"
_DEBUG = {"on": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xltool {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    ctx: typer.Context,
    lang: Lang = typer.Option(Lang.zh, "--lang", help="消息语言 / message language"),
    debug: bool = typer.Option(
        False, "--debug", help="内部错误时显示完整回溯 / show the traceback of an internal error"
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="显示版本 / show the version"
    ),
) -> None:
    """xltool：由 JSON Schema 生成锁定的 Excel 模板，收集填报文件并校验为 JSON。"""
    _DEBUG["on"] = debug
    group = ctx.command
    names = getattr(group, "commands", {}) or {}
    # `xltool --lang en read f.xlsx` = `xltool read f.xlsx --lang en`: the group's value becomes each command's default.
    ctx.default_map = {name: {"lang": lang.value} for name in names}


def _echo(text: str, err: bool = False) -> None:
    """Print a line block; names and cell text from user files cannot carry terminal escapes, and a
    character the terminal's encoding (GBK, ASCII) cannot show is escaped instead of crashing."""
    from ..base.text import printable

    stream = sys.stderr if err else sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    safe = "\n".join(printable(line) for line in text.split("\n"))
    safe = safe.encode(encoding, "backslashreplace").decode(encoding, "replace")
    typer.echo(safe, err=err)


def _os_line(exc: OSError) -> tuple[str, str, str]:
    """(code, zh, en) for an environment error, naming the file it concerns."""
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    code = {
        errno.ENOENT: "FILE_NOT_FOUND",
        errno.EACCES: "PERMISSION_DENIED",
        errno.EPERM: "PERMISSION_DENIED",
        errno.EROFS: "READ_ONLY",
        errno.ENOSPC: "DISK_FULL",
        errno.EISDIR: "IS_A_FOLDER",
        errno.ENOTDIR: "NOT_A_FOLDER",
    }.get(exc.errno or 0, "OS_ERROR")
    prefix = f"{where}: " if where else ""
    return code, f"{prefix}文件操作失败：{reason}", f"{prefix}file operation failed: {reason}"


def _environment_error(exc: BaseException) -> tuple[str, str, str] | None:
    # sqlite3 and csv are looked up, not imported: an error of theirs means the command imported them,
    # and `xltool --help` need not pay for either.
    sqlite3, csv = sys.modules.get("sqlite3"), sys.modules.get("csv")
    if isinstance(exc, OSError):
        return _os_line(exc)
    if sqlite3 is not None and isinstance(exc, sqlite3.Error):
        return "DATABASE_ERROR", f"档案索引数据库出错：{exc}", f"archive index database error: {exc}"
    if csv is not None and isinstance(exc, csv.Error):
        return "CSV_ERROR", f"CSV 文件无法解析：{exc}", f"CSV file cannot be parsed: {exc}"
    if isinstance(exc, UnicodeError):
        return "ENCODING_ERROR", f"文字编码错误：{exc}", f"text encoding error: {exc}"
    if isinstance(exc, MemoryError):
        return "OUT_OF_MEMORY", "内存不足，输入文件可能过大", "out of memory; an input is probably too large"
    if isinstance(exc, RecursionError):
        return "INPUT_TOO_DEEP", "输入嵌套过深", "input nested too deeply"
    return None


def _save_traceback(exc: BaseException) -> str:
    """Write the traceback of an internal error to a file a user can attach to a bug report."""
    import tempfile
    import traceback

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = "".join(traceback.format_exception(exc))
    try:
        fd, path = tempfile.mkstemp(prefix=f"xltool-bug-{stamp}-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"xltool {__version__}\n{' '.join(sys.argv)}\n\n{text}")
        return path
    except OSError:
        return ""


def _run(fn: Callable[[], int], lang: Lang = Lang.zh) -> None:
    """Run a command body: the one boundary where stopping errors become one line and exit 2.

    XltoolError and environment errors (files, disk, database, CSV, encodings, memory) are one line
    `[CODE] message`; anything else is a bug in xltool, said so, with its traceback saved (or shown with
    --debug). The code is never 1, which means "the data has errors"."""
    en = lang is Lang.en
    try:
        code = fn()
    except typer.Exit:
        raise
    except XltoolError as exc:
        _echo(exc.line(lang.value), err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        _echo("interrupted" if en else "已中断", err=True)
        raise typer.Exit(2) from None
    except Exception as exc:  # noqa: BLE001  (the boundary: nothing may end in a traceback)
        known = _environment_error(exc)
        if known is not None:
            _echo(f"[{known[0]}] {known[2] if en else known[1]}", err=True)
            raise typer.Exit(2) from None
        if _DEBUG["on"]:
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
            saved = ""
        else:
            saved = _save_traceback(exc)
        where = (f"; details in {saved}" if en else f"；详情已保存到 {saved}") if saved else ""
        _echo(
            f"[INTERNAL_ERROR] xltool internal error (a bug, please report it): {type(exc).__name__}{where}"
            if en
            else f"[INTERNAL_ERROR] xltool 内部错误（程序缺陷，请报告）：{type(exc).__name__}{where}",
            err=True,
        )
        raise typer.Exit(2) from None
    raise typer.Exit(code)


def guard_output(output: Path | None, inputs: Iterable[Path | None], *, folder: bool = False) -> None:
    """No command writes over one of its own inputs (same path, symlink or hard link), and a file
    output is never a folder (nor a folder output a file). Overwriting an earlier output is allowed;
    missing parent folders are created by the write."""
    if output is None:
        return
    if folder:
        if output.exists() and not output.is_dir():
            raise XltoolError(
                "NOT_A_FOLDER", f"{output} 已存在且不是目录", f"{output} exists and is not a folder", path=str(output)
            )
    elif output.is_dir():
        raise XltoolError(
            "OUTPUT_IS_FOLDER",
            "输出路径是一个目录，请给出文件名",
            "the output path is a folder; give a file name",
            path=str(output),
        )
    parent = next((p for p in output.absolute().parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise XltoolError(
            "NOT_A_FOLDER",
            f"{parent} 是文件而不是目录，无法在其中写出",
            f"{parent} is a file, not a folder; cannot write inside it",
            path=str(output),
        )
    for source in inputs:
        if source is None:
            continue
        try:
            same = os.path.abspath(output) == os.path.abspath(source) or (
                output.exists() and source.exists() and os.path.samefile(output, source)
            )
        except OSError:
            same = False
        if same:
            raise XltoolError(
                "OUTPUT_IS_INPUT",
                f"输出会覆盖输入文件 {source}，请换一个输出路径",
                f"the output would overwrite the input {source}; choose another output path",
                path=str(output),
            )


def write_output(path: Path, data: bytes | str) -> None:
    """Write a command's output atomically; a failure names the output, not the temporary file."""
    from ..base.files import write_atomic

    try:
        write_atomic(path, data.encode("utf-8") if isinstance(data, str) else data)
    except OSError as exc:
        code, _zh, _en = _os_line(exc)
        reason = exc.strerror or str(exc)
        raise XltoolError(
            code if code != "OS_ERROR" else "CANNOT_WRITE",
            f"无法写出：{reason}",
            f"cannot write: {reason}",
            path=str(path),
        ) from None


def _emit_issues(issues: list[Issue], fmt: Fmt, lang: Lang, header: dict[str, Any]) -> None:
    import json

    from ..check.issues import format_table, summary_line

    if fmt is Fmt.json:
        doc = dict(header)
        errors = sum(1 for i in issues if i.severity == "error")
        doc.update({"errors": errors, "warnings": len(issues) - errors, "issues": [i.as_dict() for i in issues]})
        _echo(json.dumps(doc, ensure_ascii=False, indent=1, default=str))
        return
    name = header.get("file", "")
    _echo(f"{name}: {summary_line(issues, lang.value)}")
    if issues:
        _echo(format_table(collapse_blanks(issues, lang.value), lang.value))


BLANK_COLLAPSE = 5


def collapse_blanks(issues: list[Issue], lang: str) -> list[Issue]:
    """Text output: more than a few BLANK_CELL warnings of one sheet become one line per sheet (JSON keeps all)."""
    from ..check.issues import Issue

    per_sheet: dict[str, list[Issue]] = {}
    for i in issues:
        if i.code == "BLANK_CELL" and i.severity == "warning":
            per_sheet.setdefault(i.sheet or "", []).append(i)
    crowded = {s for s, found in per_sheet.items() if len(found) > BLANK_COLLAPSE}
    out: list[Issue] = []
    for i in issues:
        sheet = i.sheet or ""
        if i.code != "BLANK_CELL" or i.severity != "warning" or sheet not in crowded:
            out.append(i)
        elif per_sheet[sheet][0] is i:
            n, first = len(per_sheet[sheet]), per_sheet[sheet][0]
            out.append(
                Issue(
                    "BLANK_CELL",
                    "warning",
                    f"本表有 {n} 个空白单元格按0读取（首个 {first.cell}）；完整清单见 --format json",
                    f"{n} blank cells on this sheet read as 0 (first {first.cell}); --format json lists them all",
                    sheet=i.sheet,
                    cell=first.cell,
                )
            )
    return out


def _today() -> str:
    return dt.date.today().isoformat()
