"""LibreOffice recalculates filled templates; every ✓/✗ cell and every total must equal the Python
evaluator (the authority), and every rule instance must be seen both passing and failing (consistent
reports and single violations are built on purpose: tests/rule_cases.py). Also: a LibreOffice
re-save keeps protection, inputs, validations, defined names and identity."""

from __future__ import annotations

import io
import random
import re
import subprocess
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libreoffice as lo
import openpyxl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook
from rule_cases import Case, consistent, passes_everywhere, random_inputs, violate
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


def mark(outcome: Any) -> str:
    if outcome.state == PASS:
        return PASS_MARK
    if outcome.state == FAIL:
        return FAIL_MARK if outcome.rule.severity == "error" else WARN_MARK
    assert outcome.state in (BLANK, SKIPPED)
    return ""


class Filler:
    """Types cases into a blank template with openpyxl (formulas keep no cached values, so whatever
    the checks show was computed by LibreOffice). Parsed once; each case typed in, saved, undone."""

    def __init__(self, model: Model, blank: bytes) -> None:
        self.layout = build_layout(model)
        self.wb = openpyxl.load_workbook(io.BytesIO(blank))

    def write(self, case: Case, path: Path) -> None:
        typed = {p: v for p, v in {**case["inputs"], **case["overrides"]}.items() if v is not None}
        cells = {p: self.wb[b.sheet].cell(b.row + 1, b.col + 1) for p in typed for b in [self.layout.fields[p].box]}
        before = {p: c.value for p, c in cells.items()}
        for p, value in typed.items():
            cells[p].value = value
        self.wb.save(path)
        for p, value in before.items():
            cells[p].value = value


class Values:
    """The values (cached results, as LibreOffice computed them) of every sheet of a workbook, read
    with calamine: a whole batch is checked in a fraction of what openpyxl takes."""

    def __init__(self, path: Path) -> None:
        wb = CalamineWorkbook.from_path(str(path))
        self.sheets = {n: wb.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in wb.sheet_names}

    def cell(self, sheet: str, row: int, col: int) -> Any:
        """0-based row and column; '' for an empty cell."""
        rows = self.sheets[sheet]
        return rows[row][col] if row < len(rows) and col < len(rows[row]) else ""


def check_agreement(model: Model, case: Case, recalculated: Path, level: str) -> dict[tuple[str, int], str]:
    """Compare the recalculated workbook with the evaluator; returns the mark LibreOffice computed
    for each rule instance (on the 校验 sheet, equal to the one beside the table if any)."""
    layout = build_layout(model)
    wb = Values(recalculated)
    values = derive(model, {**case["inputs"], **case["overrides"]}, keep=set(case["overrides"]))
    outcomes = evaluate(model, values, level=level, derived=model.derived)
    states: dict[tuple[str, int], str] = {}
    for o in outcomes:
        state = wb.cell(model.checks_sheet, layout.check_rows[(o.rule.id, o.instance.index)], CHECKS_STATE_COL)
        assert state == mark(o), (recalculated.name, o.instance.label, state, o.state, o.left, o.right)
        states[(o.rule.id, o.instance.index)] = state
        placed = layout.checks.get((o.rule.id, o.instance.index))
        if placed is not None:
            assert wb.cell(placed.box.sheet, placed.box.row, placed.box.col) == mark(o), placed.box.where
    for ptr in model.derived:
        b = layout.fields[ptr].box
        got = wb.cell(b.sheet, b.row, b.col)
        expected = values[ptr] if values[ptr] is not None else 0
        assert got == expected, (recalculated.name, ptr, got, expected)
    fails = sum(1 for o in outcomes if o.state == FAIL and o.rule.severity == "error")
    passes = sum(1 for o in outcomes if o.state == PASS)
    expected = failing_text(fails) if fails else PASSED if passes else NOT_FILLED
    for sheet in (model.instructions_sheet, *(s.name for s in layout.sheets)):
        assert wb.cell(sheet, SUMMARY_ROW, 0) == expected, (recalculated.name, sheet)
    return states


def blank_template(model: Model, level: str) -> bytes:
    data, _ = write_template(model, TemplateOptions(year=2025, level=level, issue_date="2026-01-05"))
    return data


def agreement_batch(model: Model, rng: random.Random) -> list[tuple[str, str, Case]]:
    """(name, level, case): consistent reports (full, with blanks, county level), random fills with
    totals typed over, and one single violation of every rule instance the workbook can check."""
    full = [consistent(model, rng) for _ in range(3)]
    assert all(passes_everywhere(model, c) for c in full)
    batch = [("consistent", "township", full[0]), ("consistent-blanks", "township", consistent(model, rng, blanks=0.4))]
    county = consistent(model, rng, level="county")
    county["inputs"].update({p: rng.randint(1, 5) for p in county["inputs"] if "/regulations/" in p})
    batch.append(("consistent-county", "county", county))
    for n in range(2):
        fill = {"inputs": random_inputs(model, rng, blanks=0.3), "overrides": {}}
        fill["overrides"] = {p: rng.randint(0, 60) for p in rng.sample(sorted(model.derived), 3)}
        batch.append((f"random-{n}", "township", fill))
    for rule in model.rules:
        if rule.cross_year:
            continue
        for inst in rule.instances:
            base = full[inst.index % len(full)]
            batch.append((f"violate-{inst.label}", "township", violate(model, base, inst, rng.randint(1, 9))))
    return batch


