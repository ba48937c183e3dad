"""Screenshots of the upload portal for the README, taken with the same browser the tests drive
(Debian's chromium + chromedriver through Selenium). Needs: apt-get install chromium chromium-driver
fonts-noto-cjk, and the test extras (selenium, httpx).

    python scripts/portal_screenshots.py     # writes docs/portal-township.png, docs/portal-county.png

It starts `xltool serve` on a free loopback port with a fresh archive and the sample roster
(three organisations of the sample county), uploads for 城关镇 a file with a planted R3 error (the township page then shows
the verdict), lets 城南街道 upload a correct one, and signs in to the county page.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import openpyxl
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xltool.check.evaluate import flatten  # noqa: E402
from xltool.spec.identity import CODE_ALPHABET, CODE_WEIGHTS  # noqa: E402
from xltool.spec.layout import build_layout  # noqa: E402
from xltool.spec.model import load_model  # noqa: E402
from xltool.spec.roster import load_roster  # noqa: E402
from xltool.template.writer import TemplateOptions, write_template  # noqa: E402

YEAR = 2025
PASSWORD = "screenshot"
MODEL = load_model("annual-report-2021")
TOTAL = "/applications/results/total/natural_person"


def workbook(name: str, code: str, r3: bool) -> bytes:
    values = flatten(MODEL, json.loads((ROOT / "samples" / "synthetic-2021.json").read_text(encoding="utf-8")))
    values.update({"/year": YEAR, "/organization/name": name, "/organization/code": code})
    opts = TemplateOptions(
        year=YEAR, org_name=name, org_code=code, level="township", issue_date="2026-01-05", values=values
    )
    data = write_template(MODEL, opts)[0]
    if not r3:
        return data
    box = build_layout(MODEL).fields[TOTAL].box  # typed over the （七）总计 formula
    wb = openpyxl.load_workbook(io.BytesIO(data))
    wb[box.sheet].protection.sheet = False
    wb[box.sheet][box.a1] = int(values[TOTAL]) + 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


ORGS = [
    ("示例县城关镇人民政府", "乡镇（街道）", "李明 0000-1111111"),
    ("示例县城南街道办事处", "乡镇（街道）", "王芳 0000-2222222"),
    ("示例县教育局", "县级部门", "赵强 0000-3333333"),
]


def roster(path: Path) -> Path:
    rows = ["单位名称,统一社会信用代码,层级,联系人"]
    for i, (name, level, contact) in enumerate(ORGS):
        body = f"11330000MB{i:07d}"
        total = sum(CODE_ALPHABET.index(ch) * w for ch, w in zip(body, CODE_WEIGHTS, strict=True))
        rows.append(f"{name},{body}{CODE_ALPHABET[(31 - total % 31) % 31]},{level},{contact}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def main() -> None:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        raise SystemExit("needs chromium and chromedriver (apt-get install chromium chromium-driver)")
    with tempfile.TemporaryDirectory(prefix="portal-shots-") as tmp:
        root = Path(tmp)
        roster_csv = roster(root / "roster.csv")
        orgs = load_roster(roster_csv, dict(MODEL.levels))
        (root / "archive").mkdir()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        args = [sys.executable, "-m", "xltool", "serve", "--archive", str(root / "archive"), "--port", str(port)]
        args += ["--roster", str(roster_csv), "--year", str(YEAR), "--deadline", "2026-01-31"]
        links = dict(
            line.split("\t")
            for line in subprocess.run(
                [*args, "--links"], capture_output=True, text=True, check=True
            ).stdout.splitlines()
        )
        server = subprocess.Popen(
            args, env={**os.environ, "XLTOOL_ADMIN_PASSWORD": PASSWORD}, stdout=subprocess.DEVNULL
        )
        opts = webdriver.ChromeOptions()
        opts.binary_location = chromium
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,1100", "--hide-scrollbars"):
            opts.add_argument(arg)
        drv = webdriver.Chrome(options=opts, service=Service(driver))
        try:
            for _ in range(300):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            files = {}
            for org, r3 in ((orgs[0], True), (orgs[1], False)):
                files[org.name] = root / f"{org.name}.xlsx"
                files[org.name].write_bytes(workbook(org.name, org.code, r3))
            drv.get(links[orgs[1].name])
            drv.find_element(By.ID, "file").send_keys(str(files[orgs[1].name]))
            drv.find_element(By.ID, "submit").click()
            drv.find_element(By.ID, "verdict")
            drv.get(links[orgs[0].name])
            drv.find_element(By.ID, "file").send_keys(str(files[orgs[0].name]))
            drv.find_element(By.ID, "submit").click()
            drv.find_element(By.ID, "verdict")
            drv.save_screenshot(str(ROOT / "docs" / "portal-township.png"))
            drv.get(f"http://127.0.0.1:{port}/admin")
            drv.find_element(By.ID, "password").send_keys(PASSWORD)
            drv.find_element(By.ID, "login").click()
            drv.find_element(By.ID, "status")
            drv.save_screenshot(str(ROOT / "docs" / "portal-county.png"))
        finally:
            drv.quit()
            server.terminate()
            server.wait(timeout=30)
    print("wrote docs/portal-township.png, docs/portal-county.png")


if __name__ == "__main__":
    main()
