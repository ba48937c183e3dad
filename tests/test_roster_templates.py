"""`xltool template --roster`: one template per organisation, a manifest, clear errors per row."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from support import ROOT

from xltool.base.errors import InputFileError
from xltool.spec.model import load_model
from xltool.spec.roster import load_roster

LEVELS = load_model("annual-report-2021").levels


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xltool", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def write(path: Path, text: str, encoding: str = "utf-8-sig") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


ROSTER = "name,code,level\n城关镇人民政府,11330000MB0000001L,township\n县教育局,11330000MB0000002P,county_department\n../../逃逸/乡,,乡镇（街道）\n"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_roster_encodings_and_chinese_level_names(tmp_path: Path, encoding: str) -> None:
    orgs = load_roster(write(tmp_path / "r.csv", ROSTER, encoding), LEVELS)
    assert [(o.name, o.code, o.level, o.row) for o in orgs] == [
        ("城关镇人民政府", "11330000MB0000001L", "township", 2),
        ("县教育局", "11330000MB0000002P", "county_department", 3),
        ("../../逃逸/乡", "", "township", 4),
    ]


def test_chinese_headers(tmp_path: Path) -> None:
    text = "单位名称,统一社会信用代码,层级,联系人\n城关镇人民政府,11330000MB0000001L,乡镇（街道）,李四\n"
    [org] = load_roster(write(tmp_path / "r.csv", text), LEVELS)
    assert (org.name, org.level, org.contact) == ("城关镇人民政府", "township", "李四")


@pytest.mark.parametrize(
    "text,row,needle",
    [
        ("name,code,level\n,11330000MB0000001L,township\n", 2, "单位名称为空"),
        ("name,code,level\n甲乡,123,township\n", 2, "应为18位"),
        ("name,code,level\n甲乡,,village\n", 2, "层级“village”无效"),
        ("name,code,level\n甲乡,,township\n甲乡,,township\n", 3, "与第2行重复"),
    ],
)
def test_bad_row_is_named(tmp_path: Path, text: str, row: int, needle: str) -> None:
    with pytest.raises(InputFileError) as exc:
        load_roster(write(tmp_path / "r.csv", text), LEVELS)
    assert exc.value.code == "ROSTER_BAD_ROW" and exc.value.details["row"] == row
    assert exc.value.message_zh.startswith(f"第{row}行：") and needle in exc.value.message_zh


def test_missing_column(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as exc:
        load_roster(write(tmp_path / "r.csv", "name,level\n甲乡,township\n"), LEVELS)
    assert exc.value.code == "ROSTER_HEADER"


def test_cli_writes_one_template_per_org_and_a_manifest(tmp_path: Path) -> None:
    roster = write(tmp_path / "roster.csv", ROSTER)
    out = tmp_path / "out"
    r = cli(
        "template",
        "--year",
        "2025",
        "--roster",
        str(roster),
        "--out-dir",
        str(out),
        "--issue-date",
        "2026-01-05",
        "--deadline",
        "2026-01-31",
    )
    assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(
        [
            "_._逃逸_乡-2025年报模板.xlsx",
            "manifest.csv",
            "manifest.json",
            "城关镇人民政府-2025年报模板.xlsx",
            "县教育局-2025年报模板.xlsx",
        ]
    )
    assert not (tmp_path / "逃逸").exists()
    with (out / "manifest.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["单位名称"], r["文件"]) for r in rows] == [
        ("城关镇人民政府", "城关镇人民政府-2025年报模板.xlsx"),
        ("县教育局", "县教育局-2025年报模板.xlsx"),
        ("../../逃逸/乡", "_._逃逸_乡-2025年报模板.xlsx"),
    ]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["schema"] == "annual-report-2021" and len(manifest["templates"]) == 3
    wb = openpyxl.load_workbook(out / "县教育局-2025年报模板.xlsx")
    meta = {wb["_xltool"].cell(r, 1).value: wb["_xltool"].cell(r, 2).value for r in range(1, 15)}
    assert (meta["org_name"], meta["org_code"], meta["level"], meta["year"], meta["deadline"]) == (
        "县教育局",
        "11330000MB0000002P",
        "county_department",
        "2025",
        "2026-01-31",
    )
    assert meta["serial"] == rows[1]["模板编号"]


def test_cli_bad_roster_exit_2(tmp_path: Path) -> None:
    roster = write(tmp_path / "roster.csv", "name,code,level\n甲乡,,village\n")
    r = cli("template", "--roster", str(roster), "--out-dir", str(tmp_path / "o"))
    assert r.returncode == 2
    assert "[ROSTER_BAD_ROW]" in r.stderr and "第2行" in r.stderr and str(roster) in r.stderr
    r = cli("template", "--roster", str(roster))
    assert r.returncode == 2 and "--out-dir" in r.stderr


def test_colliding_names_after_sanitising_get_distinct_files(tmp_path: Path) -> None:
    roster = write(
        tmp_path / "roster.csv",
        "name,code,level\n甲/乡,11330000MB0000001L,township\n甲:乡,11330000MB0000002P,township\n",
    )
    out = tmp_path / "out"
    assert cli("template", "--roster", str(roster), "--out-dir", str(out), "--issue-date", "2026-01-05").returncode == 0
    xlsx = sorted(p.name for p in out.glob("*.xlsx"))
    assert len(xlsx) == 2 and xlsx[0] != xlsx[1]


def test_manifest_csv_is_safe_against_formula_injection(tmp_path: Path) -> None:
    roster = write(tmp_path / "roster.csv", 'name,code,level\n"=HYPERLINK(""http://x"",""y"")",,township\n')
    out = tmp_path / "out"
    assert cli("template", "--roster", str(roster), "--out-dir", str(out), "--issue-date", "2026-01-05").returncode == 0
    with (out / "manifest.csv").open(encoding="utf-8-sig", newline="") as fh:
        [row] = list(csv.DictReader(fh))
    assert row["单位名称"] == '\'=HYPERLINK("http://x","y")'