@pytest.mark.parametrize("year", ["2021", "2019"])
def test_excel_checks_agree_with_python_after_libreoffice_recalculation(
    year: str, tmp_path_factory: pytest.TempPathFactory, report_line: Callable[[str], None]
) -> None:
    """Every ✓/✗/⚠ LibreOffice computes equals the evaluator's, and every rule instance that has an
    Excel check is seen both passing and failing (each run holds a single violation of each)."""
    model = model_for(year)
    blanks = {level: blank_template(model, level) for level in ("township", "county")}
    seen: dict[tuple[str, int], set[str]] = {}
    marks: Counter[str] = Counter()  # every check cell of every workbook, by what LibreOffice showed
    workbooks = 0

    # One batch per schema (~50 workbooks, one LibreOffice run): every instance is violated in it, so
    # more examples would add minutes, not coverage. No shrinking: a failure names workbook and rule.
    @settings(
        max_examples=1, phases=[Phase.generate], deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(st.integers(0, 2**32 - 1))  # a seed: st.randoms() routes every call through hypothesis (slow)
    def run(seed: int) -> None:
        nonlocal workbooks
        tmp = tmp_path_factory.mktemp("agree")
        batch = agreement_batch(model, random.Random(seed))
        fillers = {level: Filler(model, data) for level, data in blanks.items()}
        paths = []
        for name, level, case in batch:
            p = tmp / f"{len(paths):03d}-{re.sub(r'[^0-9A-Za-z_-]', '_', name)}.xlsx"
            fillers[level].write(case, p)
            paths.append(p)
        outs = lo.convert_many(paths, tmp / "out", "xlsx", timeout=300)
        for (_name, level, case), out in zip(batch, outs, strict=True):
            for key, state in check_agreement(model, case, out, level).items():
                seen.setdefault(key, set()).add(state)
                marks[state or "empty"] += 1
        workbooks += len(batch)

    run()
    checked = [(r, i) for r in model.rules if not r.cross_year for i in r.instances]
    missing = {
        i.label: sorted(seen.get((r.id, i.index), set()))
        for r, i in checked
        if not {PASS_MARK, FAIL_MARK if r.severity == "error" else WARN_MARK} <= seen.get((r.id, i.index), set())
    }
    assert not missing, f"instances not seen both passing and failing in LibreOffice: {missing}"
    cross = [i for r in model.rules if r.cross_year for i in r.instances]
    assert all(seen[(i.rule_id, i.index)] == {""} for i in cross)  # no previous year in a workbook
    report_line(
        f"rule agreement {year}: {workbooks} workbooks recalculated by LibreOffice; {len(checked)} rule instances "
        f"each seen passing and failing ({', '.join(sorted({r.id for r, _ in checked}))}); "
        f"{len(cross)} cross-year instances (W4) always empty, as the template states; check cells compared: "
        + ", ".join(f"{mark} {n}" for mark, n in sorted(marks.items()))
    )


def test_cross_year_rule_is_listed_but_not_computed_in_the_workbook(tmp_path: Path) -> None:
    """W4 compares 上年结转 with last year's 结转下年度, which no workbook holds: the template lists each
    instance on the 校验 sheet with an empty state (formula =""), no values and its level 提示, and puts
    no check cell beside the table. It is checked when collecting into an archive holding last year
    (tests/test_rules.py proves both outcomes there). This pins down that representation."""
    for year in ("2021", "2019"):
        model = model_for(year)
        layout = build_layout(model)
        src = tmp_path / f"blank-{year}.xlsx"
        src.write_bytes(blank_template(model, "township"))
        ws = openpyxl.load_workbook(src)[model.checks_sheet]
        rows = {(ws.cell(r, 1).value, ws.cell(r, 3).value): r for r in range(4, ws.max_row + 1)}
        cross = [(r, i) for r in model.rules if r.cross_year for i in r.instances]
        assert [r.id for r, _ in cross] == ["W4"] * 7
        for rule, inst in cross:
            row = rows[(rule.id, inst.item_label)]
            assert [ws.cell(row, c).value for c in range(1, 8)] == [
                rule.id,
                rule.title_zh,
                inst.item_label,
                '=""',
                None,
                None,
                "提示",
            ]
            assert (rule.id, inst.index) not in layout.checks


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
    for ptr, cell in layout.fields.items():
        c = wb[cell.box.sheet].cell(cell.box.row + 1, cell.box.col + 1)
        assert c.protection.locked == cell.derived, ptr
        if not cell.derived:
            target = wb.defined_names[cell.defined_name].attr_text.replace("$", "").replace("'", "")
            assert target == f"{cell.box.sheet}!{cell.box.a1}", ptr
    covered: Counter[tuple[str, int, int]] = Counter()  # LibreOffice joins adjacent ranges: count cells
    for s in layout.sheets:
        for dv in wb[s.name].data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                for row in range(rng.min_row, rng.max_row + 1):
                    for col in range(rng.min_col, rng.max_col + 1):
                        covered[(s.name, row - 1, col - 1)] += 1
    inputs = {(c.box.sheet, c.box.row, c.box.col): not c.derived for c in layout.fields.values()}
    assert {cell: covered[cell] for cell in inputs} == {cell: int(unlocked) for cell, unlocked in inputs.items()}
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
    Filler(model, blank).write(failing, tmp_path / "failing.xlsx")
    pdfs = lo.convert_many([tmp_path / "blank.xlsx", tmp_path / "failing.xlsx"], tmp_path / "pdf", "pdf")
    assert red_pixels_on_first_page(pdfs[0]) == 0
    assert red_pixels_on_first_page(pdfs[1]) > 500
