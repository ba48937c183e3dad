"""The command line (the only module that knows about typer).

Exit codes for every command: 0 nothing wrong (warnings allowed), 1 the data has errors, 2 the tool
could not do its job (bad arguments, unreadable file, wrong template).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from .errors import XltoolError
from .issues import Issue, exit_code, format_table, summary_line
from .sanitize import printable

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="xltool：由 JSON Schema 生成锁定的 Excel 模板，收集填报文件并校验为 JSON。 "
    "JSON Schema -> locked Excel templates -> validated JSON.",
)


class Fmt(str, Enum):
    text = "text"
    json = "json"


class Lang(str, Enum):
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
        raise typer.Exit(2)
    except KeyboardInterrupt:
        _echo("interrupted", err=True)
        raise typer.Exit(2)
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


@app.command()
def schemas(
    check: Optional[Path] = typer.Option(None, "--check", help="检查一个模式文件 / lint a schema file"),
    lang: Lang = LangOpt,
) -> None:
    """列出内置模式，或检查模式文件。 List built-in schemas, or lint a schema file."""

    def body() -> int:
        from .dialect import lint
        from .model import load_model
        from .schemas import builtin_names, load_source

        if check is not None:
            src = load_source(check)
            problems = lint(src.document)
            if problems:
                for p in problems:
                    _echo(f"{check}: {p.pointer}: {p.message}", err=True)
                return 2
            model = load_model(check)
            _echo(f"{check}: OK — {model.name} {model.version}, {len(model.fields)} fields, {len(model.rules)} rules")
            return 0
        for name in builtin_names():
            m = load_model(name)
            years = f"{m.years[0] or ''}–{m.years[1] or ''}"
            _echo(f"{name}\t{m.version}\t{years}\t{len(m.fields)} fields\t{len(m.rules)} rules\t{m.title}")
        return 0

    _run(body, lang)


@app.command()
def validate(
    report: Path = typer.Argument(..., help="报告 JSON 文件 / report JSON file"),
    schema: Optional[str] = SchemaOpt,
    fmt: Fmt = FormatOpt,
    strict: bool = typer.Option(False, "--strict", help="警告也视为错误 / treat warnings as errors"),
    lang: Lang = LangOpt,
    level: Optional[str] = LevelOpt,
    previous: Optional[Path] = typer.Option(None, "--previous", help="同一单位上年度的报告 JSON，用于跨年度核对 / last year's report, for cross-year rules"),
) -> None:
    """校验报告 JSON。 Validate a report JSON file."""

    def body() -> int:
        from .model import load_model
        from .report_io import detect_schema, load_report
        from .validate import validate_report

        doc = load_report(report)
        model = load_model(schema or detect_schema(doc))
        meta = doc.get("_meta") if isinstance(doc.get("_meta"), dict) else {}
        lvl = level or (meta.get("level") if isinstance(meta.get("level"), str) else None) or (meta.get("template", {}) or {}).get("level") or None
        prev = None
        if previous is not None:
            from .evaluate import pick, previous_pointers

            prev = pick(load_report(previous), previous_pointers(model))
        issues = validate_report(model, doc, level=lvl, previous=prev)
        _emit_issues(issues, fmt, lang, {"file": str(report), "schema": model.name})
        code = exit_code(issues)
        if strict and issues:
            code = 1
        return code

    _run(body, lang)


def _today() -> str:
    return dt.date.today().isoformat()


@app.command()
def template(
    schema: Optional[str] = SchemaOpt,
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="输出文件 / output file"),
    year: Optional[int] = typer.Option(None, "--year", help="报告年度 / report year"),
    org: str = typer.Option("", "--org", help="发放给的单位名称 / organisation name"),
    org_code: str = typer.Option("", "--org-code", help="统一社会信用代码 / organisation code"),
    level: str = typer.Option("", "--level", help="单位层级 / organisation level"),
    deadline: str = typer.Option("", "--deadline", help="报送截止日期 / deadline"),
    contact: str = typer.Option("", "--contact", help="联系人及电话 / contact"),
    password: str = typer.Option("", "--password", help="保护密码（可选）/ protection password"),
    issue_date: Optional[str] = typer.Option(None, "--issue-date", help="发放日期 YYYY-MM-DD，默认今天 / issue date"),
    roster: Optional[Path] = typer.Option(None, "--roster", help="名单 CSV：每个单位一个模板 / roster CSV"),
    out_dir: Optional[Path] = typer.Option(None, "--out-dir", help="名单模板输出目录 / folder for roster templates"),
    lang: Lang = LangOpt,
) -> None:
    """生成锁定的填报模板（可按名单批量生成）。 Write a locked template, or one per roster organisation."""

    def body() -> int:
        from .errors import XltoolError as Err
        from .fsutil import write_atomic
        from .model import load_model
        from .writer import TemplateOptions, write_template

        model = load_model(schema)
        if level and level not in model.levels:
            raise Err("BAD_ARGUMENT", f"层级“{level}”无效，应为：{'、'.join(model.levels)}", f"level '{level}' is not one of {', '.join(model.levels)}")
        date = issue_date or _today()
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            raise Err("BAD_ARGUMENT", f"发放日期“{date}”应为 YYYY-MM-DD", f"issue date '{date}' must be YYYY-MM-DD")
        base = TemplateOptions(year=year, org_name=org, org_code=org_code, level=level, deadline=deadline, contact=contact, password=password, issue_date=date)
        if roster is not None:
            from .distribute import write_roster_templates
            from .roster import load_roster

            if out_dir is None:
                raise Err("BAD_ARGUMENT", "使用 --roster 时须给出 --out-dir", "--roster needs --out-dir")
            orgs = load_roster(roster, model.levels)
            written = write_roster_templates(model, orgs, out_dir, base)
            _echo(f"已生成 {len(written)} 个模板：{out_dir}（清单 manifest.csv）" if lang is Lang.zh else f"wrote {len(written)} templates to {out_dir} (manifest.csv)")
            return 0
        target = output or Path(f"{model.name}{'-' + str(year) if year else ''}-template.xlsx")
        data, ident = write_template(model, base)
        write_atomic(target, data)
        _echo(f"已生成模板：{target}（{model.name}，模板编号 {ident.serial}）" if lang is Lang.zh else f"wrote {target} ({model.name}, serial {ident.serial})")
        return 0

    _run(body, lang)


@app.command()
def fill(
    report: Path = typer.Argument(..., help="报告 JSON 文件 / report JSON file"),
    output: Path = typer.Option(..., "-o", "--output", help="输出的已填模板 / filled workbook to write"),
    schema: Optional[str] = SchemaOpt,
    year: Optional[int] = typer.Option(None, "--year", help="报告年度，默认取自报告 / report year"),
    org: Optional[str] = typer.Option(None, "--org", help="发放给的单位，默认取自报告 / organisation"),
    org_code: Optional[str] = typer.Option(None, "--org-code", help="统一社会信用代码 / organisation code"),
    level: Optional[str] = typer.Option(None, "--level", help="单位层级 / organisation level"),
    issue_date: Optional[str] = typer.Option(None, "--issue-date", help="发放日期 YYYY-MM-DD / issue date"),
    lang: Lang = LangOpt,
) -> None:
    """把报告 JSON 写入新模板（结转上年数据、重发更正文件）。 Write a report into a fresh template."""

    def body() -> int:
        from .fill import fill_report
        from .fsutil import write_atomic

        data, ident, model = fill_report(report, schema=schema, year=year, org=org, org_code=org_code, level=level, issue_date=issue_date or _today())
        write_atomic(output, data)
        _echo(f"已写入：{output}（{model.name}，{ident.org_name or '未指定单位'}，模板编号 {ident.serial}）" if lang is Lang.zh else f"wrote {output} ({model.name}, serial {ident.serial})")
        return 0

    _run(body, lang)


@app.command()
def read(
    workbook: Path = typer.Argument(..., help="填报后的工作簿 / filled workbook"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="写出报告 JSON / write the report JSON"),
    schema: Optional[str] = SchemaOpt,
    fmt: Fmt = FormatOpt,
    strict: bool = typer.Option(False, "--strict", help="空白单元格视为错误 / blanks are errors"),
    lang: Lang = LangOpt,
    level: Optional[str] = LevelOpt,
    feedback: Optional[Path] = typer.Option(None, "--feedback", help="写出标注问题的反馈工作簿 / write a feedback workbook"),
) -> None:
    """读取填报后的工作簿，校验并输出 JSON。 Read a filled workbook back to validated JSON."""

    def body() -> int:
        from .fsutil import write_text_atomic
        from .model import load_model
        from .reader import read_workbook

        model = load_model(schema) if schema else None
        result = read_workbook(workbook, model=model, strict=strict, level=level)
        if output is not None:
            write_text_atomic(output, result.to_json())
        if feedback is not None:
            from .feedback import write_feedback

            write_feedback(workbook, result.issues, feedback, lang=lang.value)
        _emit_issues(result.issues, fmt, lang, {"file": str(workbook), "schema": result.model.name, "output": str(output) if output else None})
        return result.exit_code

    _run(body, lang)


@app.command()
def collect(
    inbox: Path = typer.Argument(..., help="收件箱目录（只读）/ inbox folder (never modified)"),
    archive: Path = typer.Option(..., "--archive", help="档案目录 / archive folder"),
    roster: Optional[Path] = typer.Option(None, "--roster", help="应报单位名单 CSV / roster CSV"),
    schema: Optional[str] = SchemaOpt,
    year: Optional[int] = typer.Option(None, "--year", help="报告年度，默认从文件推断 / report year"),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="并行进程数，默认为CPU核数 / worker processes"),
    strict: bool = typer.Option(False, "--strict", help="空白单元格视为错误 / blanks are errors"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="不显示进度 / no progress output"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出结果 / print the result as JSON"),
    lang: Lang = LangOpt,
) -> None:
    """收集收件箱中的填报文件，归档并生成状态表和反馈文件。 Collect an inbox into the archive."""

    def body() -> int:
        from .collect import collect as run_collect
        from .progress import ProgressRenderer

        if quiet or as_json:
            result = run_collect(inbox, archive, roster=roster, schema=schema, year=year, jobs=jobs, strict=strict)
        else:
            with ProgressRenderer(sys.stderr, lang=lang.value) as on_event:
                result = run_collect(inbox, archive, roster=roster, schema=schema, year=year, jobs=jobs, strict=strict, on_event=on_event)
        _echo(result.to_json() if as_json else result.summary(lang.value))
        return result.exit_code

    _run(body, lang)


@app.command()
def status(
    archive: Path = typer.Option(..., "--archive", help="档案目录 / archive folder"),
    year: Optional[int] = typer.Option(None, "--year", help="报告年度，默认最近一年 / report year"),
    schema: Optional[str] = SchemaOpt,
    fmt: Fmt = FormatOpt,
    lang: Lang = LangOpt,
) -> None:
    """显示收集情况总览。 Show the collection overview of an archive."""

    def body() -> int:
        from .status import load_status

        st = load_status(archive, year=year, schema=schema)
        _echo(st.to_json() if fmt is Fmt.json else st.to_text(lang.value))
        return st.exit_code

    _run(body, lang)


def main() -> None:
    """Console entry point."""
    app(prog_name="xltool")


if __name__ == "__main__":
    sys.exit(main())
