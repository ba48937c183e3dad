"""Render the default template, filled with the synthetic sample and one planted error, to PNG
for the README (LibreOffice headless -> PDF -> pdftoppm). Needs soffice, pdftoppm, pdftotext and a
CJK font (Debian: libreoffice-calc-nogui poppler-utils fonts-noto-cjk).

    python scripts/screenshot.py            # writes docs/template-applications.png, docs/template-instructions.png
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xltool.check.evaluate import flatten  # noqa: E402
from xltool.spec.model import load_model  # noqa: E402
from xltool.template.writer import TemplateOptions, write_template  # noqa: E402

PAGES = {"template-applications.png": "三、收到和处理政府信息公开申请情况", "template-instructions.png": "填报说明"}


def main() -> None:
    model = load_model("annual-report-2021")
    report = json.loads((ROOT / "samples" / "synthetic-2021.json").read_text(encoding="utf-8"), parse_float=float)
    values = flatten(model, report)
    values["/applications/results/withheld/state_secret/natural_person"] = 1  # a planted R1/R3 error
    opts = TemplateOptions(
        year=2023,
        org_name="示例县城关镇人民政府",
        org_code="11330000MB0000000H",
        level="township",
        deadline="2024-01-31",
        contact="县政务公开办 0000-0000000",
        issue_date="2024-01-05",
        values=values,
    )
    data, _ = write_template(model, opts)
    out_dir = ROOT / "docs"
    out_dir.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        src = t / "template.xlsx"
        src.write_bytes(data)
        profile = (t / "profile").as_uri()
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation={profile}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(t),
                str(src),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        pdf = t / "template.pdf"
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
        pages = text.split("\f")
        for name, needle in PAGES.items():
            page = next(i for i, p in enumerate(pages, start=1) if needle in p)
            subprocess.run(
                [
                    "pdftoppm",
                    "-png",
                    "-r",
                    "80",
                    "-f",
                    str(page),
                    "-l",
                    str(page),
                    "-singlefile",
                    str(pdf),
                    str(t / "page"),
                ],
                check=True,
            )
            shutil.copyfile(t / "page.png", out_dir / name)
            print(f"wrote docs/{name} (page {page})")


if __name__ == "__main__":
    main()
