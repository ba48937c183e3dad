"""Benchmark: `collect` of N generated workbooks on this machine, next to a floor.

    .venv/bin/python benchmarks/bench_collect.py            # N = 200
    .venv/bin/python benchmarks/bench_collect.py --n 10000 --keep /tmp/xltool-bench   # the province run

Prints for a first collect (read, reconcile, archive, feedback and status workbooks): files/s, the
wall time of each phase (from the progress events), the parent's CPU time and the workers' read CPU
time, and peak RSS; then a second run on the same inbox (nothing new: scan and compare only). RSS is
sampled from /proc every 0.1 s over the whole process tree (this process, the forkserver and every
worker): `/usr/bin/time` and `getrusage` miss the forkserver's workers. The floor, measured in the
same run on the same files: unzip every part and parse every sheet's XML, on `--jobs` processes.

The corpus: `DISTINCT` workbooks written by the template writer and filled (every tenth with a rule
error, so feedback workbooks are part of the work), the others derived from them by changing only
the organisation's name, code and template serial in the XML (distinct organisations, a few ms a
file). `--keep DIR` keeps it in `DIR/inbox-N` and reuses it on the next run.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xltool.check.evaluate import flatten  # noqa: E402
from xltool.collect.run import collect  # noqa: E402
from xltool.collect.tasks import read_task  # noqa: E402
from xltool.spec.identity import KEYS, NAME_PREFIX, Identity, with_check_character  # noqa: E402
from xltool.spec.model import load_model  # noqa: E402
from xltool.template.writer import TemplateOptions, write_template  # noqa: E402

SCHEMA = "annual-report-2021"
DISTINCT = 200  # workbooks written by the template writer; the rest of a corpus is derived from them


def _org(i: int) -> tuple[str, str]:
    return f"基准测试第{i:05d}号乡人民政府", with_check_character(f"11330000MB{i:07d}")


def _make(args: tuple[Path, int]) -> None:
    folder, i = args
    model = load_model(SCHEMA)
    base = flatten(model, json.loads((ROOT / "samples" / "synthetic-2021.json").read_text(encoding="utf-8")))
    name, code = _org(i)
    vals = {**base, "/organization/name": name, "/organization/code": code, "/proactive/licensing/decisions": i}
    if i % 10 == 9:  # a rule error: a feedback workbook to write
        vals["/applications/received/natural_person"] = 99
    data, _ = write_template(
        model,
        TemplateOptions(
            year=2023, org_name=name, org_code=code, level="township", issue_date="2024-01-05", values=vals
        ),
    )
    (folder / f"{i // 100:03d}").mkdir(exist_ok=True)
    (folder / f"{i // 100:03d}" / f"{name}.xlsx").write_bytes(data)


def _path(folder: Path, i: int) -> Path:
    return folder / f"{i // 100:03d}" / f"{_org(i)[0]}.xlsx"


def _identity(data: bytes) -> Identity:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        custom = z.read("docProps/custom.xml").decode("utf-8")
    props = dict(re.findall(r'name="' + re.escape(NAME_PREFIX) + r'(\w+)"><vt:\w+>([^<]*)<', custom))
    return Identity(**{k: props.get(k, "") for k in KEYS})


def _derive(args: tuple[Path, int, int]) -> None:
    """Workbook `i` from written workbook `base` (same data, every tenth with its rule error): only
    the organisation's name, code and the template serial change, by a plain text edit of the XML
    parts (same lengths, so nothing else moves). A few ms instead of a template write and fill."""
    folder, base, i = args
    data = _path(folder, base).read_bytes()
    old = _identity(data)
    name, code = _org(i)
    new = dataclasses.replace(old, org_name=name, org_code=code).with_serial()
    edits = [(old.org_name, name), (old.org_code, code), (old.serial, new.serial)]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            part = src.read(info)
            if info.filename.endswith(".xml"):
                for a, b in edits:
                    part = part.replace(a.encode("utf-8"), b.encode("utf-8"))
            dst.writestr(info, part, compress_type=zipfile.ZIP_DEFLATED)
    target = _path(folder, i)
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(out.getvalue())


def make_corpus(folder: Path, n: int, jobs: int) -> float:
    """`n` filled workbooks of distinct organisations in `folder` (kept: a folder that already holds
    them is reused); returns the seconds spent. `DISTINCT` are written by the template writer, the
    others derived from them (`_derive`)."""
    t = time.perf_counter()
    todo = [i for i in range(n) if not _path(folder, i).is_file()]
    if not todo:
        return 0.0
    folder.mkdir(parents=True, exist_ok=True)
    written = [i for i in todo if i < DISTINCT]
    derived = [(folder, i % DISTINCT, i) for i in todo if i >= DISTINCT]
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(_make, [(folder, i) for i in written], chunksize=8))
        list(pool.map(_derive, derived, chunksize=64))
    return time.perf_counter() - t


def _parse(path: Path) -> int:
    """The floor for one file: inflate every part, parse every worksheet's XML."""
    cells = 0
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                cells += sum(
                    1
                    for _ in ElementTree.fromstring(data).iter(
                        "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}c"
                    )
                )
    return cells


