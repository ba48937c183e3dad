"""Render the real 胡村乡 2020 report (samples/hucun-2020.json) to HTML with `xltool render` and take a
headless-Chromium screenshot of its first page for the README. Needs chromium (Debian: chromium) and a
CJK font (fonts-noto-cjk).

    python scripts/render_screenshot.py      # writes docs/report-hucun-2020.png
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "report-hucun-2020.png"


def main() -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        sys.exit("chromium is not installed (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="xltool-shot-") as tmp:
        html = Path(tmp) / "report.html"
        subprocess.run(
            [sys.executable, "-m", "xltool", "render", str(ROOT / "samples" / "hucun-2020.json"), "-o", str(html)],
            check=True,
            cwd=ROOT,
        )
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={tmp}/profile",
                f"--screenshot={OUT}",
                "--window-size=820,1700",
                html.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(OUT)


if __name__ == "__main__":
    main()
