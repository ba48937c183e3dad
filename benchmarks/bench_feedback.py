"""Feedback workbook speed: CPU ms (median) of `write_feedback` (the XML patch) next to the openpyxl
round trip it replaces and a read of the same file, all measured in one run, on an xltool-written
filled template with errors and on the same file re-saved by LibreOffice.

    python benchmarks/bench_feedback.py [--n 30]      # LibreOffice (soffice) needed for the second file

The old path is timed as `write_feedback` ran it before: safety gate, openpyxl load, mark, save,
atomic write. Both paths write to disk.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timing import cpu_median  # noqa: E402

from xltool.base.files import write_atomic  # noqa: E402
from xltool.check.evaluate import flatten  # noqa: E402
from xltool.check.report_json import load_report  # noqa: E402
from xltool.read.feedback import _sniff, openpyxl_feedback, write_feedback  # noqa: E402
from xltool.read.feedback_patch import patch  # noqa: E402
from xltool.read.feedback_styles import Unhandled  # noqa: E402
from xltool.read.feedback_text import TEXT  # noqa: E402
from xltool.read.reader import read_workbook  # noqa: E402
from xltool.spec.model import load_model  # noqa: E402
from xltool.template.writer import TemplateOptions, write_template  # noqa: E402


def old_path(source: Path, issues: list, out: Path) -> None:
    write_atomic(out, openpyxl_feedback(_sniff(source), source, issues, lang="zh", title=None))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=30)
    args = ap.parse_args()
    model = load_model("annual-report-2021")
    values = flatten(model, load_report(ROOT / "samples" / "synthetic-errors-2021.json"))
    values = {p: (float(v) if type(v).__name__ == "Decimal" else v) for p, v in values.items()}
    options = TemplateOptions(year=2023, org_name="示例县城关镇人民政府", level="township", issue_date="2024-01-05")
    data, _ = write_template(model, TemplateOptions(**{**options.__dict__, "values": values}))
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.1f}, n={args.n}")
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        files = {"xltool-written": t / "filled.xlsx"}
        files["xltool-written"].write_bytes(data)
        if shutil.which("soffice"):
            profile = (t / "profile").as_uri()
            cmd = ["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "xlsx", "--outdir"]
            subprocess.run([*cmd, str(t / "lo"), str(files["xltool-written"])], check=True, capture_output=True)
            files["LibreOffice-saved"] = t / "lo" / "filled.xlsx"
        for label, path in files.items():
            issues = read_workbook(path, model=model).issues
            try:
                patch(path.read_bytes(), issues, TEXT["zh"], "zh", None)
                fast = "patch"
            except Unhandled as why:
                fast = f"fallback ({why})"
            read = cpu_median(lambda path=path: read_workbook(path, model=model), args.n)
            new = cpu_median(lambda path=path, i=issues: write_feedback(path, i, t / "new.xlsx"), args.n)
            old = cpu_median(lambda path=path, i=issues: old_path(path, i, t / "old.xlsx"), args.n)
            print(
                f"{label:18s} {len(issues)} issues | read {read:5.1f} ms | feedback new {new:5.1f} ms "
                f"({new / read:.2f}x a read, {fast}) | old openpyxl path {old:6.1f} ms ({old / read:.2f}x)"
            )


if __name__ == "__main__":
    main()
