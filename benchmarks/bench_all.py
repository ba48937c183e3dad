"""Every figure of issue #13 in one table: each measured next to its floor from the same run, the
ratio and the target. `make bench` runs it.

    .venv/bin/python benchmarks/bench_all.py                 # collect of 1,000 files
    .venv/bin/python benchmarks/bench_all.py --n 10000 --corpus /tmp/xltool-corpus   # the province run
    .venv/bin/python benchmarks/bench_all.py --results /tmp/table.md    # the table, dated, also to a file

The corpus is generated here (`bench_collect.make_corpus`: a few hundred filled workbooks written,
every tenth with a rule error, the rest derived by editing the organisation's identity; `--corpus
DIR` keeps it for the next run), a share re-saved by LibreOffice when `soffice` is installed. Per-file figures are medians of CPU time
(`time.process_time`, at least 20 runs) so that other load on the machine counts less; collect is
wall time with the peak RSS of the whole process tree sampled from /proc; CLI figures are the CPU
time of the child process (median of 5).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from bench_collect import DISTINCT, make_corpus, measure_collect  # noqa: E402
from timing import cpu_median, floor  # noqa: E402

from xltool.read.feedback import write_feedback  # noqa: E402
from xltool.read.reader import read_workbook  # noqa: E402
from xltool.spec.model import load_model  # noqa: E402
from xltool.template.writer import TemplateOptions, write_template  # noqa: E402

ROWS: list[tuple[str, str, str, str, str]] = []  # figure, measured, floor, ratio, target


def row(figure: str, measured: str, floor_: str = "", ratio: str = "", target: str = "") -> None:
    ROWS.append((figure, measured, floor_, ratio, target))
    print(f"  {figure}: {measured}  floor {floor_ or '-'}  ratio {ratio or '-'}  target {target or '-'}", flush=True)


def libreoffice_resave(files: list[Path], out: Path, work: Path) -> list[Path]:
    if not shutil.which("soffice"):
        return []
    profile = (work / "lo-profile").as_uri()
    cmd = ["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "xlsx:Calc MS Excel 2007 XML"]
    subprocess.run([*cmd, "--outdir", str(out), *map(str, files)], check=True, capture_output=True, timeout=600)
    return sorted(out.glob("*.xlsx"))


def bench_reads(files: dict[str, list[Path]], n: int, work: Path) -> None:
    model = load_model("annual-report-2021")
    for label, paths in files.items():
        if not paths:
            row(f"read + validate, {label}", "not measured (LibreOffice not installed)")
            continue
        per = [cpu_median(lambda p=p: read_workbook(p, model=model), n) for p in paths]
        low = [cpu_median(lambda p=p: floor(p), n) for p in paths]
        ms, fl = statistics.median(per), statistics.median(low)
        row(f"read + validate, {label}", f"{ms:.1f} ms", f"{fl:.1f} ms", f"{ms / fl:.1f}x", "<= 3x floor")
    bad = next(p for p in files["own-written"] if read_workbook(p, model=model).exit_code == 1)
    issues = read_workbook(bad, model=model).issues
    read_ms = cpu_median(lambda: read_workbook(bad, model=model), n)
    fb = cpu_median(lambda: write_feedback(bad, issues, work / "feedback.xlsx"), max(5, n // 4))
    row(
        "feedback workbook (1 file in 10)",
        f"{fb:.1f} ms",
        f"read {read_ms:.1f} ms",
        f"{fb / read_ms:.1f}x",
        "<= 2x a read",
    )


def bench_template(n: int) -> None:
    import xlsxwriter

    model = load_model("annual-report-2021")
    opts = TemplateOptions(year=2025, org_name="示例镇人民政府", level="township", issue_date="2026-01-05")
    ms = cpu_median(lambda: write_template(model, opts), n)
    cells = len(model.fields)

    def plain() -> None:
        wb = xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True})
        ws = wb.add_worksheet()
        for i in range(cells * 3):
            ws.write(i // 10, i % 10, i)
        wb.close()

    fl = cpu_median(plain, n)
    row(
        "template, one organisation",
        f"{ms:.1f} ms",
        f"{fl:.1f} ms (xlsxwriter, plain cells)",
        f"{ms / fl:.1f}x",
        "<= 25 ms",
    )
    roster_cpu, roster_wall = roster_run(1000)
    row(
        "template, 1,000-organisation roster (`xltool template --roster`)",
        f"{roster_cpu:.1f} s CPU, {roster_wall:.1f} s wall",
        "",
        "",
        "<= 30 s",
    )


def roster_run(n: int) -> tuple[float, float]:
    """CPU and wall seconds of the real command writing n organisations' templates and the manifest
    (four levels, as a county's roster has)."""
    levels = ("township", "county_department", "township", "county")
    with tempfile.TemporaryDirectory(prefix="xltool-roster-") as tmp:
        csv_path = Path(tmp) / "roster.csv"
        lines = ["name,code,level"] + [f"第{i}号测试单位人民政府,,{levels[i % len(levels)]}" for i in range(n)]
        csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        exe = str(ROOT / ".venv" / "bin" / "xltool") if (ROOT / ".venv" / "bin" / "xltool").exists() else "xltool"
        cmd = [exe, "template", "--roster", str(csv_path), "--out-dir", str(Path(tmp) / "out"), "--year", "2025"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        done = subprocess.run(cmd + ["--issue-date", "2026-01-05"], capture_output=True, timeout=600)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"roster run failed: {done.stderr.decode(errors='replace')[-500:]}")
        written = len(list((Path(tmp) / "out").glob("*.xlsx")))
        if written != n:
            raise SystemExit(f"roster run wrote {written} templates, expected {n}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def cli_cpu(args: list[str], n: int = 5) -> float:
    exe = str(ROOT / ".venv" / "bin" / "xltool") if (ROOT / ".venv" / "bin" / "xltool").exists() else "xltool"
    return statistics.median(_child_cpu([exe, *args]) for _ in range(n))


def bench_cli(work: Path) -> None:
    empty = work / "empty.xlsx"
    empty.write_bytes(b"")
    python = statistics.median(_child_cpu([sys.executable, "-c", "pass"]) for _ in range(5))  # the interpreter alone
    help_ms = cli_cpu(["--help"])
    row(
        "xltool --help (CPU)",
        f"{help_ms:.0f} ms",
        f"{python:.0f} ms (python -c pass)",
        f"{help_ms / python:.1f}x",
        "<= 300 ms",
    )
    read_ms = cli_cpu(["read", str(empty)])
    row(
        "xltool read <empty file> (CPU)",
        f"{read_ms:.0f} ms",
        f"{python:.0f} ms",
        f"{read_ms / python:.1f}x",
        "<= 500 ms",
    )


def _child_cpu(cmd: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, capture_output=True, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000


def bench_collect(inbox: Path, archive: Path, jobs: int) -> None:
    files = sorted(inbox.rglob("*.xlsx"))
    t = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(floor, files, chunksize=16))
    fl = time.perf_counter() - t
    r = measure_collect(inbox, archive, jobs)
    n, total = r["files"], r["wall"]
    projected = total / n * 10_000
    row(
        f"collect first run, {n} files, {jobs} jobs (wall)",
        f"{n / total:.0f} files/s, {total:.1f} s (10,000: {projected:.0f} s)",
        f"{n / fl:.0f} files/s",
        f"{total / fl:.1f}x",
        "10,000 <= 120 s",
    )
    row(
        "collect phases (wall)",
        f"reading {r['read_phase']:.1f} s, reconcile and archive JSON until the first feedback file {r['archive_json']:.1f} s, feedback workbooks "
        f"{r['feedback']:.1f} s, status workbook and rest {r['status_rest']:.1f} s",
        "",
        "",
        f"without feedback {r['wall'] - r['feedback']:.1f} s",
    )
    row(
        "collect CPU: parent / workers reading (per file)",
        f"{r['parent_cpu'] / n * 1000:.1f} ms / {r['worker_read_cpu'] / max(1, r['reads']) * 1000:.1f} ms",
        "",
        "",
        "",
    )
    row(
        "collect peak RSS, whole process tree (sampled)",
        f"{r['tree_peak']:.0f} MiB (parent {r['parent_peak']:.0f}, largest worker {r['worker_peak']:.0f})",
        "",
        "",
        "<= 300 MiB, flat",
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="workbooks for the collect run (default 1,000)")
    ap.add_argument("--reps", type=int, default=20, help="runs per CPU median (default 20)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--results", type=Path, help="also write the table, dated, to this Markdown file (replacing it)")
    ap.add_argument("--corpus", type=Path, help="keep the generated workbooks in this folder and reuse them")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xltool-bench-"))
    try:
        inbox = (args.corpus or work) / f"inbox-{args.n}"
        spent = make_corpus(inbox, args.n, args.jobs)
        print(f"corpus: {args.n} workbooks in {spent:.0f} s ({DISTINCT} written, the rest derived)", flush=True)
        own = sorted(inbox.rglob("*.xlsx"))[:10]  # the tenth has a rule error
        lo = libreoffice_resave(own[5:], work / "lo", work)
        bench_reads({"own-written": own, "LibreOffice-saved": lo}, args.reps, work)
        bench_template(args.reps)
        bench_cli(work)
        bench_collect(inbox, work / "archive", args.jobs)
        table(args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def table(args: argparse.Namespace) -> None:
    head = "| figure | measured | floor (same run) | ratio | target |\n|---|---|---|---|---|\n"
    body = "".join(f"| {' | '.join(r)} |\n" for r in ROWS)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = f"{stamp}, {os.cpu_count()} cores, `bench_all.py --n {args.n} --reps {args.reps}`\n\n{head}{body}"
    print("\n" + text)
    if args.results:
        args.results.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
