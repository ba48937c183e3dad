"""Opening speed: CPU ms per workbook for the opening side of a read (safety gate, unzip, XML, the
cells the layout asks for, names, properties, protection) on an xltool-written filled template and
the same file re-saved by LibreOffice, next to the floor (unzip + lxml parse of the sheet XML).

    python benchmarks/bench_open.py [--n 40] [--against /work/main]

`--against` times another checkout in the same run (alternating subprocesses, so both see the same
machine load): the figure to quote for a before/after.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from timing import cpu_median, floor

ROOT = Path(__file__).resolve().parent.parent


def _files(tmp: Path) -> dict[str, Path]:
    from xltool.check.evaluate import flatten
    from xltool.check.report_json import load_report
    from xltool.spec.model import load_model
    from xltool.template.writer import TemplateOptions, write_template

    model = load_model("annual-report-2021")
    values = {
        p: (float(v) if type(v).__name__ == "Decimal" else v)
        for p, v in flatten(model, load_report(ROOT / "samples" / "synthetic-2021.json")).items()
    }
    opts = TemplateOptions(
        year=2023, org_name="示例县城关镇人民政府", level="township", issue_date="2024-01-05", values=values
    )
    files = {"xltool-written": tmp / "filled.xlsx"}
    files["xltool-written"].write_bytes(write_template(model, opts)[0])
    if shutil.which("soffice"):
        profile = (tmp / "profile").as_uri()
        cmd = [
            "soffice",
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
        ]
        subprocess.run(
            [*cmd, "--outdir", str(tmp / "lo"), str(files["xltool-written"])],
            check=True,
            capture_output=True,
            timeout=300,
        )
        files["LibreOffice-saved"] = tmp / "lo" / "filled.xlsx"
    return files


def _measure(files: dict[str, str], n: int) -> dict[str, dict[str, float]]:
    """CPU medians (ms) of the opening side and of the floor, in this process's checkout."""

    from xltool.read.cells import open_source
    from xltool.read.safety import sniff
    from xltool.spec.layout import build_layout
    from xltool.spec.model import load_model

    layout = build_layout(load_model("annual-report-2021"))
    boxes = {s.name: [b.box for b in [*s.fields, *s.texts]] for s in layout.sheets}

    def opening(path: str) -> None:
        sniffed = sniff(path)
        parts = {"parts": sniffed.parts} if hasattr(sniffed, "parts") else {}
        source = open_source(sniffed.data, sniffed.kind, **parts)
        source.prepare({sheet: 1 + max(b.last_row for b in bs) for sheet, bs in boxes.items()})
        for sheet, bs in boxes.items():
            for b in bs:
                source.get(sheet, b.row, b.col)
        source.defined_names(), source.custom_properties(), source.protected_sheets()
        source.close()

    def median(fn: Any, path: str) -> float:
        return round(cpu_median(lambda: fn(path), n), 2)

    return {label: {"open": median(opening, p), "floor": median(floor, p)} for label, p in files.items()}


def _run(checkout: Path, files: dict[str, Path], n: int) -> dict[str, dict[str, float]]:
    code = f"import sys; sys.path.insert(0, {str(checkout)!r}); sys.path.insert(1, {str(ROOT / 'benchmarks')!r}); "
    code += "import json, bench_open; print(json.dumps(bench_open._measure(json.loads(sys.argv[1]), int(sys.argv[2]))))"
    arg = json.dumps({k: str(v) for k, v in files.items()})
    out = subprocess.run([sys.executable, "-c", code, arg, str(n)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--against", type=Path, help="another checkout, timed in the same run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating subprocess runs per checkout")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    checkouts = {"this": ROOT} | ({"against": args.against.resolve()} if args.against else {})
    with tempfile.TemporaryDirectory() as tmp:
        files = _files(Path(tmp))
        runs: dict[str, list[dict[str, dict[str, float]]]] = {k: [] for k in checkouts}
        for _ in range(args.rounds):
            for name, checkout in checkouts.items():
                runs[name].append(_run(checkout, files, args.n))
    for label in files:
        for name, checkout in checkouts.items():
            opening = statistics.median(r[label]["open"] for r in runs[name])
            fl = statistics.median(r[label]["floor"] for r in runs[name])
            print(
                f"{label:18s} {name:7s} opening {opening:6.2f} ms | floor {fl:5.2f} ms | {opening / fl:4.1f}x "
                f"(CPU, median of {args.rounds} runs x {args.n}; {checkout})"
            )


if __name__ == "__main__":
    main()