class _Sampler(threading.Thread):
    """Peak RSS of this process, of its largest descendant and of the whole tree, sampled from /proc
    every 0.1 s (the process tree itself is listed again every 0.5 s: workers live for seconds).
    `cpu` is this thread's own CPU time, to take off the parent's figure."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.self_peak = 0.0  # MiB, this (the parent) process
        self.worker_peak = 0.0  # MiB, largest single descendant
        self.tree_peak = 0.0  # MiB, this process and all descendants together
        self.cpu = 0.0
        self.samples: list[tuple[float, float]] = []  # (perf_counter, parent MiB): per-stage peaks

    def _descendants(self) -> list[int]:
        parent: dict[int, int] = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    parent[int(d)] = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    pass
        mine, out = {os.getpid()}, []
        changed = True
        while changed:
            changed = False
            for pid, ppid in parent.items():
                if ppid in mine and pid not in mine:
                    mine.add(pid)
                    out.append(pid)
                    changed = True
        return out

    @staticmethod
    def _rss(pid: int) -> float:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def run(self) -> None:
        tick, pids = 0, []
        while not self.stop.wait(0.1):
            if tick % 5 == 0:
                pids = self._descendants()
            tick += 1
            own = self._rss(os.getpid())
            sizes = [self._rss(pid) for pid in pids]
            self.self_peak = max(self.self_peak, own)
            self.samples.append((time.perf_counter(), own))
            self.worker_peak = max([self.worker_peak, *sizes])
            self.tree_peak = max(self.tree_peak, own + sum(sizes))
        self.cpu = time.thread_time()


def timed_read(task: dict[str, Any]) -> dict[str, Any]:
    """`read_task` that also reports its CPU seconds (in the worker), for the breakdown."""
    t = time.process_time()
    result = read_task(task)
    result["bench_cpu"] = time.process_time() - t
    return result


class _Phases:
    """Wall-clock marks of a collect run, from its progress events only."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.marks: dict[str, float] = {}

    def __call__(self, e: Any) -> None:
        now = time.perf_counter() - self.t0
        self.marks.setdefault(e.kind, now)
        if e.kind == "file":
            self.marks["last_file"] = now
        if e.kind == "write" and e.path.startswith("feedback/"):
            self.marks.setdefault("first_feedback", now)
            self.marks["last_feedback"] = now


