"""The coercion table (DESIGN §6), each case typed into a real template cell and read back.

Templates are written by xltool, edited and re-saved with openpyxl, and read with
`read_workbook`; every case asserts the coerced value and the exact issues at that cell.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from xltool.check.evaluate import flatten
from xltool.read.reader import ReadResult, read_workbook
from xltool.spec.layout import build_layout
from xltool.spec.model import load_model
from xltool.template.writer import TemplateOptions, write_template

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = {"annual-report-2021": "synthetic-2021.json", "annual-report-2019": "hucun-2020.json"}
W, E = "warning", "error"

# (id, schema, kind, typed, coerced value, [(code, severity)], how it gets into the file)
CASES: list[tuple[str, str, str, Any, Any, list[tuple[str, str]], str]] = [
    ("number", "2021", "count", 12, 12, [], "edit"),
    ("zero", "2021", "count", 0, 0, [], "edit"),
    ("text_number", "2021", "count", "12", 12, [("TEXT_NUMBER", W)], "edit"),
    ("fullwidth", "2021", "count", "１２", 12, [("FULLWIDTH_DIGITS", W)], "edit"),
    ("thousands", "2021", "count", "1,234", 1234, [("THOUSANDS_SEPARATOR", W)], "edit"),
    ("thousands_fullwidth_comma", "2021", "count", "1，234", 1234, [("THOUSANDS_SEPARATOR", W)], "edit"),
    ("spaces", "2021", "count", " 12 ", 12, [("SURROUNDING_SPACES", W)], "edit"),
    (
        "all_three",
        "2021",
        "count",
        " １,２３４ ",
        1234,
        [("SURROUNDING_SPACES", W), ("FULLWIDTH_DIGITS", W), ("THOUSANDS_SEPARATOR", W)],
        "edit",
    ),
    ("unit", "2021", "count", "12件", None, [("TEXT_IN_NUMBER", E)], "edit"),
    ("word", "2021", "count", "无", None, [("TEXT_IN_NUMBER", E)], "edit"),
    ("decrease_word", "2021", "count", "减4", None, [("TEXT_IN_NUMBER", E)], "edit"),
    ("negative", "2021", "count", -3, -3, [("NEGATIVE", E)], "edit"),
    ("fraction", "2021", "count", 2.5, 2.5, [("FRACTION_IN_COUNT", E)], "edit"),
    ("whole_float", "2021", "count", 7.0, 7, [], "edit"),
    ("date", "2021", "count", dt.datetime(2024, 1, 5), None, [("DATE_IN_NUMBER", E)], "edit"),
    ("boolean", "2021", "count", True, None, [("BOOLEAN_IN_NUMBER", E)], "edit"),
    ("infinite", "2021", "count", "1e999", None, [("NOT_FINITE", E)], "edit"),
    ("too_large", "2021", "count", 2**53 + 2, 2**53 + 2, [("OUT_OF_RANGE", E)], "edit"),
    ("blank", "2021", "count", None, 0, [("BLANK_CELL", W)], "edit"),
    ("blank_spaces", "2021", "count", "   ", 0, [("BLANK_CELL", W)], "edit"),
    ("formula_constant", "2021", "count", "=1+2", 3, [("FORMULA_IN_INPUT", W)], "edit"),
    ("formula_parentheses", "2021", "count", "=(10-4)*2/3", 4, [("FORMULA_IN_INPUT", W)], "edit"),
    ("formula_fraction", "2021", "count", "=10/4", 2.5, [("FORMULA_IN_INPUT", W), ("FRACTION_IN_COUNT", E)], "edit"),
    ("formula_call", "2021", "count", "=SUM(1,2)", None, [("FORMULA_IN_INPUT", E)], "edit"),
    ("formula_reference", "2021", "count", "=D9+1", None, [("FORMULA_IN_INPUT", E)], "edit"),
    ("formula_division_by_zero", "2021", "count", "=1/0", None, [("FORMULA_IN_INPUT", E)], "edit"),
    ("amount", "2021", "amount", 5949.088667, 5949.088667, [], "edit"),
    ("amount_whole", "2021", "amount", 12, 12, [], "edit"),
    ("amount_too_many_decimals", "2021", "amount", 5949.0886671, 5949.0886671, [("TOO_MANY_DECIMALS", E)], "edit"),
    ("amount_text", "2021", "amount", "12.5", 12.5, [("TEXT_NUMBER", W)], "edit"),
    ("amount_negative", "2021", "amount", -1.5, -1.5, [("NEGATIVE", E)], "edit"),
    ("amount_unit", "2021", "amount", "251000元", None, [("TEXT_IN_NUMBER", E)], "edit"),
    ("amount_blank", "2021", "amount", None, 0, [("BLANK_CELL", W)], "edit"),
    ("year", "2021", "integer", 2023, 2023, [], "edit"),
    ("year_fullwidth", "2021", "integer", "２０２３", 2023, [("FULLWIDTH_DIGITS", W)], "edit"),
    ("year_out_of_range", "2021", "integer", 1999, 1999, [("OUT_OF_RANGE", E)], "edit"),
    ("year_word", "2021", "integer", "2023年", None, [("TEXT_IN_NUMBER", E)], "edit"),
    ("year_fraction", "2021", "integer", 2023.5, 2023.5, [("FRACTION_IN_COUNT", E)], "edit"),
    ("year_blank", "2021", "integer", None, None, [("BLANK_CELL", E)], "edit"),
    ("text_lines", "2021", "text", "第一行\n第二行\n\n第四行", "第一行\n第二行\n\n第四行", [], "edit"),
    ("text_spaces_kept", "2021", "text", "  前后有空格  ", "  前后有空格  ", [], "edit"),
    ("text_from_number", "2021", "text", 12, "12", [], "edit"),
    ("text_from_float", "2021", "text", 12.5, "12.5", [], "edit"),
    ("text_blank", "2021", "text", None, "", [("BLANK_CELL", W)], "edit"),
    ("text_formula", "2021", "text", '="本年度"&"无"', "", [("FORMULA_IN_INPUT", E)], "edit"),
    ("text_control", "2021", "text", "第一段\x07第二段", "第一段\x07第二段", [("CONTROL_CHARACTERS", W)], "writer"),
    ("text_carriage_return", "2021", "text", "甲\r\n乙", "甲\r\n乙", [("CONTROL_CHARACTERS", W)], "writer"),
    ("optional_blank", "2021", "string", None, "", [("BLANK_CELL", W)], "edit"),
    ("signed", "2019", "signed_count", -4, -4, [], "edit"),
    ("signed_text", "2019", "signed_count", "-4", -4, [("TEXT_NUMBER", W)], "edit"),
    ("signed_fullwidth", "2019", "signed_count", "－4", -4, [("FULLWIDTH_DIGITS", W)], "edit"),
    ("signed_word", "2019", "signed_count", "减4", None, [("TEXT_IN_NUMBER", E)], "edit"),
    ("signed_fraction", "2019", "signed_count", -2.5, -2.5, [("FRACTION_IN_COUNT", E)], "edit"),
]


def _model(year: str):
    return load_model(f"annual-report-{year}")


def _pool(model, kind: str) -> list[str]:
    """Input cells of a kind; the 'string' pool holds the optional ones only."""
    derived = model.derived
    return [
        f.pointer
        for f in model.fields
        if f.kind == kind and f.pointer not in derived and (kind != "string" or not f.required)
    ]


def _base_values(model) -> dict[str, Any]:
    sample = json.loads((ROOT / "samples" / SAMPLES[model.name]).read_text(encoding="utf-8"))
    values = flatten(model, sample)
    values["/organization/code"] = values["/organization/code"] or "11330000MB0000000H"  # hucun: not published
    return values


def _edit(data: bytes, layout, edits: dict[str, Any]) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    for pointer, value in edits.items():
        box = layout.fields[pointer].box
        wb[box.sheet][box.a1] = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


Book = tuple[str, str, int]  # (schema year, how cases get in, index)


def _plan() -> tuple[dict[Book, dict[str, Any]], dict[str, tuple[Book, str]]]:
    """Give each case its own cell: cases of one kind fill that kind's cells, then a new workbook."""
    books: dict[Book, dict[str, Any]] = defaultdict(dict)
    where: dict[str, tuple[Book, str]] = {}
    used: dict[tuple[str, str, str], int] = defaultdict(int)
    for case_id, year, kind, typed, _value, _issues, via in CASES:
        pool = _pool(_model(year), kind)
        n = used[(year, kind, via)]
        used[(year, kind, via)] += 1
        book, pointer = (year, via, n // len(pool)), pool[n % len(pool)]
        books[book][pointer] = typed
        where[case_id] = (book, pointer)
    return books, where


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, tuple[ReadResult, str]]:
    tmp = tmp_path_factory.mktemp("coerce")
    books, where = _plan()
    read: dict[Book, ReadResult] = {}
    for (year, via, index), edits in books.items():
        model = _model(year)
        values = _base_values(model)
        if via == "writer":  # characters openpyxl refuses to write: let xlsxwriter escape them
            values.update(edits)
        data, _ = write_template(model, TemplateOptions(issue_date="2026-01-05", level="township", values=values))
        if via == "edit":
            data = _edit(data, build_layout(model), edits)
        path = tmp / f"{year}-{via}-{index}.xlsx"
        path.write_bytes(data)
        read[(year, via, index)] = read_workbook(path, model=model)
    return {case_id: (read[book], pointer) for case_id, (book, pointer) in where.items()}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_coercion_case(case, results) -> None:
    case_id, _year, _kind, _typed, value, expected, _via = case
    result, pointer = results[case_id]
    box = build_layout(result.model).fields[pointer].box
    rule_ids = {r.id for r in result.model.rules}
    got = [
        (i.code, i.severity, i.sheet, i.cell, i.pointer)
        for i in result.issues
        if i.pointer == pointer and i.code not in rule_ids
    ]
    assert sorted(got) == sorted((code, sev, box.sheet, box.a1, pointer) for code, sev in expected)
    assert result.values[pointer] == value and type(result.values[pointer]) is type(value)
    assert result.cells[pointer] == f"{box.sheet}!{box.a1}"


