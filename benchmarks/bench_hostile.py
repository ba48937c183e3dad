"""Hostile input, timed: how fast the safety gate refuses each hostile file, how long `xltool read`
takes on each hostile template (in its own process, clock started after start-up, with its peak
RSS), and how long reading damaged copies of a filled workbook takes. The tests only guard against
hangs (30-60 s) and bound memory; the figures live here, next to the targets the issue set:

    sniff of one hostile file        < 1 s   (a sparse 21 MB file: < 0.1 s, refused from its size)
    `xltool read` of a hostile case  < 1 s   and < 200 MiB peak RSS
    read of a damaged workbook       < 2 s

    python benchmarks/bench_hostile.py [--damaged 100]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
sys.path[:0] = [str(ROOT), str(TESTS)]

import hostile_files as H  # noqa: E402
import hostile_templates as T  # noqa: E402

from xltool.base.errors import InputFileError  # noqa: E402
from xltool.read.reader import read_workbook  # noqa: E402
from xltool.read.safety import sniff  # noqa: E402


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    try:
        fn()
    except InputFileError:
        pass
    return time.perf_counter() - start


def _line(what: str, seconds: list[float], target: float, worst: str) -> None:
    flag = "ok" if max(seconds) < target else "OVER TARGET"
    print(
        f"{what:<34} n={len(seconds):<4} median {statistics.median(seconds) * 1000:8.1f} ms   "
        f"max {max(seconds) * 1000:8.1f} ms ({worst})   target < {target * 1000:.0f} ms: {flag}"
    )


def bench_sniff(tmp: Path) -> None:
    (tmp / "corpus").mkdir()
    corpus = H.build_corpus(tmp / "corpus")
    times = {name: min(_timed(lambda p=path: sniff(p)) for _ in range(3)) for name, path in corpus.items()}
    worst = max(times, key=times.__getitem__)
    _line("sniff, hostile corpus", list(times.values()), 1.0, worst)
    big = tmp / "big.xlsx"
    with big.open("wb") as f:
        f.truncate(21 * 1024 * 1024)
    _line("sniff, sparse 21 MB file", [min(_timed(lambda: sniff(big)) for _ in range(3))], 0.1, "big.xlsx")


def bench_read_cases(tmp: Path) -> None:
    built = T.build(tmp / "hostile")
    cases = T.all_cases()
    times, peaks = {}, {}
    for name, path in built.items():
        result = tmp / f"{name}.json"
        cmd = [sys.executable, str(TESTS / "test_hostile.py"), str(result), "read", str(path), "--format", "json"]
        subprocess.run([*cmd, *cases[name][1].args], capture_output=True, cwd=ROOT, timeout=120)
        measured = json.loads(result.read_text(encoding="utf-8"))
        times[name], peaks[name] = measured["elapsed"], measured["maxrss"]
    _line("xltool read, hostile templates", list(times.values()), 1.0, max(times, key=times.__getitem__))
    biggest = max(peaks, key=peaks.__getitem__)
    flag = "ok" if peaks[biggest] < 200 * 2**20 else "OVER TARGET"
    print(
        f"{'  peak RSS of those reads':<34} max {peaks[biggest] / 2**20:.0f} MiB ({biggest})   target < 200 MiB: {flag}"
    )


def bench_damaged(tmp: Path, n: int) -> None:
    base = T.filled()
    rng = random.Random(20260105)
    times = {}
    for i in range(n):
        data = bytearray(base)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] ^= rng.randint(1, 255)
        if rng.random() < 0.3:
            del data[rng.randrange(len(data)) :]
        path = tmp / f"damaged-{i}.xlsx"
        path.write_bytes(bytes(data))
        times[path.name] = _timed(lambda p=path: read_workbook(p))
    _line("read_workbook, damaged copies", list(times.values()), 2.0, max(times, key=times.__getitem__))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--damaged", type=int, default=100, help="damaged copies to read")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="xltool-bench-hostile-") as d:
        tmp = Path(d)
        bench_sniff(tmp)
        bench_read_cases(tmp)
        bench_damaged(tmp, args.damaged)


if __name__ == "__main__":
    main()