def measure_collect(inbox: Path, archive: Path, jobs: int) -> dict[str, Any]:
    """One first collect of `inbox` into a new `archive`: wall time by phase, parent CPU (without
    the sampler), the workers' read CPU, peak RSS of the whole tree."""
    import xltool.collect.intake as intake

    shutil.rmtree(archive, ignore_errors=True)
    reads: list[float] = []
    put = intake.Intake._put

    def counting_put(self: Any, row: dict[str, Any]) -> None:  # results arrive in the parent: count CPU
        if "bench_cpu" in row:
            reads.append(row["bench_cpu"])
        put(self, row)

    intake.Intake._put = counting_put  # type: ignore[method-assign]
    sampler = _Sampler()
    before = sampler._rss(os.getpid())
    sampler.start()
    phases = _Phases()
    cpu = time.process_time()
    try:
        result = collect(inbox, archive, year=2023, jobs=jobs, on_event=phases, read_fn=timed_read)
    finally:
        intake.Intake._put = put  # type: ignore[method-assign]
    parent_cpu = time.process_time() - cpu
    total = time.perf_counter() - phases.t0
    sampler.stop.set()
    sampler.join()
    m = phases.marks
    states: dict[str, int] = {}
    for f in result.files:
        states[f["state"]] = states.get(f["state"], 0) + 1
    last = m.get("last_file", 0.0)
    fb0, fb1 = m.get("first_feedback", last), m.get("last_feedback", last)
    stages = {
        "reading": (0.0, last),
        "reconcile+JSON": (last, fb0),
        "feedback": (fb0, fb1),
        "status+rest": (fb1, total),
    }
    parent_stages = {
        name: max([mib for t, mib in sampler.samples if a <= t - phases.t0 <= b] or [0.0])
        for name, (a, b) in stages.items()
    }
    return {
        "files": len(result.files),
        "wall": total,
        "states": states,
        "read_phase": last,
        "scan_done": m.get("scan", 0.0),
        "archive_json": fb0 - last,
        "feedback": fb1 - fb0,
        "status_rest": total - fb1,
        "parent_cpu": parent_cpu - sampler.cpu,
        "worker_read_cpu": sum(reads),
        "reads": len(reads),
        "tree_peak": sampler.tree_peak,
        "parent_peak": sampler.self_peak,
        "parent_stages": parent_stages,
        "parent_before": before,
        "worker_peak": sampler.worker_peak,
    }


def describe(r: dict[str, Any]) -> list[str]:
    n = r["files"]
    return [
        f"collect first run                    : {n / r['wall']:8.1f} files/s  ({r['wall']:.1f} s)  states {r['states']}",
        f"  phases (wall): reading {r['read_phase']:.1f} s (inbox scan done at {r['scan_done']:.1f} s), "
        f"reconcile and archive JSON until the first feedback file {r['archive_json']:.1f} s, feedback workbooks {r['feedback']:.1f} s, "
        f"status workbook and the rest {r['status_rest']:.1f} s; without feedback: {r['wall'] - r['feedback']:.1f} s",
        f"  CPU: parent {r['parent_cpu']:.1f} s ({r['parent_cpu'] / n * 1000:.1f} ms a file), "
        f"workers reading {r['worker_read_cpu']:.1f} s ({r['worker_read_cpu'] / max(1, r['reads']) * 1000:.1f} ms a file)",
        f"  peak RSS (sampled): whole process tree {r['tree_peak']:.0f} MiB; parent {r['parent_peak']:.0f} MiB "
        f"({r['parent_before']:.0f} before: {(r['parent_peak'] - r['parent_before']) / n * 1024:.1f} KiB a file); "
        f"largest worker {r['worker_peak']:.0f} MiB",
        "  parent peak RSS by stage (MiB, from the progress events): "
        + ", ".join(f"{k} {v:.0f}" for k, v in r["parent_stages"].items()),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="number of workbooks (default 200)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (the corpus is reused)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="xltool-bench-collect-"))
    inbox, archive = work / f"inbox-{args.n}", work / "archive"
    try:
        spent = make_corpus(inbox, args.n, args.jobs)
        print(f"corpus: {args.n} workbooks ({spent:.1f} s to generate; {DISTINCT} written, the rest derived)")
        files = sorted(inbox.rglob("*.xlsx"))
        size = sum(p.stat().st_size for p in files)

        t = time.perf_counter()
        with ProcessPoolExecutor(args.jobs) as pool:
            list(pool.map(_parse, files, chunksize=16))
        n = len(files)
        del files  # 10,000 Paths (and their interned names) would count as the collect's parent memory
        floor_n = time.perf_counter() - t

        first = measure_collect(inbox, archive, args.jobs)
        t2 = time.perf_counter()
        second = collect(inbox, archive, year=2023, jobs=args.jobs)
        again = time.perf_counter() - t2
        assert second.written == [] and second.read == 0

        print(f"machine: {os.cpu_count()} cores; jobs={args.jobs}; {n} files, {size / n / 1024:.0f} KiB each")
        print(f"floor   unzip+parse XML, {args.jobs} processes : {n / floor_n:8.1f} files/s  ({floor_n:.2f} s)")
        print("\n".join(describe(first)))
        print(f"collect second run (nothing new)     : {n / again:8.1f} files/s  ({again:.2f} s)")
        print(f"ratio first run / parallel floor     : {first['wall'] / floor_n:8.1f}x")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
