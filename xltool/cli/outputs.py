"""Commands on what the county hands on: aggregate, render, export."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import Fmt, FormatOpt, Lang, LangOpt, SchemaOpt, _echo, _run, app, guard_output

ArchiveOpt = typer.Option(..., "--archive", help="档案目录 / archive folder")


@app.command()
def aggregate(
    archive: Path = ArchiveOpt,
    year: int = typer.Option(..., "--year", help="报告年度 / report year"),
    schema: str | None = SchemaOpt,
    include: list[Path] = typer.Option(
        [], "--include", help="另加一份报告 JSON（可多次）/ add a report JSON (repeatable)"
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="汇总 JSON / summary JSON file"),
    xlsx: Path | None = typer.Option(None, "--xlsx", help="汇总工作簿（锁定模板＋各单位数据表）/ summary workbook"),
    org: str = typer.Option("", "--org", help="汇总报告的单位名称 / name on the summary"),
    fmt: Fmt = FormatOpt,
    lang: Lang = LangOpt,
) -> None:
    """县级汇总：已接收报告逐项相加，分层级小计，校验并列出缺报单位。 Sum a year's accepted reports."""

    def body() -> int:
        from ..base.errors import XltoolError
        from ..base.files import write_atomic, write_text_atomic
        from ..outputs.aggregate import aggregate as run_aggregate
        from ..outputs.paths import check_output
        from ..outputs.summary_workbook import summary_workbook

        guard_output(output, include)
        guard_output(xlsx, include)
        out = check_output(output, suffixes=(".json",), inputs=include, archive=archive) if output else None
        book = check_output(xlsx, suffixes=(".xlsx",), inputs=include, archive=archive) if xlsx else None
        if out is not None and book is not None and out.resolve() == book.resolve():
            raise XltoolError(
                "OUTPUT_TWICE", "-o 与 --xlsx 是同一个文件", "-o and --xlsx name the same file", path=str(out)
            )
        summary = run_aggregate(archive, year, schema=schema, include=include, org_name=org)
        if out is not None:
            write_text_atomic(out, summary.to_json())
        if book is not None:
            write_atomic(book, summary_workbook(summary))
        _echo(summary.to_json() if fmt is Fmt.json else summary.to_text(lang.value))
        return summary.exit_code

    _run(body, lang)


@app.command()
def export(
    archive: Path = ArchiveOpt,
    output: Path = typer.Option(..., "--output", "-o", help="table.csv | table.xlsx | table.jsonl"),
    year: int | None = typer.Option(None, "--year", help="只导出一个年度 / one year"),
    years: str | None = typer.Option(None, "--years", help="年度范围，如 2021-2025 / year range"),
    schema: str | None = SchemaOpt,
    labels: bool = typer.Option(False, "--labels", help="CSV 第二行加中文标签 / CSV: a second header row of labels"),
    lang: Lang = LangOpt,
) -> None:
    """导出归档为一张表（每单位每年一行）。 Export the archive as one flat table."""

    def body() -> int:
        from ..base.files import write_atomic
        from ..outputs.export import WRITERS, build_table, export_bytes
        from ..outputs.paths import check_output

        guard_output(output, [archive])
        out = check_output(output, suffixes=tuple(WRITERS), archive=archive)
        table = build_table(archive, year=year, years=years, schema=schema)
        write_atomic(out, export_bytes(table, out.suffix, labels=labels))
        n_years = len({r["year"] for r in table.rows})
        _echo(
            f"已导出 {len(table.rows)} 行（{n_years} 个年度，{len(table.columns)} 列）：{out}"
            if lang is Lang.zh
            else f"exported {len(table.rows)} row(s) ({n_years} year(s), {len(table.columns)} columns): {out}"
        )
        return 0

    _run(body, lang)


@app.command()
def render(
    report: Path | None = typer.Argument(None, help="报告 JSON 或归档中的报告 / report JSON or an archive entry"),
    output: Path | None = typer.Option(None, "--output", "-o", help="report.html | report.docx | report.pdf"),
    previous: Path | None = typer.Option(None, "--previous", help="上年报告 JSON（对比用）/ last year's report"),
    archive: Path | None = typer.Option(None, "--archive", help="档案目录：渲染一年的全部已接收报告 / archive folder"),
    year: int | None = typer.Option(None, "--year", help="与 --archive 同用 / with --archive"),
    out_dir: Path | None = typer.Option(None, "--out-dir", help="与 --archive 同用的输出目录 / output folder"),
    kinds: str = typer.Option("html,docx", "--as", help="与 --out-dir 同用：html,docx,pdf / formats for --out-dir"),
    schema: str | None = SchemaOpt,
    lang: Lang = LangOpt,
) -> None:
    """生成可公开发布的年度报告（HTML、DOCX、PDF）。 Render the publishable annual report."""

    def body() -> int:
        from ..base.errors import XltoolError
        from ..base.files import write_atomic
        from ..outputs.paths import check_output
        from ..outputs.render import SUFFIXES, document_for, render_bytes, render_year

        zh = lang is Lang.zh
        if archive is not None:
            if report is not None or output is not None or year is None or out_dir is None:
                raise XltoolError(
                    "BAD_ARGUMENTS",
                    "批量渲染用法：render --archive 目录 --year 年度 --out-dir 输出目录",
                    "batch use: render --archive DIR --year N --out-dir D",
                )
            guard_output(out_dir, [archive], folder=True)
            wanted = tuple("." + k.strip().lstrip(".").lower() for k in kinds.split(",") if k.strip())
            files = render_year(archive, year, out_dir, schema=schema, kinds=wanted)
            _echo(f"已生成 {len(files)} 个文件：{out_dir}" if zh else f"wrote {len(files)} file(s) into {out_dir}")
            return 0
        if report is None or output is None:
            raise XltoolError(
                "BAD_ARGUMENTS",
                "用法：render 报告.json -o 报告.html|.docx|.pdf",
                "use: render REPORT.json -o report.html|.docx|.pdf",
            )
        inputs = [report] + ([previous] if previous else [])
        guard_output(output, inputs)
        out = check_output(output, suffixes=SUFFIXES, inputs=inputs)
        doc = document_for(report, schema=schema, previous=previous)
        write_atomic(out, render_bytes(doc, out.suffix))
        _echo(f"已生成：{out}" if zh else f"wrote {out}")
        return 0

    _run(body, lang)
