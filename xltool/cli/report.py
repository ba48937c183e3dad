"""Commands on one report: schemas, validate, template, fill, read."""

from __future__ import annotations

from pathlib import Path

import typer

from ..base.errors import XltoolError
from .common import (
    OUTPUT_HELP,
    Fmt,
    FormatOpt,
    Lang,
    LangOpt,
    LevelOpt,
    SchemaOpt,
    _echo,
    _emit_issues,
    _run,
    _today,
    app,
    guard_output,
    write_output,
)

LEVEL_HELP = "单位层级：township、county_department、county、other / organisation level"


@app.command()
def schemas(
    check: Path | None = typer.Option(None, "--check", help="检查一个模式文件 / lint a schema file"),
    lang: Lang = LangOpt,
) -> None:
    """列出内置模式，或检查模式文件。 List built-in schemas, or lint a schema file."""

    def body() -> int:
        from ..spec.dialect import lint
        from ..spec.model import load_model
        from ..spec.schemas import builtin_names, load_source

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
    schema: str | None = SchemaOpt,
    fmt: Fmt = FormatOpt,
    strict: bool = typer.Option(False, "--strict", help="警告也视为错误 / treat warnings as errors"),
    lang: Lang = LangOpt,
    level: str | None = LevelOpt,
    previous: Path | None = typer.Option(
        None, "--previous", help="同一单位上年度的报告 JSON，用于跨年度核对 / last year's report, for cross-year rules"
    ),
) -> None:
    """校验报告 JSON。 Validate a report JSON file."""

    def body() -> int:
        from ..check.issues import exit_code
        from ..check.report_json import detect_schema, load_report, report_level
        from ..check.validate import validate_report
        from ..spec.identity import check_level
        from ..spec.model import load_model

        doc = load_report(report)
        model = load_model(schema or detect_schema(doc))
        check_level(level, model.levels)
        lvl = level or report_level(doc)
        prev = None
        if previous is not None:
            from ..check.evaluate import pick, previous_pointers

            prev = pick(load_report(previous), previous_pointers(model))
        issues = validate_report(model, doc, level=lvl, previous=prev)
        _emit_issues(issues, fmt, lang, {"file": str(report), "schema": model.name})
        code = exit_code(issues)
        if strict and issues:
            code = 1
        return code

    _run(body, lang)


@app.command()
def template(
    schema: str | None = SchemaOpt,
    output: Path | None = typer.Option(None, "-o", "--output", help="输出文件 / output file. " + OUTPUT_HELP),
    year: int | None = typer.Option(
        None, "--year", help="报告年度，决定格式（≤2020 为2019版）/ report year, chooses the format (≤ 2020: 2019)"
    ),
    org: str = typer.Option("", "--org", help="发放给的单位名称 / organisation name"),
    org_code: str = typer.Option("", "--org-code", help="统一社会信用代码（18位，含校验位）/ organisation code"),
    level: str = typer.Option("", "--level", help=LEVEL_HELP),
    deadline: str = typer.Option("", "--deadline", help="报送截止日期 YYYY-MM-DD / deadline"),
    contact: str = typer.Option("", "--contact", help="联系人及电话 / contact"),
    password: str = typer.Option("", "--password", help="保护密码（可选）/ protection password"),
    issue_date: str | None = typer.Option(None, "--issue-date", help="发放日期 YYYY-MM-DD，默认今天 / issue date"),
    roster: Path | None = typer.Option(None, "--roster", help="名单 CSV：每个单位一个模板 / roster CSV"),
    out_dir: Path | None = typer.Option(
        None, "--out-dir", help="名单模板输出目录，不存在时创建 / folder for roster templates, created if missing"
    ),
    portal: str = typer.Option(
        "", "--portal", help="门户地址：把各单位的上传链接写入模板 / portal URL: links on templates"
    ),
    archive: Path | None = typer.Option(None, "--archive", help="门户的档案目录（--portal 用）/ the portal's archive"),
    lang: Lang = LangOpt,
) -> None:
    """生成锁定的填报模板（可按名单批量生成）。 Write a locked template, or one per roster organisation."""

    def body() -> int:
        from ..spec.identity import check_code, check_level, deadline_warning, model_for, parse_date
        from ..template.writer import TemplateOptions, write_template

        model = model_for(schema, year)
        check_level(level, model.levels)
        issued = parse_date(issue_date or _today(), "--issue-date")
        due = parse_date(deadline, "--deadline") if deadline.strip() else None
        base = TemplateOptions(
            year=year,
            org_name=org,
            org_code=check_code(org_code),
            level=level,
            deadline=due.isoformat() if due else "",
            contact=contact,
            password=password,
            issue_date=issued.isoformat(),
        )
        late = deadline_warning(due, issued)
        if roster is not None:
            from ..spec.roster import load_roster
            from ..template.distribute import write_roster_templates
            from .serve import portal_links

            if out_dir is None:
                raise XltoolError("BAD_ARGUMENT", "使用 --roster 时须给出 --out-dir", "--roster needs --out-dir")
            guard_output(out_dir, [roster], folder=True)
            for listing in ("manifest.csv", "manifest.json"):  # written beside the templates
                guard_output(out_dir / listing, [roster])
            orgs = load_roster(roster, model.levels)
            for org_row in orgs:  # roster deadlines were checked and written as YYYY-MM-DD by load_roster
                late = late or deadline_warning(parse_date(org_row.deadline) if org_row.deadline else due, issued)
            links = portal_links(portal, archive, model.name, year, orgs) if portal else None
            written = write_roster_templates(model, orgs, out_dir, base, links)
            _warn(late, lang)
            _echo(
                f"已生成 {len(written)} 个模板：{out_dir}（清单 manifest.csv）"
                if lang is Lang.zh
                else f"wrote {len(written)} templates to {out_dir} (manifest.csv)"
            )
            return 0
        if portal:
            raise XltoolError("BAD_ARGUMENT", "--portal 须与 --roster 一起使用", "--portal needs --roster")
        target = output or Path(f"{model.name}{'-' + str(year) if year else ''}-template.xlsx")
        guard_output(target, [])
        data, ident = write_template(model, base)
        write_output(target, data)
        _warn(late, lang)
        _echo(
            f"已生成模板：{target}（{model.name}，模板编号 {ident.serial}）"
            if lang is Lang.zh
            else f"wrote {target} ({model.name}, serial {ident.serial})"
        )
        return 0

    _run(body, lang)