def test_no_issue_outside_the_edited_cells(results) -> None:
    """Every coercion issue of a workbook sits on a cell some case edited."""
    edited: dict[int, set[str]] = defaultdict(set)
    for result, pointer in results.values():
        edited[id(result)].add(pointer)
    for result, _ in results.values():
        rule_ids = {r.id for r in result.model.rules}
        strays = [i for i in result.issues if i.code not in rule_ids and i.pointer not in edited[id(result)]]
        assert strays == []


def test_messages_name_expected_and_found(results) -> None:
    result, pointer = results["unit"]
    issue = next(i for i in result.issues if i.pointer == pointer and i.code == "TEXT_IN_NUMBER")
    assert "应填写不小于0的整数" in issue.message_zh and "「12件」" in issue.message_zh
    assert issue.found == "12件" and issue.expected == "不小于0的整数"
    result, pointer = results["amount_too_many_decimals"]
    issue = next(i for i in result.issues if i.pointer == pointer and i.code == "TOO_MANY_DECIMALS")
    assert "最多保留6位小数" in issue.message_zh and "7位小数" in issue.message_zh
    result, pointer = results["year_out_of_range"]
    issue = next(i for i in result.issues if i.pointer == pointer)
    assert "2000至2100之间的整数" in issue.message_zh and "1999" in issue.message_zh


