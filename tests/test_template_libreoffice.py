"""LibreOffice recalculates filled templates; every ✓/✗ cell and every total must equal the Python
evaluator (the authority). Also: a LibreOffice re-save keeps protection, inputs, validations,
defined names and identity."""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import libreoffice as lo
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import model_for

from xltool.check.evaluate import BLANK, FAIL, PASS, SKIPPED, derive, evaluate
from xltool.check.formulas import FAIL_MARK, PASS_MARK, WARN_MARK
from xltool.spec.identity import KEYS
from xltool.spec.layout import build_layout
from xltool.spec.model import Model
from xltool.spec.positions import CHECKS_STATE_COL, META_KEY_COL, META_VALUE_COL, SUMMARY_ROW, meta_row
from xltool.template.formats import RED_BG
from xltool.template.summary import NOT_FILLED, PASSED, failing_text
from xltool.template.writer import TemplateOptions, write_template

pytestmark = pytest.mark.needs("soffice")

TEXTS = ["", "本年度未收取信息处理费。", "无其他需要报告的事项。", "字" * 1001, "第一段\n第二段"]


def fill_strategy(model: Model) -> st.SearchStrategy[dict[str, Any]]:
    """Random inputs (blanks included) and, sometimes, totals typed over their formulas."""
    inputs = {}
    for f in model.fields:
        if f.pointer in model.derived:
            continue
        if f.kind == "count":
            inputs[f.pointer] = st.one_of(st.none(), st.integers(0, 40))
        elif f.kind == "signed_count":
            inputs[f.pointer] = st.one_of(st.none(), st.integers(-20, 20))
        elif f.kind == "amount":
            inputs[f.pointer] = st.one_of(st.none(), st.integers(0, 10**8).map(lambda n: n / 10**6))
        elif f.kind == "integer":
            inputs[f.pointer] = st.one_of(st.none(), st.integers(2019, 2030))
        else:
            inputs[f.pointer] = st.one_of(st.none(), st.sampled_from(TEXTS))
    derived = sorted(model.derived)
    overrides = st.dictionaries(st.sampled_from(derived), st.integers(0, 60), max_size=4)
    return st.fixed_dictionaries({"inputs": st.fixed_dictionaries(inputs), "overrides": overrides})


def mark(outcome: Any) -> str:
    if outcome.state == PASS:
        return PASS_MARK
    if outcome.state == FAIL:
        return FAIL_MARK if outcome.rule.severity == "error" else WARN_MARK
    assert outcome.state in (BLANK, SKIPPED)
    return ""


def write_filled(model: Model, blank: bytes, case: dict[str, Any], path: Path) -> None:
    """Type the values into the blank template with openpyxl (formulas keep no cached values)."""
    layout = build_layout(model)
    wb = openpyxl.load_workbook(io.BytesIO(blank))
    for ptr, value in {**case["inputs"], **case["overrides"]}.items():
        if value is None:
            continue
        b = layout.fields[ptr].box
        wb[b.sheet].cell(b.row + 1, b.col + 1).value = value
    wb.save(path)


def check_agreement(model: Model, case: dict[str, Any], recalculated: Path) -> None:
    layout = build_layout(model)
    wb = openpyxl.load_workbook(recalculated, data_only=True)
    values = derive(model, {**case["inputs"], **case["overrides"]}, keep=set(case["overrides"]))
    outcomes = evaluate(model, values, level="township", derived=model.derived)
    checks_ws = wb[model.checks_sheet]
    for o in outcomes:
        row = layout.check_rows[(o.rule.id, o.instance.index)]
        state = checks_ws.cell(row + 1, CHECKS_STATE_COL + 1).value or ""
        assert state == mark(o), (o.rule.id, o.instance.key, state, o.state, o.left, o.right)
        placed = layout.checks.get((o.rule.id, o.instance.index))
        if placed is not None:
            cell = wb[placed.box.sheet].cell(placed.box.row + 1, placed.box.col + 1).value or ""
            assert cell == mark(o), placed.box.where
    for ptr in model.derived:
        b = layout.fields[ptr].box
        got = wb[b.sheet].cell(b.row + 1, b.col + 1).value
        expected = values[ptr] if values[ptr] is not None else 0
        assert got == expected, (ptr, got, expected)
    fails = sum(1 for o in outcomes if o.state == FAIL and o.rule.severity == "error")
    passes = sum(1 for o in outcomes if o.state == PASS)
    expected = failing_text(fails) if fails else PASSED if passes else NOT_FILLED
    for sheet in (model.instructions_sheet, *(s.name for s in layout.sheets)):
        assert wb[sheet].cell(SUMMARY_ROW + 1, 1).value == expected, sheet


