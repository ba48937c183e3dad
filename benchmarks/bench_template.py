"""Template generation speed, in CPU time (medians after a warm-up; 5 engineers share 2 cores, so wall
time is noise):

- one template for both formats (`write_template`, the direct path), next to a floor measured in the
  same run (xlsxwriter writing the same number of plain cells, no styles, formulas or validation);
- a roster of `--roster` organisations written to files as `xltool template --roster` does
  (`write_roster_templates`, stamped from one rendering per shape, `template/stamp.py`) and, in the
  same run, the same files written directly, with the figures they give for 1,000;
- `xltool --help` in a fresh interpreter next to `python -c pass`, and the same for the CLI of
  another checkout (`--against /work/main`) when given.

    python benchmarks/bench_template.py [--n 50] [--roster 200] [--help-runs 20] [--against DIR]
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import xlsxwriter  # noqa: E402
from timing import cpu_median  # noqa: E402

from xltool.base.files import write_atomic  # noqa: E402
from xltool.spec.layout import build_layout  # noqa: E402
from xltool.spec.model import load_model  # noqa: E402
from xltool.spec.roster import Org  # noqa: E402
from xltool.template import stamp  # noqa: E402
from xltool.template.distribute import write_roster_templates  # noqa: E402
from xltool.template.writer import TemplateOptions, write_template  # noqa: E402

HELP = "import sys; sys.argv = ['xltool', '--help']; from xltool.cli import main; main()"


def child_cpu_ms(argv: list[str], cwd: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000


def floor(cells: int) -> None:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    for i in range(cells):
        ws.write_number(i // 10, i % 10, i)
    wb.close()


def roster(n: int) -> None:
    model = load_model("annual-report-2021")
    levels = list(model.levels)
    orgs = [Org(name=f"第{i}号测试乡人民政府", code="", level=levels[i % len(levels)]) for i in range(n)]
    base = TemplateOptions(year=2025, issue_date="2026-01-05", deadline="2026-01-31")

    def direct(out: Path) -> None:  # the same files, each written by write_template
        for i, org in enumerate(orgs):
            data, _ = write_template(model, replace(base, org_name=org.name, level=org.level))
            write_atomic(out / f"{i}.xlsx", data)

    for label, run in (("stamped", lambda out: write_roster_templates(model, orgs, out, base)), ("direct", direct)):
        stamp.counts.update(stamped=0, direct=0)
        with tempfile.TemporaryDirectory() as out:
            t = time.process_time()
            run(Path(out))
            cpu = time.process_time() - t
        made = f" ({stamp.counts['stamped']} stamped, {stamp.counts['direct']} direct)" if label == "stamped" else ""
        print(
            f"roster of {n}, {label}: {cpu:.2f} s CPU = {cpu / n * 1000:.1f} ms each{made}; 1,000 = {cpu / n * 1000:.1f} s"
        )


def help_start(runs: int, against: Path | None) -> None:
    trees = [("this checkout", ROOT)] + ([(str(against), against)] if against else [])
    variants = [(f"xltool --help, {name}", [sys.executable, "-c", HELP], tree) for name, tree in trees]
    variants.append(("python -c pass", [sys.executable, "-c", "pass"], ROOT))
    samples: dict[str, list[float]] = {label: [] for label, _, _ in variants}
    for i in range(runs + 2):  # interleaved, so load changes hit every variant alike
        for label, argv, cwd in variants:
            ms = child_cpu_ms(argv, cwd)
            if i >= 2:
                samples[label].append(ms)
    for label, found in samples.items():
        print(f"{label}: {statistics.median(found):.0f} ms CPU (median of {runs})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--roster", type=int, default=200)
    ap.add_argument("--help-runs", type=int, default=20)
    ap.add_argument("--against", type=Path, default=None, help="another checkout whose `xltool --help` to time")
    args = ap.parse_args()
    print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "CPU time (process_time / child rusage)")
    for name in ("annual-report-2021", "annual-report-2019"):
        model = load_model(name)
        layout = build_layout(model)
        cells = len(layout.fields) + sum(len(s.texts) for s in layout.sheets)
        opts = TemplateOptions(year=2025, org_name="某某镇人民政府", level="township", issue_date="2026-01-05")
        ms = cpu_median(lambda model=model, opts=opts: write_template(model, opts), args.n)
        fl = cpu_median(lambda cells=cells: floor(cells), args.n)
        print(f"{name}: {ms:.1f} ms per template, direct (median of {args.n}); floor {fl:.1f} ms for {cells} cells")
        names = iter(f"第{i}号测试乡人民政府" for i in range(10**6))

        def stamped(model=model, opts=opts, names=names) -> object:  # a new organisation each time
            return stamp.stamped_template(model, replace(opts, org_name=next(names)))

        st = cpu_median(stamped, args.n)
        print(f"{name}: {st:.1f} ms per template, stamped (median of {args.n}, a new organisation each)")
    if args.roster:
        roster(args.roster)
    if args.help_runs:
        help_start(args.help_runs, args.against)


if __name__ == "__main__":
    main()