def test_no_duplicate_from_schema_checks(results) -> None:
    """jsonschema also rejects -3 and 2.5 in a count; only the coercion issue is reported."""
    for case_id in ("negative", "fraction", "year_out_of_range", "amount_too_many_decimals", "unit"):
        result, pointer = results[case_id]
        rule_ids = {r.id for r in result.model.rules}
        assert len([i for i in result.issues if i.pointer == pointer and i.code not in rule_ids]) == 1, case_id


def test_strict_turns_blank_cells_into_errors(tmp_path) -> None:
    model = _model("2021")
    layout = build_layout(model)
    count = _pool(model, "count")[0]
    values = {**_base_values(model), count: None, "/overview": None, "/organization/code": None}
    data, _ = write_template(model, TemplateOptions(issue_date="2026-01-05", level="township", values=values))
    path = tmp_path / "blank.xlsx"
    path.write_bytes(data)

    def blanks(result: ReadResult) -> list[tuple[str, str, str, Any]]:
        return [
            (i.pointer, i.severity, i.cell, result.values[i.pointer]) for i in result.issues if i.code == "BLANK_CELL"
        ]

    def a1(pointer: str) -> str:
        return layout.fields[pointer].box.a1

    lenient = read_workbook(path, model=model)
    assert sorted(blanks(lenient)) == sorted(
        [
            (count, "warning", a1(count), 0),
            ("/overview", "warning", a1("/overview"), ""),
            ("/organization/code", "warning", a1("/organization/code"), ""),
        ]
    )
    strict = read_workbook(path, model=model, strict=True)
    assert sorted(blanks(strict)) == sorted(
        [
            (count, "error", a1(count), 0),
            ("/overview", "error", a1("/overview"), ""),
            ("/organization/code", "warning", a1("/organization/code"), ""),  # optional: never an error
        ]
    )
    assert lenient.exit_code == 0 and strict.exit_code == 1


