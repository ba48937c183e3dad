"""One answer per question: organisation names, codes, years, dates and the year -> format rule are
decided by `spec.identity` for every command (template, fill, validate, read, collect)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from support import ROOT, SAMPLES, credit_code, load_sample

from xltool.base.errors import XltoolError
from xltool.check.evaluate import flatten
from xltool.collect.run import collect
from xltool.read.reader import read_workbook
from xltool.spec.identity import code_problem, model_for, norm_name, parse_date, same_name, same_year
from xltool.spec.model import load_model
from xltool.template.writer import TemplateOptions, write_template

M21 = "annual-report-2021"
BRACKETS_FULL, BRACKETS_HALF = "示例县某镇（街道）", "示例县某镇(街道)"
CODE = "11330000MB0000000H"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "300"}
    return subprocess.run(
        [sys.executable, "-m", "xltool", *args], capture_output=True, text=True, cwd=ROOT, timeout=300, env=env
    )


def filled(year: int, issued_to: str, filled_as: str, code: str = CODE) -> bytes:
    model = load_model(M21)
    values: dict[str, Any] = dict(flatten(model, load_sample("synthetic-2021.json")))
    values.update({"/year": year, "/organization/name": filled_as, "/organization/code": code})
    data, _ = write_template(
        model,
        TemplateOptions(
            year=year,
            org_name=issued_to,
            org_code=code,
            level="township",
            issue_date=f"{year + 1}-01-05",
            values=values,
        ),
    )
    return data


def test_names_are_compared_after_nfkc_and_space_folding() -> None:
    assert norm_name(" 示例县某镇（街道）\u3000 ") == BRACKETS_HALF
    assert same_name(BRACKETS_FULL, BRACKETS_HALF)
    assert same_name("某镇  人民政府", "某镇\u3000人民政府")
    assert not same_name("某镇", "某乡")


def test_reader_and_collect_agree_on_a_full_width_bracket(tmp_path: Path) -> None:
    path = tmp_path / "inbox" / "某镇.xlsx"
    path.parent.mkdir()
    path.write_bytes(filled(2023, BRACKETS_FULL, BRACKETS_HALF))
    assert [i.code for i in read_workbook(path).issues if i.code == "ORG_MISMATCH"] == []
    roster = tmp_path / "roster.csv"
    roster.write_text(f"name,code,level\n{BRACKETS_FULL},{CODE},township\n", encoding="utf-8")
    result = collect(path.parent, tmp_path / "archive", roster=roster, year=2023, jobs=1)
    assert [(f["state"], f["org_name"]) for f in result.files] == [("accepted", BRACKETS_FULL)]


def test_another_organisation_is_still_a_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(filled(2023, BRACKETS_FULL, "示例县某乡"))
    assert [i.code for i in read_workbook(path).issues if i.code == "ORG_MISMATCH"] == ["ORG_MISMATCH"]


def test_one_code_for_a_year_that_is_not_the_collection_year(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "去年.xlsx").write_bytes(filled(2022, BRACKETS_FULL, BRACKETS_FULL))
    result = collect(inbox, tmp_path / "archive", year=2023, jobs=1)
    assert [f["state"] for f in result.files] == ["wrong_year"]
    fb = next((tmp_path / "archive" / "feedback" / "2023").iterdir())
    wb = openpyxl.load_workbook(fb, read_only=True)
    codes = [row[3] for row in wb["问题清单"].iter_rows(values_only=True) if row and len(row) > 4]
    wb.close()
    assert "YEAR_MISMATCH" in codes and "WRONG_YEAR" not in codes


def test_a_template_year_and_a_filled_year_disagreeing_is_year_mismatch(tmp_path: Path) -> None:
    model = load_model(M21)
    values: dict[str, Any] = dict(flatten(model, load_sample("synthetic-2021.json")))
    values["/year"] = 2024
    data, _ = write_template(model, TemplateOptions(year=2023, org_name="", issue_date="2024-01-05", values=values))
    path = tmp_path / "y.xlsx"
    path.write_bytes(data)
    assert [i.code for i in read_workbook(path).issues if "YEAR" in i.code] == ["YEAR_MISMATCH"]


def test_years_compare_as_numbers() -> None:
    assert same_year("2023", 2023) and same_year(" 2023年", 2023) and same_year("", 2023)
    assert not same_year("2022", 2023)


@pytest.mark.parametrize(
    ("schema", "year", "expected"),
    [
        (None, 2020, "annual-report-2019"),
        (None, 2019, "annual-report-2019"),
        (None, 2021, M21),
        (None, 2099, M21),
        (None, None, M21),
        ("annual-report-2019", 2020, "annual-report-2019"),
    ],
)
def test_the_year_chooses_the_format(schema: str | None, year: int | None, expected: str) -> None:
    assert model_for(schema, year).name == expected


@pytest.mark.parametrize(
    ("schema", "year"), [(None, 1999), (None, 3000), (None, -5), (M21, 2020), ("annual-report-2019", 2021)]
)
def test_years_outside_the_format_are_refused(schema: str | None, year: int) -> None:
    with pytest.raises(XltoolError) as info:
        model_for(schema, year)
    assert info.value.code == "BAD_YEAR"


def test_template_2020_uses_the_2019_format(tmp_path: Path) -> None:
    r = cli("template", "--year", "2020", "-o", str(tmp_path / "t.xlsx"), "--issue-date", "2021-01-05")
    assert r.returncode == 0, r.stderr
    assert read_workbook(tmp_path / "t.xlsx").model.name == "annual-report-2019"


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("11330000MB0000000H", None),
        ("91350100M000100Y43", None),  # the example of GB 32100-2015
        ("11330000mb0000000h", None),
        ("91350100M000100Y44", "check"),
        ("123", "shape"),
        ("91350100M000100Y4O", "shape"),  # O is not in the alphabet
        ("９１350100M000100Y4３", None),  # full-width digits: compared after NFKC
        ("91350100M000100Y4３4", "shape"),
    ],
)
def test_organisation_codes_follow_gb_32100(code: str, problem: str | None) -> None:
    found = code_problem(code)
    kind = None if found is None else ("check" if "校验位" in found[0] else "shape")
    assert kind == problem


def test_a_roster_code_and_an_option_code_are_checked_alike(tmp_path: Path) -> None:
    bad = "11330000MB0000001A"
    roster = tmp_path / "roster.csv"
    roster.write_text(f"name,code,level\n甲乡,{bad},township\n", encoding="utf-8")
    r1 = cli("template", "--org-code", bad, "-o", str(tmp_path / "a.xlsx"), "--lang", "en")
    r2 = cli("template", "--roster", str(roster), "--out-dir", str(tmp_path / "out"), "--lang", "en")
    assert (r1.returncode, r2.returncode) == (2, 2)
    reason = "organisation code '11330000MB0000001A': the check character should be 'L'; please check the code"
    assert r1.stderr.strip() == f"[BAD_ORG_CODE] --org-code: {reason}"
    assert r2.stderr.strip() == f"{roster}: [ROSTER_BAD_ROW] row 2: {reason}"
    good = credit_code("11330000MB0000001")
    roster.write_text(f"name,code,level,deadline\n甲乡,{good},township,2026/1/31\n", encoding="utf-8")
    r3 = cli("template", "--year", "2025", "--roster", str(roster), "--out-dir", str(tmp_path / "out"))
    assert r3.returncode == 0, r3.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    issued = [read_workbook(tmp_path / "out" / t["文件"]).identity for t in manifest["templates"]]
    assert [(i.org_code, i.deadline) for i in issued] == [(good, "2026-01-31")]


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2026-01-31", "2026-01-31"),
        ("2026/1/31", "2026-01-31"),
        ("2026.1.31", "2026-01-31"),
        ("2026年1月31日", "2026-01-31"),
    ],
)
def test_dates_are_parsed_as_dates(text: str, iso: str) -> None:
    assert parse_date(text).isoformat() == iso


@pytest.mark.parametrize("text", ["2024-13-45", "明年一月", "2024-02-30", "31/01/2026", ""])
def test_impossible_dates_are_refused(text: str) -> None:
    with pytest.raises(XltoolError) as info:
        parse_date(text, "--deadline")
    assert info.value.code == "BAD_DATE"


def test_a_deadline_before_the_issue_date_is_warned(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    r = cli("template", "--year", "2025", "--issue-date", "2026-01-05", "--deadline", "2026/1/3", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "[DEADLINE_BEFORE_ISSUE] 报送截止日期 2026-01-03 早于发放日期 2026-01-05"
    assert read_workbook(out).identity.deadline == "2026-01-03"


def test_validate_names_odd_keys_from_structured_errors(tmp_path: Path) -> None:
    report = json.loads((SAMPLES / "synthetic-2021.json").read_text(encoding="utf-8"))
    report["it's"] = 1
    report["organization"]["a/b"] = 2
    del report["problems"]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    r = cli("validate", str(path), "--format", "json")
    assert r.returncode == 1, r.stderr
    found = sorted((i["code"], i["pointer"]) for i in json.loads(r.stdout)["issues"] if i["code"] != "W2")
    assert found == [
        ("MISSING_FIELD", "/problems"),
        ("UNKNOWN_FIELD", "/it's"),
        ("UNKNOWN_FIELD", "/organization/a~1b"),
    ]


def test_fill_into_an_issued_template_keeps_its_identity(tmp_path: Path) -> None:
    issued = tmp_path / "issued.xlsx"
    r = cli(
        "template", "--year", "2023", "--org", "示例县城关镇人民政府", "--org-code", CODE, "--level", "township",
        "--deadline", "2024-01-31", "--contact", "县政务公开办 0000-0000000", "--issue-date", "2024-01-05",
        "-o", str(issued),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = tmp_path / "filled.xlsx"
    r = cli("fill", str(SAMPLES / "synthetic-2021.json"), "--template", str(issued), "-o", str(out))
    assert r.returncode == 0, r.stderr
    before, after = read_workbook(issued), read_workbook(out)
    assert after.identity == before.identity
    assert (after.identity.deadline, after.identity.contact) == ("2024-01-31", "县政务公开办 0000-0000000")
    report = load_sample("synthetic-2021.json")
    assert after.report["applications"]["received"]["total"] == report["applications"]["received"]["total"]
    assert after.report["year"] == 2023
    r = cli("fill", str(SAMPLES / "synthetic-2021.json"), "--template", str(issued), "--year", "2024", "-o", str(out))
    assert (r.returncode, r.stderr.split("]")[0]) == (2, "[BAD_ARGUMENT")


def test_blank_cells_collapse_per_sheet_in_text_but_not_in_json(tmp_path: Path) -> None:
    blank = tmp_path / "blank.xlsx"
    assert cli("template", "--year", "2023", "-o", str(blank), "--issue-date", "2024-01-05").returncode == 0
    text = cli("read", str(blank))
    doc = json.loads(cli("read", str(blank), "--format", "json").stdout)
    blanks = [i for i in doc["issues"] if i["code"] == "BLANK_CELL" and i["severity"] == "warning"]
    per_sheet = Counter(i["sheet"] for i in blanks)
    lines = [line for line in text.stdout.splitlines() if line.startswith("警告  BLANK_CELL")]
    assert len(blanks) > 100 and max(per_sheet.values()) > 5
    expected = [f"本表有 {n} 个空白单元格按0读取" for n in per_sheet.values() if n > 5]
    assert [line[line.index("本表有") :].split("（")[0] for line in lines if "本表有" in line] == expected
    assert len(lines) == sum(n if n <= 5 else 1 for n in per_sheet.values())
    assert f"{doc['warnings']} 个警告" in text.stdout.splitlines()[0]


def test_fill_into_another_year_says_that_year(tmp_path: Path) -> None:
    out = tmp_path / "2025.xlsx"
    r = cli(
        "fill", str(SAMPLES / "synthetic-2021.json"), "--year", "2025", "--issue-date", "2026-01-05", "-o", str(out)
    )
    assert r.returncode == 0, r.stderr
    result = read_workbook(out)
    assert (result.identity.year, result.report["year"]) == ("2025", 2025)
    assert [i.code for i in result.issues if "YEAR" in i.code] == []
    r = cli("fill", str(SAMPLES / "hucun-2020.json"), "--year", "2021", "-o", str(tmp_path / "x.xlsx"))
    assert (r.returncode, r.stderr.split("]")[0]) == (2, "[BAD_YEAR")


def test_a_unicode_text_roster_from_excel_is_read(tmp_path: Path) -> None:
    """Excel's "Unicode 文本": UTF-16 with a BOM, tab-separated (without a BOM it is refused, see test_cli_boundary)."""
    roster = tmp_path / "名单.txt"
    good = credit_code("11330000MB0000001")
    roster.write_bytes(f"单位名称\t统一社会信用代码\t层级\r\n甲乡\t{good}\t乡镇（街道）\r\n".encode("utf-16"))
    r = cli("template", "--year", "2025", "--roster", str(roster), "--out-dir", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert [(t["单位名称"], t["统一社会信用代码"], t["层级"]) for t in manifest["templates"]] == [
        ("甲乡", good, "township")
    ]


def test_validate_applies_the_year_rule_as_a_finding(tmp_path: Path) -> None:
    doc = json.loads((SAMPLES / "hucun-2020.json").read_text(encoding="utf-8"))
    del doc["_meta"]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    wrong = json.loads(cli("validate", str(path), "--schema", M21, "--format", "json", "--lang", "en").stdout)
    found = [(i["code"], i["message_en"]) for i in wrong["issues"] if i["code"] == "YEAR_FORMAT"]
    assert found == [("YEAR_FORMAT", f"the 2020 report uses the annual-report-2019 format; {M21} is for 2021–")]
    right = cli("validate", str(path), "--format", "json")
    assert right.returncode == 0 and json.loads(right.stdout)["schema"] == "annual-report-2019"
