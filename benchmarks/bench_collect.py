"""Benchmark: `collect` of N generated workbooks on this machine, next to a floor.

    .venv/bin/python benchmarks/bench_collect.py            # N = 200
    .venv/bin/python benchmarks/bench_collect.py --n 1000 --jobs 2

Prints files/s and peak RSS for a first collect (read, reconcile, archive, status workbook) and
for a second one on the same inbox (nothing new: scan and compare only). RSS is sampled from /proc
every 0.1 s over the whole process tree (this process, the forkserver and every worker):
`/usr/bin/time` and `getrusage` miss the forkserver's workers. `--keep DIR` keeps the generated inbox,
so runs at several sizes (`--n 1000`, `--n 10000`) reuse it. The floor, measured in the same run on the same files: unzip every part and parse
every sheet's XML with zipfile + ElementTree, on one core and on `--jobs` processes. Every tenth
file has a rule error, so feedback workbooks are part of the work.
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
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xltool.check.evaluate import flatten  # noqa: E402
from xltool.collect.run import collect  # noqa: E402
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
    """Peak RSS of this process, of its largest descendant and of the whole tree, sampled from /proc."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.self_peak = 0.0  # MiB, this (the parent) process
        self.worker_peak = 0.0  # MiB, largest single descendant
        self.tree_peak = 0.0  # MiB, this process and all descendants together

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
        while not self.stop.wait(0.1):
            own = self._rss(os.getpid())
            sizes = [self._rss(pid) for pid in self._descendants()]
            self.self_peak = max(self.self_peak, own)
            self.worker_peak = max([self.worker_peak, *sizes])
            self.tree_peak = max(self.tree_peak, own + sum(sizes))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="number of workbooks (default 200)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="xltool-bench-collect-"))
    inbox, archive = work / "inbox", work / "archive"
    try:
        if not inbox.is_dir():
            inbox.mkdir(parents=True)
            t = time.perf_counter()
            with ProcessPoolExecutor(args.jobs) as pool:
                list(pool.map(_make, [(inbox, i) for i in range(args.n)], chunksize=8))
            print(f"generated {args.n} workbooks in {time.perf_counter() - t:.1f} s")
        shutil.rmtree(archive, ignore_errors=True)
        files = sorted(inbox.rglob("*.xlsx"))
        size = sum(p.stat().st_size for p in files)

        t = time.perf_counter()
        for p in files:
            _parse(p)
        floor1 = time.perf_counter() - t
        t = time.perf_counter()
        with ProcessPoolExecutor(args.jobs) as pool:
            list(pool.map(_parse, files, chunksize=16))
        floor_n = time.perf_counter() - t

        marks: dict[str, float] = {}
        t = time.perf_counter()

        def on_event(e: object) -> None:
            marks.setdefault(e.kind, time.perf_counter() - t)

        sampler = _Sampler()
        before = sampler._rss(os.getpid())
        sampler.start()
        first = collect(inbox, archive, year=2023, jobs=args.jobs, on_event=on_event)
        total = time.perf_counter() - t
        sampler.stop.set()
        sampler.join()
        t2 = time.perf_counter()
        second = collect(inbox, archive, year=2023, jobs=args.jobs)
        again = time.perf_counter() - t2
        assert second.written == [] and second.read == 0

        n = len(files)
        states: dict[str, int] = {}
        for f in first.files:
            states[f["state"]] = states.get(f["state"], 0) + 1
        print(f"machine: {os.cpu_count()} cores; jobs={args.jobs}; {n} files, {size / n / 1024:.0f} KiB each")
        print(f"floor   unzip+parse XML, 1 process   : {n / floor1:8.1f} files/s  ({floor1:.2f} s)")
        print(f"floor   unzip+parse XML, {args.jobs} processes : {n / floor_n:8.1f} files/s  ({floor_n:.2f} s)")
        print(
            f"collect first run                    : {n / total:8.1f} files/s  ({total:.2f} s; scan {marks.get('scan', 0):.2f} s, "
            f"reading done {marks.get('write', total):.2f} s)  states {states}"
        )
        print(f"collect second run (nothing new)     : {n / again:8.1f} files/s  ({again:.2f} s)")
        print(f"ratio first run / parallel floor     : {total / floor_n:8.1f}x")
        print(
            f"peak RSS during the first collect (sampled): whole process tree {sampler.tree_peak:.0f} MiB; "
            f"this process {sampler.self_peak:.0f} MiB ({before:.0f} MiB before the run: "
            f"{(sampler.self_peak - before) / n * 1024:.1f} KiB a file); "
            f"largest worker {sampler.worker_peak:.0f} MiB"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
