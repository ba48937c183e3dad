"""Commands on one report: schemas, validate, template, fill, read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from ..check.issues import exit_code
from .common import Fmt, FormatOpt, Lang, LangOpt, LevelOpt, SchemaOpt, _echo, _emit_issues, _run, _today, app


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
        from ..check.report_json import detect_schema, load_report
        from ..check.validate import validate_report
        from ..spec.model import load_model

        doc = load_report(report)
        model = load_model(schema or detect_schema(doc))
        meta = doc.get("_meta") if isinstance(doc.get("_meta"), dict) else {}
        lvl = (
            level
            or (meta.get("level") if isinstance(meta.get("level"), str) else None)
            or (meta.get("template", {}) or {}).get("level")
            or None
        )
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
    output: Path | None = typer.Option(None, "-o", "--output", help="输出文件 / output file"),
    year: int | None = typer.Option(None, "--year", help="报告年度 / report year"),
    org: str = typer.Option("", "--org", help="发放给的单位名称 / organisation name"),
    org_code: str = typer.Option("", "--org-code", help="统一社会信用代码 / organisation code"),
    level: str = typer.Option("", "--level", help="单位层级 / organisation level"),
    deadline: str = typer.Option("", "--deadline", help="报送截止日期 / deadline"),
    contact: str = typer.Option("", "--contact", help="联系人及电话 / contact"),
    password: str = typer.Option("", "--password", help="保护密码（可选）/ protection password"),
    issue_date: str | None = typer.Option(None, "--issue-date", help="发放日期 YYYY-MM-DD，默认今天 / issue date"),
    roster: Path | None = typer.Option(None, "--roster", help="名单 CSV：每个单位一个模板 / roster CSV"),
    out_dir: Path | None = typer.Option(None, "--out-dir", help="名单模板输出目录 / folder for roster templates"),
    portal: str = typer.Option(
        "", "--portal", help="门户地址：把各单位的上传链接写入模板 / portal URL: links on templates"
    ),
    archive: Path | None = typer.Option(None, "--archive", help="门户的档案目录（--portal 用）/ the portal's archive"),
    lang: Lang = LangOpt,
) -> None:
    """生成锁定的填报模板（可按名单批量生成）。 Write a locked template, or one per roster organisation."""

    def body() -> int:
        from ..base.errors import XltoolError as Err
        from ..base.files import write_atomic
        from ..spec.model import load_model
        from ..template.writer import TemplateOptions, write_template

        model = load_model(schema)
        if level and level not in model.levels:
            raise Err(
                "BAD_ARGUMENT",
                f"层级“{level}”无效，应为：{'、'.join(model.levels)}",
                f"level '{level}' is not one of {', '.join(model.levels)}",
            )
        date = issue_date or _today()
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            raise Err(
                "BAD_ARGUMENT", f"发放日期“{date}”应为 YYYY-MM-DD", f"issue date '{date}' must be YYYY-MM-DD"
            ) from None
        base = TemplateOptions(
            year=year,
            org_name=org,
            org_code=org_code,
            level=level,
            deadline=deadline,
            contact=contact,
            password=password,
            issue_date=date,
        )
        if roster is not None:
            from ..spec.roster import load_roster
            from ..template.distribute import write_roster_templates
            from .serve import portal_links

            if out_dir is None:
                raise Err("BAD_ARGUMENT", "使用 --roster 时须给出 --out-dir", "--roster needs --out-dir")
            orgs = load_roster(roster, model.levels)
            links = portal_links(portal, archive, model.name, year, orgs) if portal else None
            written = write_roster_templates(model, orgs, out_dir, base, links)
            _echo(
                f"已生成 {len(written)} 个模板：{out_dir}（清单 manifest.csv）"
                if lang is Lang.zh
                else f"wrote {len(written)} templates to {out_dir} (manifest.csv)"
            )
            return 0
        if portal:
            raise Err("BAD_ARGUMENT", "--portal 须与 --roster 一起使用", "--portal needs --roster")
        target = output or Path(f"{model.name}{'-' + str(year) if year else ''}-template.xlsx")
        data, ident = write_template(model, base)
        write_atomic(target, data)
        _echo(
            f"已生成模板：{target}（{model.name}，模板编号 {ident.serial}）"
            if lang is Lang.zh
            else f"wrote {target} ({model.name}, serial {ident.serial})"
        )
        return 0

    _run(body, lang)


@app.command()
def fill(
    report: Path = typer.Argument(..., help="报告 JSON 文件 / report JSON file"),
    output: Path = typer.Option(..., "-o", "--output", help="输出的已填模板 / filled workbook to write"),
    schema: str | None = SchemaOpt,
    year: int | None = typer.Option(None, "--year", help="报告年度，默认取自报告 / report year"),
    org: str | None = typer.Option(None, "--org", help="发放给的单位，默认取自报告 / organisation"),
    org_code: str | None = typer.Option(None, "--org-code", help="统一社会信用代码 / organisation code"),
    level: str | None = typer.Option(None, "--level", help="单位层级 / organisation level"),
    issue_date: str | None = typer.Option(None, "--issue-date", help="发放日期 YYYY-MM-DD / issue date"),
    lang: Lang = LangOpt,
) -> None:
    """把报告 JSON 写入新模板（结转上年数据、重发更正文件）。 Write a report into a fresh template."""

    def body() -> int:
        from ..base.files import write_atomic
        from ..template.fill import fill_report

        data, ident, model = fill_report(
            report, schema=schema, year=year, org=org, org_code=org_code, level=level, issue_date=issue_date or _today()
        )
        write_atomic(output, data)
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
    output: Path | None = typer.Option(None, "-o", "--output", help="写出报告 JSON / write the report JSON"),
    schema: str | None = SchemaOpt,
    fmt: Fmt = FormatOpt,
    strict: bool = typer.Option(False, "--strict", help="空白单元格视为错误 / blanks are errors"),
    lang: Lang = LangOpt,
    level: str | None = LevelOpt,
    feedback: Path | None = typer.Option(
        None, "--feedback", help="写出标注问题的反馈工作簿 / write a feedback workbook"
    ),
) -> None:
    """读取填报后的工作簿，校验并输出 JSON。 Read a filled workbook back to validated JSON."""

    def body() -> int:
        from ..base.files import write_text_atomic
        from ..read.reader import read_workbook
        from ..spec.model import load_model

        model = load_model(schema) if schema else None
        result = read_workbook(workbook, model=model, strict=strict, level=level)
        if output is not None:
            write_text_atomic(output, result.to_json())
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
