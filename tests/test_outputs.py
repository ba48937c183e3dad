"""aggregate, the summary workbook, export and render on an archive that the real collect built from
30 organisations' generated workbooks (see outputs_archive.py)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

HERE = Path(__file__).resolve().parent
sys.path[:0] = [p for p in (str(HERE),) if p not in sys.path]

import libreoffice as lo  # noqa: E402
import outputs_archive as oa  # noqa: E402

from xltool.base.errors import XltoolError  # noqa: E402
from xltool.base.text import safe_filename  # noqa: E402
from xltool.outputs.aggregate import aggregate  # noqa: E402
from xltool.outputs.export import build_table, export_bytes, load_export  # noqa: E402
from xltool.outputs.summary_workbook import SHEET, summary_workbook  # noqa: E402
from xltool.spec.layout import build_layout  # noqa: E402
from xltool.spec.model import load_model  # noqa: E402

MODEL = load_model("annual-report-2021")
XLTOOL = [sys.executable, "-m", "xltool"]
needs_soffice = pytest.mark.skipif(
    not lo.soffice_available() and os.environ.get("CI") != "true", reason="LibreOffice (soffice) not installed"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> oa.Built:
    return oa.build(tmp_path_factory.mktemp("outputs"))


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*XLTOOL, *map(str, args)], capture_output=True, text=True, timeout=300)


def independent_sum(reports: list[dict]) -> dict[str, object]:
    out: dict[str, object] = {}
    for f in MODEL.fields:
        if not f.numeric or f.identity:
            continue
        nums = [r[f.pointer] for r in reports if r.get(f.pointer) is not None]
        out[f.pointer] = sum(nums, Decimal(0) if any(isinstance(n, Decimal) for n in nums) else 0) if nums else None
    return out


def test_aggregate_is_the_exact_sum_of_the_accepted_reports(built: oa.Built) -> None:
    s = aggregate(built.archive, 2023)
    assert sorted(o.name for o in s.included) == sorted(built.accepted)
    numeric = {p: v for p, v in s.totals.items() if p in MODEL.by_pointer and MODEL.by_pointer[p].numeric}
    numeric.pop("/year")
    assert numeric == independent_sum(list(built.accepted.values()))
    # the resubmitted organisation counts with its second file only
    assert s.totals["/proactive/licensing/decisions"] == sum(30 + n for n in _ns(built))
    fees = s.report()["proactive"]["fees"]["amount"]
    assert Decimal(repr(fees)) == sum((v["/proactive/fees/amount"] for v in built.accepted.values()), Decimal(0))
    towns = [v for name, v in built.accepted.items() if any(name == o[0] for o in oa.TOWNS)]
    n, sums = s.subtotals["township"]
    assert n == len(towns) == 15
    assert {p: sums[p] for p in independent_sum(towns)} == independent_sum(towns)
    assert s.subtotals["county_department"][0] == 10


def _ns(built: oa.Built) -> list[int]:
    return [oa.ROSTER.index(next(o for o in oa.ROSTER if o[0] == name)) for name in built.accepted]


def test_incomplete_summary_names_exactly_the_missing_and_rejected(built: oa.Built) -> None:
    s = aggregate(built.archive, 2023)
    assert not s.complete and s.exit_code == 1
    assert [o.name for o in s.missing] == [o[0] for o in oa.MISSING]
    assert [o.name for o in s.with_errors] == [o[0] for o in oa.WITH_ERRORS]
    assert [o.name for o in s.not_accepted] == [oa.WRONG_ORG[0]]
    proc = run("aggregate", "--archive", built.archive, "--year", "2023")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert "！！汇总不完整！！" in lines
    assert f"  未报送（2）：{'、'.join(o[0] for o in oa.MISSING)}" in lines
    assert f"  报告有错误（2）：{'、'.join(o[0] for o in oa.WITH_ERRORS)}" in lines
    assert f"  未被接收（1）：{oa.WRONG_ORG[0]}" in lines
    doc = json.loads(run("aggregate", "--archive", built.archive, "--year", "2023", "--format", "json").stdout)
    assert [o["name"] for o in doc["missing"]] == [o[0] for o in oa.MISSING]
    assert doc["complete"] is False and len(doc["included"]) == 25


def test_a_rule_error_in_an_included_report_shows_in_the_sum_and_is_named(built: oa.Built, tmp_path: Path) -> None:
    wrong = json.loads((HERE.parent / "samples" / "synthetic-errors-2021.json").read_text(encoding="utf-8"))
    wrong["organization"] = {"name": "示例县档案馆", "code": "11330000MD0000001X"}
    path = tmp_path / "档案馆.json"
    path.write_text(json.dumps(wrong, ensure_ascii=False), encoding="utf-8")
    s = aggregate(built.archive, 2023, include=[path])
    named = {(i.code, i.pointer): s.culprits.get((i.code, i.pointer or "")) for i in s.issues if i.severity == "error"}
    assert named == {
        ("R1", "/applications/received/total"): ["示例县档案馆"],
        ("R2", "/applications/carried_over/total"): ["示例县档案馆"],
        ("R3", "/applications/results/total/natural_person"): ["示例县档案馆"],
        ("R3", "/applications/results/total/total"): ["示例县档案馆"],
        ("R4", "/review_litigation/litigation_direct/total"): ["示例县档案馆"],
    }
    assert "出错单位：示例县档案馆" in s.to_text()


def test_summing_across_formats_is_refused(built: oa.Built) -> None:
    with pytest.raises(XltoolError) as exc:
        aggregate(built.archive, 2023, include=[HERE.parent / "samples" / "hucun-2020.json"])
    assert exc.value.code == "MIXED_FORMATS"
    proc = run(
        "aggregate",
        "--archive",
        built.archive,
        "--year",
        "2023",
        "--include",
        HERE.parent / "samples" / "hucun-2020.json",
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "[MIXED_FORMATS]" in proc.stderr


def test_cross_year_rule_and_last_years_sum(built: oa.Built) -> None:
    s = aggregate(built.archive, 2023)
    assert sorted(s.previous_orgs) == sorted(built.previous)
    assert s.previous is not None
    assert s.previous["/applications/carried_forward/total"] == sum(
        v["/applications/carried_forward/total"] for v in built.previous.values()
    )
    columns = [p.rsplit("/", 1)[1] for p in MODEL.by_pointer if p.startswith("/applications/carried_over/")]
    differ = [
        f"/applications/carried_over/{c}"
        for c in columns
        if sum(v[f"/applications/carried_over/{c}"] for v in built.accepted.values())
        != sum(v[f"/applications/carried_forward/{c}"] for v in built.previous.values())
    ]
    assert differ  # the generated archive makes W4 fail on the sum: 25 organisations now, 5 last year
    assert [i.pointer for i in s.issues if i.code == "W4"] == differ


@needs_soffice
def test_summary_workbook_is_locked_and_recalculates_to_the_sum(built: oa.Built, tmp_path: Path) -> None:
    s = aggregate(built.archive, 2023)
    src = tmp_path / "汇总.xlsx"
    src.write_bytes(summary_workbook(s))
    again = lo.recalc_resave(src, tmp_path / "recalc.xlsx")
    wb = load_workbook(again, data_only=True)
    layout = build_layout(MODEL)
    for ptr, fc in layout.fields.items():
        f = MODEL.by_pointer[ptr]
        if f.numeric and not f.identity:
            got = wb[fc.box.sheet][fc.box.a1].value
            assert Decimal(repr(got)) == Decimal(str(s.totals[ptr])), ptr
    side = wb[SHEET]
    keys = [c.value for c in side[2]]
    total_row = next(r for r in side.iter_rows(min_row=3) if r[0].value == "合计")
    for key, cell in zip(keys[3:], total_row[3:], strict=False):
        assert Decimal(repr(cell.value)) == Decimal(str(s.totals[key])), key
    names = [r[0].value for r in side.iter_rows(min_row=3, max_row=2 + len(s.included))]
    assert names == [o.name for o in s.included]
    raw = load_workbook(src)
    assert raw.security is not None and raw.security.lockStructure
    assert all(ws.protection.sheet for ws in raw.worksheets)


def test_export_round_trips_csv_xlsx_jsonl(built: oa.Built, tmp_path: Path) -> None:
    table = build_table(built.archive, year=2023)
    assert len(table.rows) == 30
    by_name = {r["org_name"]: r for r in table.rows}
    for name, values in built.accepted.items():
        for ptr, v in values.items():
            assert by_name[name][ptr] == v, (name, ptr)
    for suffix in (".csv", ".xlsx"):
        path = tmp_path / f"t{suffix}"
        path.write_bytes(export_bytes(table, suffix, labels=True))
        back = {r["org_name"]: r for r in load_export(path, MODEL, labels=True)}
        for name in built.accepted:
            assert back[name] == by_name[name], (suffix, name)
    raw = (tmp_path / "t.csv").read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["year", "schema", "org_name"] and rows[1][:3] == ["年度", "格式", "单位名称"]
    injected = next(r for r in rows if r[2] == oa.INJECTED[0])
    assert injected[rows[0].index("/problems")] == "'" + built.accepted[oa.INJECTED[0]]["/problems"]
    lines = export_bytes(table, ".jsonl").decode("utf-8").splitlines()
    assert [json.loads(line)["org_name"] for line in lines] == [r["org_name"] for r in table.rows]


def test_export_panel_of_several_years_and_bad_arguments(built: oa.Built, tmp_path: Path) -> None:
    out = tmp_path / "panel.csv"
    proc = run("export", "--archive", built.archive, "--years", "2021-2025", "-o", out)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert sorted({r["year"] for r in rows}) == ["2022", "2023"]
    assert sum(1 for r in rows if r["year"] == "2022" and r["state"] == "accepted") == 5
    for args, code in (
        (("--archive", tmp_path / "nope", "-o", tmp_path / "x.csv"), "NO_ARCHIVE"),
        (("--archive", built.archive, "--year", "1999", "-o", tmp_path / "x.csv"), "NO_COLLECTION"),
        (("--archive", built.archive, "-o", tmp_path), "OUTPUT_IS_FOLDER"),
        (("--archive", built.archive, "-o", built.archive / "x.csv"), "OUTPUT_IN_ARCHIVE"),
        (("--archive", built.archive, "-o", tmp_path / "x.parquet"), "OUTPUT_TYPE"),
    ):
        proc = run("export", *args)
        assert proc.returncode == 2 and f"[{code}]" in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


def test_render_archive_entry_shows_last_year_and_w4(built: oa.Built, tmp_path: Path) -> None:
    entry = built.archive / "annual-report-2021" / "2023" / f"{oa.TOWNS[0][0]}.json"
    out = tmp_path / "r.html"
    proc = run("render", entry, "-o", out)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    assert "上年（2022年）" in html
    prev = built.previous[oa.TOWNS[0][0]]
    now = built.accepted[oa.TOWNS[0][0]]
    label = " / ".join(MODEL.by_pointer["/applications/received/total"].labels[1:])
    assert f'<td>{label}</td><td class="num">{now["/applications/received/total"]}</td>' in html
    assert f'<td class="num">{prev["/applications/received/total"]}</td>' in html
    assert "W4" in html and "<script" not in html
    proc = run("render", "--archive", built.archive, "--year", "2023", "--out-dir", tmp_path / "all", "--as", "html")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.stem for p in (tmp_path / "all").iterdir()) == sorted(
        safe_filename(n, max_len=70) for n in built.accepted
    )
    proc = run("render", entry, "-o", entry)
    assert proc.returncode == 2 and "[OUTPUT" in proc.stderr


def test_aggregate_cli_writes_json_and_workbook_and_refuses_bad_input(built: oa.Built, tmp_path: Path) -> None:
    out, book = tmp_path / "汇总.json", tmp_path / "汇总.xlsx"
    proc = run("aggregate", "--archive", built.archive, "--year", "2023", "-o", out, "--xlsx", book)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["report"]["applications"]["received"]["total"] == sum(
        v["/applications/received/total"] for v in built.accepted.values()
    )
    assert doc["report"]["overview"].startswith("本报告汇总了2023年度25个单位的政府信息公开工作年度报告数据")
    assert load_workbook(book).sheetnames[-1] == SHEET
    for args, code in (
        (("--archive", tmp_path / "nope", "--year", "2023"), "NO_ARCHIVE"),
        (("--archive", built.archive / "index.sqlite", "--year", "2023"), "NO_ARCHIVE"),
        (("--archive", built.archive, "--year", "2019"), "NO_COLLECTION"),
        (("--archive", built.archive, "--year", "2023", "--xlsx", tmp_path), "OUTPUT_IS_FOLDER"),
        (("--archive", built.archive, "--year", "2023", "-o", built.archive / "s.json"), "OUTPUT_IN_ARCHIVE"),
        (("--archive", built.archive, "--year", "2023", "-o", out, "--xlsx", out), "OUTPUT_TYPE"),
    ):
        proc = run("aggregate", *args)
        assert proc.returncode == 2 and f"[{code}]" in proc.stderr and proc.stderr.count("\n") == 1, (args, proc.stderr)
