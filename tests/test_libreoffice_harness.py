"""Tests of tests/libreoffice.py: LibreOffice as a second client of our files.

Skipped where LibreOffice / python3-uno are missing; with CI=true (.ci/run
installs them) a missing one fails (tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import libreoffice as lo
import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

needs_soffice = pytest.mark.needs("soffice")
needs_uno = pytest.mark.needs("soffice", "uno")

SHEET = "表1"


def make_stale(path: Path) -> Path:
    """A1=2, B1=3, C1 '=A1+B1' with a wrong cached value 999, plus text and
    a cross-sheet formula whose cached value is also wrong."""
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet(SHEET)
    ws.write("A1", 2)
    ws.write("B1", 3)
    ws.write_formula("C1", "=A1+B1", None, 999)
    ws.write("A2", "政府信息公开")
    other = wb.add_worksheet("汇总")
    other.write_formula("A1", f"='{SHEET}'!C1*10", None, -1)
    wb.close()
    return path


@pytest.fixture
def stale(tmp_path: Path) -> Path:
    src = make_stale(tmp_path / "stale.xlsx")
    # Premise: the cached values really are wrong.
    assert openpyxl.load_workbook(src, data_only=True)[SHEET]["C1"].value == 999
    return src


@needs_soffice
def test_convert_xlsx_recalculates_stale_formulas(stale: Path, tmp_path: Path) -> None:
    out = lo.convert(stale, tmp_path / "out", "xlsx")
    assert out == tmp_path / "out" / "stale.xlsx"
    values = openpyxl.load_workbook(out, data_only=True)
    assert values[SHEET]["C1"].value == 5
    assert values["汇总"]["A1"].value == 50
    assert values[SHEET]["A2"].value == "政府信息公开"
    formulas = openpyxl.load_workbook(out)
    assert formulas[SHEET]["C1"].value == "=A1+B1"


@needs_soffice
def test_recalc_resave(stale: Path, tmp_path: Path) -> None:
    dst = tmp_path / "nested" / "resaved.xlsx"
    assert lo.recalc_resave(stale, dst) == dst
    assert openpyxl.load_workbook(dst, data_only=True)[SHEET]["C1"].value == 5
    assert openpyxl.load_workbook(stale, data_only=True)[SHEET]["C1"].value == 999  # src untouched
    assert not list(tmp_path.glob("nested/*.tmp"))


@needs_soffice
@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_convert_to_xls_and_ods_readable(stale: Path, tmp_path: Path, fmt: str) -> None:
    out = lo.convert(stale, tmp_path, fmt)
    assert out.suffix == f".{fmt}"
    book = CalamineWorkbook.from_path(str(out))
    assert book.sheet_names == [SHEET, "汇总"]
    rows = book.get_sheet_by_name(SHEET).to_python()
    assert rows[0] == [2.0, 3.0, 5.0]  # recalculated, not 999
    assert rows[1][0] == "政府信息公开"
    assert book.get_sheet_by_name("汇总").to_python()[0][0] == 50.0


@needs_soffice
def test_convert_to_pdf(stale: Path, tmp_path: Path) -> None:
    out = lo.convert(stale, tmp_path, "pdf")
    assert out.read_bytes()[:5] == b"%PDF-"


@needs_soffice
def test_convert_failure_raises_with_output(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(lo.LibreOfficeError, match="failed to convert bad.xlsx"):
        lo.convert(bad, tmp_path / "out", "xlsx")


def test_convert_argument_errors(stale: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported format 'png'"):
        lo.convert(stale, tmp_path, "png")
    with pytest.raises(ValueError, match="overwrite the source"):
        lo.convert(stale, stale.parent, "xlsx")
    with pytest.raises(FileNotFoundError):
        lo.convert(tmp_path / "missing.xlsx", tmp_path, "xlsx")


def make_protected_template(path: Path) -> Path:
    """A protected sheet like our templates: unlocked input cells, locked
    labels and a total formula with a stale cached value."""
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet(SHEET)
    unlocked = wb.add_format({"locked": False})
    unlocked_text = wb.add_format({"locked": False, "num_format": "@"})
    ws.write("A1", "收到申请数")  # locked label
    for ref in ("B1", "C1", "D1", "F1"):
        ws.write_blank(ref, None, unlocked)
    ws.write("E1", "旧值", unlocked)
    ws.write_blank("G1", None, unlocked_text)
    ws.write_formula("H1", "=SUM(B1:D1)", None, 999)  # locked total
    ws.protect()
    wb.close()
    return path


@needs_uno
def test_edit_like_user_types_into_unlocked_cells_of_protected_sheet(tmp_path: Path) -> None:
    src = make_protected_template(tmp_path / "template.xlsx")
    dst = tmp_path / "filled.xlsx"
    lo.edit_like_user(
        src,
        dst,
        {
            (SHEET, "B1"): "12",
            (SHEET, "C1"): "12件",
            (SHEET, "D1"): "'12",
            (SHEET, "E1"): None,
            (SHEET, "F1"): "2024/1/5",
            (SHEET, "G1"): "0012",
        },
    )
    ws = openpyxl.load_workbook(dst, data_only=True)[SHEET]
    assert ws["B1"].value == 12 and ws["B1"].data_type == "n"
    assert ws["C1"].value == "12件"
    assert ws["D1"].value == "12" and ws["D1"].data_type == "s"
    assert ws["E1"].value is None
    assert ws["F1"].value == dt.datetime(2024, 1, 5)  # date recognised, date format applied
    assert ws["G1"].value == "0012"  # Text-formatted cell keeps it literal
    assert ws["H1"].value == 12  # recalculated: only B1 is a number
    assert ws["A1"].value == "收到申请数"
    # Protection survives the round trip and nothing was unlocked.
    assert ws.protection.sheet
    assert ws["A1"].protection.locked and ws["H1"].protection.locked
    assert not ws["B1"].protection.locked


@needs_uno
def test_edit_like_user_refuses_locked_cell(tmp_path: Path) -> None:
    src = make_protected_template(tmp_path / "template.xlsx")
    dst = tmp_path / "filled.xlsx"
    with pytest.raises(lo.LockedCellError, match=f"{SHEET}!A1"):
        lo.edit_like_user(src, dst, {(SHEET, "B1"): "1", (SHEET, "A1"): "x"})
    assert not dst.exists()


@needs_uno
def test_edit_like_user_in_place_and_errors(tmp_path: Path) -> None:
    src = make_protected_template(tmp_path / "template.xlsx")
    lo.edit_like_user(src, src, {(SHEET, "B1"): "7"})
    assert openpyxl.load_workbook(src, data_only=True)[SHEET]["H1"].value == 7
    with pytest.raises(lo.LibreOfficeError, match="no sheet 'Nope'"):
        lo.edit_like_user(src, tmp_path / "x.xlsx", {("Nope", "A1"): "1"})


def test_edit_like_user_argument_errors(tmp_path: Path) -> None:
    src = tmp_path / "x.xlsx"
    with pytest.raises(TypeError, match="must be str or None"):
        lo.edit_like_user(src, src, {(SHEET, "A1"): 12})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="edit key"):
        lo.edit_like_user(src, src, {"A1": "1"})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="via"):
        lo.edit_like_user(src, src, {}, via="keyboard")


# Inputs whose meaning depends on locale, cell format and Calc's input rules.
# (No date-relative input like "1/2", which would depend on today's year.)
PARITY_INPUTS = [
    "12",
    "12件",
    "'12",
    "'abc",
    "'=A1",
    "2024-01-05",
    "2024/1/5",
    "2024年1月5日",
    "2024-1-5 10:30",
    "50%",
    "1,234",
    "1,234.5",
    "-3",
    "+4",
    "-",
    "TRUE",
    "false",
    "=1+1",
    "1.5E3",
    "¥12",
    "$12",
    " 12 ",
    "0012",
    "12:30",
    "(5)",
    "12.50",
    "",
]
PARITY_FORMATS = {"B": None, "C": "@", "D": "0", "E": "yyyy-mm-dd"}


@needs_uno
def test_edit_like_user_matches_real_typing(tmp_path: Path) -> None:
    """The default (API) path must give exactly what Calc's real input path
    (.uno:EnterString, i.e. a user pressing Enter) gives."""
    src = tmp_path / "formats.xlsx"
    wb = xlsxwriter.Workbook(src)
    ws = wb.add_worksheet(SHEET)  # unprotected: the UI path must not raise dialogs
    for col, num_format in PARITY_FORMATS.items():
        fmt = wb.add_format({"num_format": num_format} if num_format else {})
        for row in range(1, len(PARITY_INPUTS) + 1):
            ws.write_blank(f"{col}{row}", None, fmt)
    ws.write("A1", "x")
    wb.close()
    edits: dict[tuple[str, str], str | None] = {
        (SHEET, f"{col}{row}"): text for col in PARITY_FORMATS for row, text in enumerate(PARITY_INPUTS, start=1)
    }
    lo.edit_like_user(src, tmp_path / "api.xlsx", edits)
    lo.edit_like_user(src, tmp_path / "ui.xlsx", edits, via="ui")
    api = openpyxl.load_workbook(tmp_path / "api.xlsx")[SHEET]
    ui = openpyxl.load_workbook(tmp_path / "ui.xlsx")[SHEET]
    mismatches = []
    for (_, ref), text in edits.items():
        a, u = api[ref], ui[ref]
        got, want = (a.value, a.data_type, a.number_format), (u.value, u.data_type, u.number_format)
        if got != want:
            mismatches.append(f"{ref} {text!r}: api={got} ui={want}")
    assert not mismatches, "\n".join(mismatches)
    # Spot checks that the comparison is about something.
    assert api["B1"].value == 12 and api["C1"].value == "12"
    assert api["B7"].is_date and api["C7"].value == "2024/1/5"
