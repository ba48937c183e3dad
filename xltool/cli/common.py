"""What every command shares: the typer app, common options, output and the one error boundary.

Exit codes for every command: 0 nothing wrong (warnings allowed), 1 the data has errors, 2 the tool
could not do its job (bad arguments, unreadable file, wrong template).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import typer

from ..base.errors import XltoolError
from ..base.text import printable
from ..check.issues import Issue, format_table, summary_line

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
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
LangOpt = typer.Option(Lang.zh, "--lang", help="消息语言 / message language")
FormatOpt = typer.Option(Fmt.text, "--format", "-f", help="输出格式 / output format")
LevelOpt = typer.Option(None, "--level", help="单位层级，如 township、county_department / organisation level")


def _echo(text: str, err: bool = False) -> None:
    """Print a line block; names and cell text from user files cannot carry terminal escapes."""
    typer.echo("\n".join(printable(line) for line in text.split("\n")), err=err)


def _run(fn: Callable[[], int], lang: Lang = Lang.zh) -> None:
    """Run a command body; turn stopping errors into one clear line and exit 2."""
    try:
        code = fn()
    except XltoolError as exc:
        _echo(exc.line(lang.value), err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        _echo("interrupted", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(code)


def _emit_issues(issues: list[Issue], fmt: Fmt, lang: Lang, header: dict[str, Any]) -> None:
    if fmt is Fmt.json:
        doc = dict(header)
        errors = sum(1 for i in issues if i.severity == "error")
        doc.update({"errors": errors, "warnings": len(issues) - errors, "issues": [i.as_dict() for i in issues]})
        _echo(json.dumps(doc, ensure_ascii=False, indent=1, default=str))
        return
    name = header.get("file", "")
    _echo(f"{name}: {summary_line(issues, lang.value)}")
    if issues:
        _echo(format_table(issues, lang.value))


def _today() -> str:
    return dt.date.today().isoformat()