@pytest.mark.parametrize("year", ["2021", "2019"])
def test_excel_checks_agree_with_python_after_libreoffice_recalculation(
    year: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    model = model_for(year)
    blank, _ = write_template(model, TemplateOptions(year=2025, level="township", issue_date="2026-01-05"))

    @settings(
        max_examples=3,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(st.lists(fill_strategy(model), min_size=6, max_size=6))
    def run(cases: list[dict[str, Any]]) -> None:
        tmp = tmp_path_factory.mktemp("agree")
        paths = []
        for i, case in enumerate(cases):
            p = tmp / f"case{i}.xlsx"
            write_filled(model, blank, case, p)
            paths.append(p)
        outs = lo.convert_many(paths, tmp / "out", "xlsx")
        for case, out in zip(cases, outs, strict=False):
            check_agreement(model, case, out)

    run()


def test_every_rule_fails_somewhere_in_a_planted_case(tmp_path: Path) -> None:
    """A deterministic case that violates every rule once, so no rule's formula goes untested."""
    model = model_for("2021")
    blank, _ = write_template(model, TemplateOptions(year=2025, level="township", issue_date="2026-01-05"))
    inputs = {f.pointer: 1 for f in model.fields if f.numeric and f.pointer not in model.derived}
    inputs.update(
        {
            "/overview": "字" * 1001,
            "/other_matters": "无",
            "/problems": "无",
            "/organization/name": "某乡",
            "/organization/code": "",
            "/year": 2025,
        }
    )
    overrides = {
        "/applications/received/total": 99,
        "/applications/results/total/natural_person": 77,
        "/review_litigation/review/total": 5,
    }
    case = {"inputs": inputs, "overrides": overrides}
    src = tmp_path / "planted.xlsx"
    write_filled(model, blank, case, src)
    out = lo.recalc_resave(src, tmp_path / "planted-lo.xlsx")
    check_agreement(model, case, out)
    values = derive(model, {**inputs, **overrides}, keep=set(overrides))
    failed = {o.rule.id for o in evaluate(model, values, level="township", derived=model.derived) if o.state == FAIL}
    assert failed == {"R1", "R2", "R3", "R4", "W1", "W2", "W3"}


def test_libreoffice_resave_keeps_protection_inputs_validations_names_identity(tmp_path: Path) -> None:
    model = model_for("2021")
    layout = build_layout(model)
    data, ident = write_template(
        model, TemplateOptions(year=2025, org_name="某乡", level="township", issue_date="2026-01-05", password="")
    )
    src = tmp_path / "t.xlsx"
    src.write_bytes(data)
    out = lo.recalc_resave(src, tmp_path / "resaved.xlsx")
    with zipfile.ZipFile(out) as z:
        # LibreOffice keeps the workbookProtection element but drops lockStructure when it saves
        # (a LibreOffice limitation): structure locking is only guaranteed on our own files.
        assert "<workbookProtection" in z.read("xl/workbook.xml").decode()
    wb = openpyxl.load_workbook(out)
    for ws in wb.worksheets:
        assert ws.protection.sheet, ws.title
    n_validations = 0
    for ptr, cell in layout.fields.items():
        c = wb[cell.box.sheet].cell(cell.box.row + 1, cell.box.col + 1)
        assert c.protection.locked == cell.derived, ptr
        if not cell.derived:
            target = wb.defined_names[cell.defined_name].attr_text.replace("$", "").replace("'", "")
            assert target == f"{cell.box.sheet}!{cell.box.a1}", ptr
    for s in layout.sheets:
        n_validations += sum(len(dv.sqref.ranges) for dv in wb[s.name].data_validations.dataValidation)
    assert n_validations == sum(1 for c in layout.fields.values() if not c.derived)
    meta = wb[model.meta_sheet]
    assert meta.sheet_state == "hidden"
    rows = {k: meta_row(k) + 1 for k in KEYS}
    assert {
        meta.cell(r, META_KEY_COL + 1).value: meta.cell(r, META_VALUE_COL + 1).value or "" for r in rows.values()
    } == (ident.as_dict())
    for key in KEYS:
        assert f"xltool.{key}" in wb.defined_names


def red_pixels_on_first_page(pdf: Path) -> int:
    """Pixels of the red failure fill on the first printed page (the instructions sheet), rendered by poppler."""
    prefix = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(prefix)], check=True, timeout=60)
    ppm = next(pdf.parent.glob(f"{prefix.name}*.ppm")).read_bytes()
    magic, width, height, depth, pixels = ppm.split(maxsplit=4)
    assert (magic, depth) == (b"P6", b"255")
    red = bytes(int(RED_BG[i : i + 2], 16) for i in (1, 3, 5))
    data = pixels[: int(width) * int(height) * 3]
    return sum(1 for i in range(0, len(data), 3) if data[i : i + 3] == red)


def test_instructions_summary_turns_red_when_a_check_fails(tmp_path: Path) -> None:
    """The summary on 填报说明 gets the red format of the other sheets once LibreOffice recalculates a ✗."""
    model = model_for("2021")
    blank, _ = write_template(model, TemplateOptions(year=2025, level="township", issue_date="2026-01-05"))
    (tmp_path / "blank.xlsx").write_bytes(blank)
    failing = {
        "inputs": {"/applications/received/natural_person": 3},
        "overrides": {},
    }  # R1 fails: 3 received, 0 handled
    write_filled(model, blank, failing, tmp_path / "failing.xlsx")
    pdfs = lo.convert_many([tmp_path / "blank.xlsx", tmp_path / "failing.xlsx"], tmp_path / "pdf", "pdf")
    assert red_pixels_on_first_page(pdfs[0]) == 0
    assert red_pixels_on_first_page(pdfs[1]) > 500