def _warn(message: tuple[str, str] | None, lang: Lang) -> None:
    if message:
        _echo(f"[DEADLINE_BEFORE_ISSUE] {message[1] if lang is Lang.en else message[0]}", err=True)


@app.command()
def fill(
    report: Path = typer.Argument(..., help="报告 JSON 文件 / report JSON file"),
    output: Path = typer.Option(
        ..., "-o", "--output", help="输出的已填模板 / filled workbook to write. " + OUTPUT_HELP
    ),
    template: Path | None = typer.Option(
        None,
        "--template",
        help="填入已下发的模板（保留其标识、截止日期和联系人）/ fill an issued template, keeping its identity",
    ),
    schema: str | None = SchemaOpt,
    year: int | None = typer.Option(None, "--year", help="报告年度，默认取自报告 / report year"),
    org: str | None = typer.Option(None, "--org", help="发放给的单位，默认取自报告 / organisation"),
    org_code: str | None = typer.Option(None, "--org-code", help="统一社会信用代码 / organisation code"),
    level: str | None = typer.Option(None, "--level", help=LEVEL_HELP),
    issue_date: str | None = typer.Option(None, "--issue-date", help="发放日期 YYYY-MM-DD / issue date"),
    lang: Lang = LangOpt,
) -> None:
    """把报告 JSON 写入新模板或已下发的模板（结转上年数据、重发更正文件）。 Write a report into a template."""

    def body() -> int:
        from ..spec.identity import check_code, parse_date
        from ..template.fill import fill_report

        guard_output(output, [report, template])
        issued = None
        if template is not None:
            from ..read.reader import read_workbook

            issued = read_workbook(template).identity
        data, ident, model = fill_report(
            report,
            schema=schema,
            year=year,
            org=org,
            org_code=check_code(org_code) if org_code is not None else None,
            level=level,
            issue_date=parse_date(issue_date, "--issue-date").isoformat() if issue_date else _today(),
            issued=issued,
        )
        write_output(output, data)
        _echo(
            f"已写入：{output}（{model.name}，{ident.org_name or '未指定单位'}，模板编号 {ident.serial}）"
            if lang is Lang.zh
            else f"wrote {output} ({model.name}, serial {ident.serial})"
        )
        return 0

    _run(body, lang)


@app.command()
def read(
    workbook: Path = typer.Argument(..., help="填报后的工作簿 / filled workbook"),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="写出报告 JSON / write the report JSON. " + OUTPUT_HELP
    ),
    schema: str | None = SchemaOpt,
    fmt: Fmt = FormatOpt,
    strict: bool = typer.Option(False, "--strict", help="空白单元格视为错误 / blanks are errors"),
    lang: Lang = LangOpt,
    level: str | None = LevelOpt,
    feedback: Path | None = typer.Option(
        None, "--feedback", help="写出标注问题的反馈工作簿 / write a feedback workbook. " + OUTPUT_HELP
    ),
) -> None:
    """读取填报后的工作簿，校验并输出 JSON。 Read a filled workbook back to validated JSON."""

    def body() -> int:
        from ..read.reader import read_workbook
        from ..spec.identity import check_level
        from ..spec.model import load_model

        guard_output(output, [workbook, feedback])
        guard_output(feedback, [workbook, output])
        model = load_model(schema) if schema else None
        result = read_workbook(workbook, model=model, strict=strict, level=level)
        check_level(level, result.model.levels)
        if output is not None:
            write_output(output, result.to_json())
        if feedback is not None:
            from ..read.feedback import write_feedback

            write_feedback(workbook, result.issues, feedback, lang=lang.value)
        _emit_issues(
            result.issues,
            fmt,
            lang,
            {"file": str(workbook), "schema": result.model.name, "output": str(output) if output else None},
        )
        return result.exit_code

    _run(body, lang)
