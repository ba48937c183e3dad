"""`xltool collect` and `xltool status` through the real CLI: outputs, JSON, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from support import ROOT, SAMPLES


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xltool", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_collect_and_status_cli(tmp_path: Path) -> None:
    inbox, archive = tmp_path / "收件箱", tmp_path / "档案"
    (inbox / "邮件").mkdir(parents=True)
    good = inbox / "邮件" / "城关镇.xlsx"
    r = cli(
        "fill",
        str(SAMPLES / "synthetic-2021.json"),
        "--level",
        "township",
        "--issue-date",
        "2024-01-05",
        "-o",
        str(good),
    )
    assert r.returncode == 0, r.stderr
    shutil.copy(good, inbox / "城关镇-副本.xlsx")
    (inbox / "说明.txt").write_text("请查收", encoding="utf-8")
    before = {p: p.read_bytes() for p in inbox.rglob("*") if p.is_file()}

    r = cli(
        "collect",
        str(inbox),
        "--archive",
        str(archive),
        "--roster",
        str(SAMPLES / "roster.csv"),
        "--year",
        "2023",
        "--json",
        "--jobs",
        "2",
    )
    assert r.returncode == 1, r.stderr  # four organisations have not reported
    doc = json.loads(r.stdout)
    assert doc["exit_code"] == 1
    rows = {o["name"]: o["state"] for o in doc["status"]["organisations"]}
    assert rows == {
        "示例县城关镇人民政府": "accepted",
        "示例县城南街道办事处": "missing",
        "示例县教育局": "missing",
        "示例县自然资源局": "missing",
        "示例县人民政府办公室": "missing",
    }
    assert {p: p.read_bytes() for p in inbox.rglob("*") if p.is_file()} == before  # inbox untouched
    assert (archive / "annual-report-2021" / "2023" / "示例县城关镇人民政府.json").is_file()

    again = cli(
        "collect",
        str(inbox),
        "--archive",
        str(archive),
        "--roster",
        str(SAMPLES / "roster.csv"),
        "--year",
        "2023",
        "--quiet",
    )
    assert again.returncode == 1
    assert "报送情况" in again.stdout

    st = cli("status", "--archive", str(archive), "--format", "json")
    assert st.returncode == 1
    assert json.loads(st.stdout)["organisations"][0]["state"] == "accepted"
    text = cli("status", "--archive", str(archive), "--lang", "en")
    assert "accepted" in text.stdout.lower()


def test_collect_bad_arguments_exit_2(tmp_path: Path) -> None:
    r = cli("collect", str(tmp_path / "nowhere"), "--archive", str(tmp_path / "a"), "--year", "2023")
    assert r.returncode == 2 and "nowhere" in r.stderr
    bad = tmp_path / "roster.csv"
    bad.write_text("name,code,level\n甲乡,,village\n", encoding="utf-8")
    (tmp_path / "in").mkdir()
    r = cli("collect", str(tmp_path / "in"), "--archive", str(tmp_path / "a"), "--roster", str(bad), "--year", "2023")
    assert r.returncode == 2 and "[ROSTER_BAD_ROW]" in r.stderr


def test_collect_output_neutralises_terminal_escapes_in_file_names(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    name = "a\x1b]0;pwned\x07b.xlsx"
    r = cli("fill", str(SAMPLES / "synthetic-2021.json"), "--issue-date", "2024-01-05", "-o", str(inbox / name))
    assert r.returncode == 0, r.stderr
    r = cli("collect", str(inbox), "--archive", str(tmp_path / "a"), "--year", "2023")
    assert "\x1b" not in r.stdout + r.stderr and "\x07" not in r.stdout + r.stderr
    assert "a\\u001b]0;pwned\\u0007b.xlsx" in r.stdout
