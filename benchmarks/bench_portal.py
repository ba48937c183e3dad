"""Benchmark: upload latency of the portal (`xltool serve`) on loopback, one at a time and under load.

    .venv/bin/python benchmarks/bench_portal.py                 # 50 organisations, 50 at once
    .venv/bin/python benchmarks/bench_portal.py --n 100 --concurrency 25

Starts `xltool serve` on a free 127.0.0.1 port with an empty archive and a roster of N townships,
then measures the time from sending an upload to receiving the verdict page: first a few uploads
one at a time (what a township waits), then N distinct valid files sent at once by `--concurrency`
clients (p50, p95, max, uploads/s). Every answer is checked to say 已接收. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xltool.check.evaluate import flatten  # noqa: E402
from xltool.spec.model import load_model  # noqa: E402
from xltool.template.writer import TemplateOptions, write_template  # noqa: E402

YEAR = 2025
MODEL = load_model("annual-report-2021")
BASE = flatten(MODEL, json.loads((ROOT / "samples" / "synthetic-2021.json").read_text(encoding="utf-8")))


def workbook(name: str, n: int) -> bytes:
    vals = {
        **BASE,
        "/year": YEAR,
        "/organization/name": name,
        "/organization/code": "",
        "/proactive/licensing/decisions": n,
    }
    opts = TemplateOptions(year=YEAR, org_name=name, level="township", issue_date="2026-01-05", values=vals)
    return write_template(MODEL, opts)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def upload(link: str, data: bytes, n: int) -> float:
    with httpx.Client(timeout=600) as c:
        c.get(link)
        t0 = time.perf_counter()
        r = c.post(link + "/upload", data={"csrf": c.cookies["xltool_csrf"]}, files={"file": (f"{n}.xlsx", data)})
        elapsed = time.perf_counter() - t0
    if r.status_code != 200 or "校验通过，已接收" not in r.text:
        raise SystemExit(f"upload {n} was not accepted: HTTP {r.status_code}")
    return elapsed


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50, help="organisations, one upload each under load")
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--single", type=int, default=5, help="uploads timed one at a time first")
    args = ap.parse_args()
    names = [f"基准县第{i + 1}镇人民政府" for i in range(args.n + args.single)]
    with tempfile.TemporaryDirectory(prefix="bench-portal-") as tmp:
        root = Path(tmp)
        archive, roster = root / "archive", root / "roster.csv"
        archive.mkdir()
        roster.write_text(
            "单位名称,统一社会信用代码,层级\n" + "".join(f"{n},,township\n" for n in names), encoding="utf-8"
        )
        t0 = time.perf_counter()
        files = [workbook(name, i) for i, name in enumerate(names)]
        print(f"{len(files)} workbooks generated in {time.perf_counter() - t0:.1f} s")
        port = free_port()
        base = [sys.executable, "-m", "xltool", "serve", "--archive", str(archive), "--roster", str(roster)]
        base += ["--year", str(YEAR), "--port", str(port)]
        listed = subprocess.run([*base, "--links"], capture_output=True, text=True, check=True, cwd=ROOT)
        links = dict(line.split("\t") for line in listed.stdout.splitlines())
        env = {**os.environ, "XLTOOL_ADMIN_PASSWORD": "bench"}
        server = subprocess.Popen(base, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for _ in range(300):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            single = [upload(links[names[args.n + i]], files[args.n + i], i) for i in range(args.single)]
            print(
                f"one at a time ({args.single} uploads): median {statistics.median(single):.2f} s, "
                f"max {max(single):.2f} s (send -> verdict page)"
            )
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                lat = list(pool.map(lambda i: upload(links[names[i]], files[i], i), range(args.n)))
            wall = time.perf_counter() - t0
            print(
                f"{args.n} uploads, {args.concurrency} at once: p50 {pct(lat, 50):.2f} s, p95 {pct(lat, 95):.2f} s, "
                f"max {max(lat):.2f} s; {args.n / wall:.1f} uploads/s ({wall:.1f} s wall) on {os.cpu_count()} cores"
            )
        finally:
            server.terminate()
            server.communicate(timeout=30)


if __name__ == "__main__":
    main()
