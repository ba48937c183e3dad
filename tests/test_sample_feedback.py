"""The real 胡村乡 2020 sample through the CLI: fill, read back identical; a planted R3 error (a
（七）总计 typed over its formula) is reported at its cell and marked in the feedback workbook."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl
from support import ROOT, SAMPLES

from xltool.spec.layout import build_layout
from xltool.spec.model import load_model


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xltool", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_hucun_round_trip_and_planted_r3_feedback(tmp_path: Path) -> None:
    filled = tmp_path / "胡村乡.xlsx"
    assert (
        cli(
            "fill",
            str(SAMPLES / "hucun-2020.json"),
            "-o",
            str(filled),
            "--level",
            "township",
            "--issue-date",
            "2021-01-05",
        ).returncode
        == 0
    )
    out = tmp_path / "hucun.json"
    r = cli("read", str(filled), "-o", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    got = json.loads(out.read_text(encoding="utf-8"))
    want = json.loads((SAMPLES / "hucun-2020.json").read_text(encoding="utf-8"))
    assert got["_meta"]["schema"] == "annual-report-2019"
    got.pop("_meta"), want.pop("_meta")
    assert got == want

    # the township unprotects the sheet and types 2 into （七）总计 / 自然人 while its rows add up to 0
    model = load_model("annual-report-2019")
    box = build_layout(model).fields["/applications/results/total/natural_person"].box
    wb = openpyxl.load_workbook(filled)
    wb[box.sheet].protection.sheet = False
    wb[box.sheet][box.a1] = 2
    wrong = tmp_path / "胡村乡-改.xlsx"
    wb.save(wrong)

    feedback = tmp_path / "胡村乡-反馈.xlsx"
    r = cli("read", str(wrong), "--feedback", str(feedback), "--format", "json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    r3 = [i for i in doc["issues"] if i["code"] == "R3"]
    corner = build_layout(model).fields["/applications/results/total/total"].box
    assert [(i["sheet"], i["cell"], i["pointer"], i["found"], i["expected"]) for i in r3] == [
        (box.sheet, box.a1, "/applications/results/total/natural_person", 2, 0),
        (corner.sheet, corner.a1, "/applications/results/total/total", 2, 0),  # its row sum now includes the 2
    ]
    fb = openpyxl.load_workbook(feedback)
    cell = fb[box.sheet][box.a1]
    assert cell.fill.fgColor.rgb.endswith("FFC7CE")
    assert "R3 “自然人”列：（七）总计为2，（一）予以公开至（六）其他处理各项之和为0，两者应相等" in cell.comment.text
    listing = fb["问题清单"]
    rows = [[c.value for c in row] for row in listing.iter_rows()]
    assert any(r[:1] and f"{box.sheet}!{box.a1}" in [str(v) for v in r] and "R3" in [str(v) for v in r] for r in rows)
    assert fb.sheetnames[-1] == "问题清单"
