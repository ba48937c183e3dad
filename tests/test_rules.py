"""Every rule instance of both formats breaks once and is reported at the exact pointer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from support import model_for, valid_report

from xltool.check.evaluate import pick, previous_pointers
from xltool.check.validate import validate_report
from xltool.spec.model import Model

COLUMNS = [
    "natural_person",
    "commercial_enterprise",
    "research_institution",
    "public_welfare_organization",
    "legal_service_organization",
    "other_organization",
    "total",
]
BLOCKS = ["review", "litigation_direct", "litigation_after_review"]


def bump(report: dict[str, Any], pointer: str, by: int = 1) -> None:
    node = report
    parts = pointer.strip("/").split("/")
    for p in parts[:-1]:
        node = node[p]
    node[parts[-1]] += by


def pointers(issues: list, code: str) -> set[str]:
    return {i.pointer for i in issues if i.code == code}


def app_rows(model: Model) -> list[str]:
    rows: list[str] = []
    for f in model.fields:
        if f.pointer.startswith("/applications/"):
            r = f.pointer.rsplit("/", 1)[0].removeprefix("/applications/")
            if r not in rows:
                rows.append(r)
    return rows


@pytest.mark.parametrize("year", ["2021", "2019"])
def test_valid_reports_have_no_issue(year: str) -> None:
    assert validate_report(model_for(year), valid_report(year), level="township") == []


@pytest.mark.parametrize("year", ["2021", "2019"])
@pytest.mark.parametrize("column", COLUMNS)
def test_r1_per_column(year: str, column: str) -> None:
    report = valid_report(year)
    bump(report, f"/applications/carried_forward/{column}")
    issues = validate_report(model_for(year), report)
    assert pointers(issues, "R1") == {f"/applications/received/{column}"}
    assert pointers(issues, "R3") == set()


@pytest.mark.parametrize("year", ["2021", "2019"])
def test_r2_per_row(year: str) -> None:
    model = model_for(year)
    rows = app_rows(model)
    assert len(rows) == (25 if year == "2021" else 23)
    for row in rows:
        report = valid_report(year)
        bump(report, f"/applications/{row}/total")
        issues = validate_report(model, report)
        assert pointers(issues, "R2") == {f"/applications/{row}/total"}, row


@pytest.mark.parametrize("year", ["2021", "2019"])
@pytest.mark.parametrize("column", COLUMNS)
def test_r3_per_column(year: str, column: str) -> None:
    report = valid_report(year)
    bump(report, f"/applications/results/total/{column}")
    issues = validate_report(model_for(year), report)
    assert pointers(issues, "R3") == {f"/applications/results/total/{column}"}
    assert pointers(issues, "R1") == {f"/applications/received/{column}"}


@pytest.mark.parametrize("year", ["2021", "2019"])
@pytest.mark.parametrize("block", BLOCKS)
def test_r4_per_block(year: str, block: str) -> None:
    report = valid_report(year)
    bump(report, f"/review_litigation/{block}/total", 3)
    issues = validate_report(model_for(year), report)
    assert pointers(issues, "R4") == {f"/review_litigation/{block}/total"}
    [issue] = [i for i in issues if i.code == "R4"]
    assert issue.severity == "error"
    assert issue.found == report["review_litigation"][block]["total"]
    assert issue.expected == issue.found - 3


def test_r1_message_names_column_and_both_sides() -> None:
    report = valid_report("2021")
    bump(report, "/applications/carried_forward/natural_person")
    bump(report, "/applications/carried_forward/total")
    issues = validate_report(model_for("2021"), report)
    r1 = [i for i in issues if i.code == "R1"]
    assert [i.pointer for i in r1] == ["/applications/received/natural_person", "/applications/received/total"]
    a = report["applications"]
    left = a["received"]["natural_person"] + a["carried_over"]["natural_person"]
    right = a["results"]["total"]["natural_person"] + a["carried_forward"]["natural_person"]
    assert r1[0].message_zh == f"R1 “自然人”列：第一项加第二项之和为{left}，（七）总计加第四项之和为{right}，两者应相等"
    assert r1[0].rule == "R1[natural_person]"


@pytest.mark.parametrize("year", ["2021", "2019"])
def test_w1_overview_over_1000_characters(year: str) -> None:
    report = valid_report(year)
    report["overview"] = "字" * 1000
    assert pointers(validate_report(model_for(year), report), "W1") == set()
    report["overview"] = "字" * 1001
    [w] = [i for i in validate_report(model_for(year), report) if i.code == "W1"]
    assert (w.severity, w.pointer, w.found, w.expected) == ("warning", "/overview", 1001, 1000)


def test_w2_fee_sentence_only_in_2021() -> None:
    report = valid_report("2021")
    report["other_matters"] = "无其他需要报告的事项。"
    assert pointers(validate_report(model_for("2021"), report), "W2") == {"/other_matters"}
    old = valid_report("2019")
    old["other_matters"] = "无其他需要报告的事项。"
    assert pointers(validate_report(model_for("2019"), old), "W2") == set()


@pytest.mark.parametrize("year,field", [("2021", "issued"), ("2019", "newly_made")])
def test_w3_regulations_by_level(year: str, field: str) -> None:
    report = valid_report(year)
    report["proactive"]["regulations"][field] = 2
    model = model_for(year)
    for level in ("township", "county_department"):
        [w] = [i for i in validate_report(model, report, level=level) if i.code == "W3"]
        assert (w.severity, w.pointer, w.found) == ("warning", f"/proactive/regulations/{field}", 2)
    assert pointers(validate_report(model, report, level="county"), "W3") == set()
    assert pointers(validate_report(model, report, level=None), "W3") == set()


def test_schema_errors_are_issues_not_exceptions() -> None:
    report = valid_report("2021")
    report["applications"]["received"]["natural_person"] = -3
    report["proactive"]["fees"]["amount"] = Decimal("1.1234567")
    report["proactive"]["penalty"]["decisions"] = "12件"
    del report["problems"]
    report["extra"] = 1
    issues = validate_report(model_for("2021"), report)
    got = {(i.code, i.pointer) for i in issues if i.rule is None}
    assert got == {
        ("NEGATIVE", "/applications/received/natural_person"),
        ("TOO_MANY_DECIMALS", "/proactive/fees/amount"),
        ("WRONG_TYPE", "/proactive/penalty/decisions"),
        ("MISSING_FIELD", "/problems"),
        ("UNKNOWN_FIELD", "/extra"),
    }


def test_w4_cross_year_only_with_last_years_report() -> None:
    """上年结转 this year must equal 结转下年度继续办理 last year — even across the format change
    (a 2020 report in the 2019 format is last year of a 2021 report)."""
    report = valid_report("2021")
    model = model_for("2021")
    assert pointers(validate_report(model, report), "W4") == set()  # no last year: skipped
    last = valid_report("2019")  # all zeros: carried_forward 0 everywhere
    previous = pick(last, previous_pointers(model))
    issues = [i for i in validate_report(model, report, previous=previous) if i.code == "W4"]
    carried = report["applications"]["carried_over"]
    expected = {(f"/applications/carried_over/{c}", carried[c], 0) for c in COLUMNS if carried[c] != 0}
    assert {(i.pointer, i.found, i.expected) for i in issues} == expected
    assert all(i.severity == "warning" for i in issues)
    for c in COLUMNS:
        last["applications"]["carried_forward"][c] = carried[c]
    assert pointers(validate_report(model, report, previous=pick(last, previous_pointers(model))), "W4") == set()
