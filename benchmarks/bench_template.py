"""Template generation speed: ms per template for both formats, next to a floor measured in the
same run (xlsxwriter writing the same number of plain cells, no styles, formulas or validation),
and the CPU time of a roster of `--roster` organisations written to files (as `xltool template
--roster` does), with the figure it gives for 1,000.

    python benchmarks/bench_template.py [--n 50] [--roster 200]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import xlsxwriter  # noqa: E402

from xltool.spec.layout import build_layout  # noqa: E402
from xltool.spec.model import load_model  # noqa: E402
from xltool.spec.roster import Org  # noqa: E402
from xltool.template.distribute import write_roster_templates  # noqa: E402
from xltool.template.writer import TemplateOptions, write_template  # noqa: E402


def timed(fn, n: int) -> float:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1000


def floor(cells: int) -> None:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    for i in range(cells):
        ws.write_number(i // 10, i % 10, i)
    wb.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--roster", type=int, default=200)
    args = ap.parse_args()
    for name in ("annual-report-2021", "annual-report-2019"):
        model = load_model(name)
        layout = build_layout(model)
        cells = len(layout.fields) + sum(len(s.texts) for s in layout.sheets)
        opts = TemplateOptions(year=2025, org_name="某某镇人民政府", level="township", issue_date="2026-01-05")
        write_template(model, opts)  # warm caches (layout, compiled formulas)
        ms = timed(lambda model=model, opts=opts: write_template(model, opts), args.n)
        fl = timed(lambda cells=cells: floor(cells), args.n)
        print(f"{name}: {ms:.1f} ms per template (median of {args.n}); floor {fl:.1f} ms for {cells} plain cells")
    if args.roster:
        orgs = [Org(name=f"第{i}号测试乡人民政府", code="", level="township") for i in range(args.roster)]
        base = TemplateOptions(year=2025, issue_date="2026-01-05", deadline="2026-01-31")
        with tempfile.TemporaryDirectory() as out:
            t = time.process_time()
            write_roster_templates(load_model("annual-report-2021"), orgs, Path(out), base)
            cpu = time.process_time() - t
        print(f"roster of {args.roster}: {cpu:.1f} s CPU ({cpu / args.roster * 1000:.1f} s for 1,000)")


if __name__ == "__main__":
    main()
