"""`xltool validate` on the bundled samples: exact issues and exit codes, through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys

from support import ROOT, SAMPLES


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xltool", *args], capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_hucun_2020_is_valid_and_detected_as_2019_format() -> None:
    r = run("validate", str(SAMPLES / "hucun-2020.json"), "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["schema"], doc["errors"], doc["warnings"], doc["issues"]) == ("annual-report-2019", 0, 0, [])


def test_hucun_numbers_as_published() -> None:
    doc = json.loads((SAMPLES / "hucun-2020.json").read_text(encoding="utf-8"))
    assert doc["year"] == 2020
    assert doc["proactive"]["procurement"] == {"projects": 6, "amount": 1.98}
    assert doc["other_matters"] == "2020年胡村乡无需要报告的其他事项。"
    assert doc["overview"].startswith("濮阳经济技术开发区胡村乡人民政府2020年政府信息公开工作年度报告\n")


def test_synthetic_2021_is_valid() -> None:
    r = run("validate", str(SAMPLES / "synthetic-2021.json"), "--level", "township")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "校验通过" in r.stdout


def test_planted_errors_are_each_reported() -> None:
    r = run("validate", str(SAMPLES / "synthetic-errors-2021.json"), "--format", "json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    got = [(i["code"], i["severity"], i["pointer"], i["found"], i["expected"]) for i in doc["issues"]]
    assert got == [
        ("R2", "error", "/applications/carried_over/total", 4, 3),
        ("R1", "error", "/applications/received/total", 37, 36),
        ("R3", "error", "/applications/results/total/natural_person", 25, 26),
        ("R3", "error", "/applications/results/total/total", 35, 36),
        ("W2", "warning", "/other_matters", "无其他需要报告的事项。", "信息处理费"),
        ("R4", "error", "/review_litigation/litigation_direct/total", 2, 1),
    ]
    assert (doc["errors"], doc["warnings"]) == (5, 1)


def test_text_output_is_a_table_in_chinese_and_english() -> None:
    zh = run("validate", str(SAMPLES / "synthetic-errors-2021.json"))
    assert zh.returncode == 1
    assert "发现 5 个错误、1 个警告" in zh.stdout
    assert "R4 “未经复议直接起诉”行：总计为2，结果维持加结果纠正加其他结果加尚未审结之和为1，两者应相等" in zh.stdout
    en = run("validate", str(SAMPLES / "synthetic-errors-2021.json"), "--lang", "en")
    assert "5 error(s), 1 warning(s)" in en.stdout


def test_not_json_and_not_an_object_exit_2(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    r = run("validate", str(bad))
    assert r.returncode == 2
    assert str(bad) in r.stderr and "[NOT_JSON]" in r.stderr
    arr = tmp_path / "arr.json"
    arr.write_text("[1, 2]", encoding="utf-8")
    r = run("validate", str(arr))
    assert r.returncode == 2 and "[NOT_AN_OBJECT]" in r.stderr
    r = run("validate", str(tmp_path / "missing.json"))
    assert r.returncode == 2 and "[FILE_UNREADABLE]" in r.stderr


def test_schema_detected_from_year_and_meta(tmp_path) -> None:
    doc = json.loads((SAMPLES / "hucun-2020.json").read_text(encoding="utf-8"))
    del doc["_meta"]
    p = tmp_path / "r.json"
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    r = run("validate", str(p), "--format", "json")
    assert json.loads(r.stdout)["schema"] == "annual-report-2019"
    r = run("validate", str(p), "--schema", "annual-report-2021", "--format", "json")
    assert r.returncode == 1
    codes = {i["code"] for i in json.loads(r.stdout)["issues"]}
    assert {"MISSING_FIELD", "UNKNOWN_FIELD"} <= codes


def test_validate_with_previous_year(tmp_path) -> None:
    r = run(
        "validate",
        str(SAMPLES / "synthetic-2021.json"),
        "--previous",
        str(SAMPLES / "hucun-2020.json"),
        "--format",
        "json",
    )
    doc = json.loads(r.stdout)
    assert r.returncode == 0  # warnings only
    assert {i["code"] for i in doc["issues"]} == {"W4"}
    assert [i["pointer"] for i in doc["issues"]][-1] == "/applications/carried_over/total"