def test_required_blank_text_rejected_by_schema_is_one_error(tmp_path) -> None:
    """A blank organisation name: BLANK_CELL (raised to an error by the schema's minLength), once."""
    model = _model("2021")
    values = {**_base_values(model), "/organization/name": None}
    data, _ = write_template(model, TemplateOptions(issue_date="2026-01-05", values=values))
    path = tmp_path / "noname.xlsx"
    path.write_bytes(data)
    result = read_workbook(path, model=model)
    box = build_layout(model).fields["/organization/name"].box
    assert [(i.code, i.severity, i.sheet, i.cell) for i in result.issues] == [
        ("BLANK_CELL", "error", box.sheet, box.a1)
    ]


def test_number_past_float_range_is_an_issue_not_a_crash(tmp_path) -> None:
    """A count cell holding 400 nines (typed in a file edited outside Excel): OUT_OF_RANGE on that cell, and
    the rules that add it up name the exact sum (formatting that sum as a float raised OverflowError)."""
    model = _model("2021")
    layout = build_layout(model)
    pointer = next(p for p in _pool(model, "count") if layout.fields[p].box.sheet.startswith("三"))  # in R1's sums
    marker = 987654321  # a value no sample cell holds, replaced by the huge one in the sheet XML
    data = _edit(
        write_template(model, TemplateOptions(issue_date="2026-01-05", values=_base_values(model)))[0],
        layout,
        {pointer: marker},
    )
    huge = 10**400 - 1
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            part = src.read(info.filename)
            dst.writestr(info, part.replace(f"<v>{marker}</v>".encode(), f"<v>{huge}</v>".encode()))
    path = tmp_path / "huge.xlsx"
    path.write_bytes(out.getvalue())
    result = read_workbook(path, model=model)
    box = layout.fields[pointer].box
    assert result.values[pointer] == huge
    assert [
        (i.code, i.severity, i.cell) for i in result.issues if i.pointer == pointer and i.code == "OUT_OF_RANGE"
    ] == [("OUT_OF_RANGE", "error", box.a1)]
    rule_ids = {r.id for r in model.rules}
    named = [i for i in result.issues if i.code in rule_ids and re.search(r"\d{400}", i.message_zh)]
    assert named, "a rule over the huge cell names its exact sum"
