"""Commands on an inbox and the archive: collect, status."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from .common import Fmt, FormatOpt, Lang, LangOpt, SchemaOpt, _echo, _run, app, guard_output


@app.command()
def collect(
    inbox: Path = typer.Argument(..., help="收件箱目录（只读）/ inbox folder (never modified)"),
    archive: Path = typer.Option(..., "--archive", help="档案目录，不存在时创建 / archive folder, created if missing"),
    roster: Path | None = typer.Option(None, "--roster", help="应报单位名单 CSV / roster CSV"),
    schema: str | None = SchemaOpt,
    year: int | None = typer.Option(None, "--year", help="报告年度，默认从文件推断 / report year"),
    jobs: int | None = typer.Option(None, "--jobs", "-j", help="并行进程数，默认为CPU核数 / worker processes"),
    strict: bool = typer.Option(False, "--strict", help="空白单元格视为错误 / blanks are errors"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="不显示进度 / no progress output"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出结果 / print the result as JSON"),
    lang: Lang = LangOpt,
) -> None:
    """收集收件箱中的填报文件，归档并生成状态表和反馈文件。 Collect an inbox into the archive."""

    def body() -> int:
        from ..collect.progress import ProgressRenderer
        from ..collect.run import collect as run_collect

        guard_output(archive, [inbox], folder=True)
        if quiet or as_json:
            result = run_collect(inbox, archive, roster=roster, schema=schema, year=year, jobs=jobs, strict=strict)
        else:
            with ProgressRenderer(sys.stderr, lang=lang.value) as on_event:
                result = run_collect(
                    inbox, archive, roster=roster, schema=schema, year=year, jobs=jobs, strict=strict, on_event=on_event
                )
        _echo(result.to_json() if as_json else result.summary(lang.value))
        return result.exit_code

    _run(body, lang)


@app.command()
def status(
    archive: Path = typer.Option(..., "--archive", help="档案目录 / archive folder"),
    year: int | None = typer.Option(None, "--year", help="报告年度，默认最近一年 / report year"),
    schema: str | None = SchemaOpt,
    fmt: Fmt = FormatOpt,
    lang: Lang = LangOpt,
) -> None:
    """显示收集情况总览。 Show the collection overview of an archive."""

    def body() -> int:
        from ..collect.status import load_status

        st = load_status(archive, year=year, schema=schema)
        _echo(st.to_json() if fmt is Fmt.json else st.to_text(lang.value))
        return st.exit_code

    _run(body, lang)
