"""Commands on what the county hands on: aggregate, render, export."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import Fmt, FormatOpt, Lang, LangOpt, SchemaOpt, _echo, _run, app

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
