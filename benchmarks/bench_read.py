"""Reading speed: CPU ms per workbook (`time.process_time`, median of --n after a warm-up) for
`read_workbook` (safety gate + cells + coercion + rules) on an xltool-written filled template and on
the same file re-saved by LibreOffice, next to two floors measured in the same run: openpyxl alone
(read-only load + iterate the needed sheets) and the floor of issue #13 (`timing.floor`: unzip +
lxml parse of the sheet XML). "after cells" is the part after the workbook is open and its cells parsed (identity,
integrity, coercion, schema, rules: `reader._read` again on a source already read).

    python benchmarks/bench_read.py [--n 30]      # LibreOffice (soffice) needed for the second file

To compare two trees in one run, run this file of each (it imports the xltool beside it).
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openpyxl  # noqa: E402
from timing import cpu_median, floor  # noqa: E402

from xltool.check.evaluate import flatten  # noqa: E402
from xltool.check.report_json import load_report  # noqa: E402
from xltool.read import reader, safety  # noqa: E402
from xltool.read.cells import open_source  # noqa: E402
from xltool.read.reader import read_workbook  # noqa: E402
from xltool.spec.model import load_model  # noqa: E402
from xltool.template.writer import TemplateOptions, write_template  # noqa: E402


def after_cells(path: Path, model) -> Callable[[], object]:
    """`_read` on a source opened and read once: the CPU spent after the cells are parsed."""
    sniffed = safety.sniff(path)
    source = open_source(sniffed.data, sniffed.kind)
    reader._read(sniffed, source, model, False, None)
    return lambda: reader._read(sniffed, source, model, False, None)


def openpyxl_floor(path: Path, sheets: list[str]) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=True, data_only=False)
    for name in sheets:
        for _ in wb[name].iter_rows(values_only=True):
            pass
    wb.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=30)
    args = ap.parse_args()
    model = load_model("annual-report-2021")
    values = {p: v for p, v in flatten(model, load_report(ROOT / "samples" / "synthetic-2021.json")).items()}
    values = {p: (float(v) if type(v).__name__ == "Decimal" else v) for p, v in values.items()}
    data, _ = write_template(
        model,
        TemplateOptions(
            year=2023, org_name="示例县城关镇人民政府", level="township", issue_date="2024-01-05", values=values
        ),
    )
    sheets = [s.name for s in model.sheets] + [model.meta_sheet]
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        files = {"xltool-written": t / "filled.xlsx"}
        files["xltool-written"].write_bytes(data)
        if shutil.which("soffice"):
            out = t / "lo"
            subprocess.run(
                [
                    "soffice",
                    f"-env:UserInstallation={(t / 'profile').as_uri()}",
                    "--headless",
                    "--convert-to",
                    "xlsx:Calc MS Excel 2007 XML",
                    "--outdir",
                    str(out),
                    str(files["xltool-written"]),
                ],
                check=True,
                capture_output=True,
                timeout=180,
            )
            files["LibreOffice-saved"] = out / "filled.xlsx"
        for label, path in files.items():
            full = cpu_median(lambda path=path: read_workbook(path, model=model), args.n)
            after = cpu_median(after_cells(path, model), args.n)
            opx = cpu_median(lambda path=path: openpyxl_floor(path, sheets), args.n)
            xml = cpu_median(lambda path=path: floor(path), args.n)
            print(
                f"{label:18s} read_workbook {full:6.1f} ms (after cells {after:5.2f}) | openpyxl alone {opx:6.1f} ms"
                f" | unzip+XML parse {xml:5.1f} ms  (CPU, median of {args.n})"
            )


if __name__ == "__main__":
    main()
