"""The lxml stream and the openpyxl reference agree (every read of the suite is compared in
conftest.py; these tests add forged stored values and prove the comparison itself bites)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hostile_files import rezip
from read_equality import verdict
from support import valid_report

from xltool.check.evaluate import flatten
from xltool.read import stream
from xltool.read.cells import RawCell
from xltool.read.reader import read_workbook
from xltool.spec.layout import build_layout
from xltool.spec.model import load_model
from xltool.template.writer import TemplateOptions, write_template

MODEL = load_model("annual-report-2021")


def filled() -> bytes:
    values = {
        p: (float(v) if type(v).__name__ == "Decimal" else v) for p, v in flatten(MODEL, valid_report("2021")).items()
    }
    opts = TemplateOptions(
        year=2023, org_name="示例县城关镇人民政府", level="township", issue_date="2024-01-05", values=values
    )
    return write_template(MODEL, opts)[0]


def sheet_part(data: bytes, sheet: str) -> str:
    index = [s.name for s in MODEL.sheets].index(sheet) + 2  # after 填报说明
    return f"xl/worksheets/sheet{index}.xml"


def with_stored(data: bytes, edits: dict[tuple[str, str], str]) -> bytes:
    """Replace the stored <v> text of value cells, as a tool editing the XML directly would."""
    import zipfile
    from io import BytesIO

    parts: dict[str, bytes] = {}
    with zipfile.ZipFile(BytesIO(data)) as z:
        for (sheet, cell), text in edits.items():
            name = sheet_part(data, sheet)
            xml = parts.get(name, z.read(name)).decode("utf-8")
            xml, n = re.subn(rf'(<c r="{cell}"[^>]*>)<v>[^<]*</v>', lambda m, t=text: m.group(1) + f"<v>{t}</v>", xml)
            assert n == 1, (sheet, cell)
            parts[name] = xml.encode("utf-8")
    return rezip(data, replace=parts)


def box(pointer: str) -> tuple[str, str]:
    b = build_layout(MODEL).fields[pointer].box
    return b.sheet, b.a1


FORGED = {
    "/proactive/regulations/issued": "1_000",  # Python's int() reads 1000
    "/proactive/regulations/repealed": "١٢",  # Arabic-Indic digits: int() reads 12
    "/organization/name": "-1",  # a shared-string index: Python's list gives the last string
}


@pytest.mark.parametrize("reference", [False, True], ids=["stream", "openpyxl"])
def test_forged_stored_values_are_issues(reference: bool, tmp_path: Path) -> None:
    path = tmp_path / "forged.xlsx"
    path.write_bytes(with_stored(filled(), {box(p): text for p, text in FORGED.items()}))
    result = read_workbook(path, model=MODEL, reference=reference)
    forged = sorted(
        (i.pointer, i.sheet, i.cell, i.severity, i.found) for i in result.issues if i.code == "FORGED_VALUE"
    )
    assert forged == sorted((p, *box(p), "error", text) for p, text in FORGED.items())
    assert [result.values[p] for p in FORGED] == [None, None, ""]
    assert result.exit_code == 1


def test_both_engines_agree_on_forged_values(tmp_path: Path) -> None:
    path = tmp_path / "forged.xlsx"
    path.write_bytes(with_stored(filled(), {box(p): text for p, text in FORGED.items()}))
    fast, ref = read_workbook(path, model=MODEL), read_workbook(path, model=MODEL, reference=True)
    assert verdict(fast) == verdict(ref)


def test_shared_string_index_past_the_table_is_unreadable_in_both(tmp_path: Path) -> None:
    from xltool.base.errors import InputFileError

    path = tmp_path / "index.xlsx"
    path.write_bytes(with_stored(filled(), {box("/organization/name"): "99999"}))
    codes = []
    for reference in (False, True):
        with pytest.raises(InputFileError) as err:
            read_workbook(path, model=MODEL, reference=reference)
        codes.append((err.value.code, err.value.details.get("sheet")))
    assert codes == [("UNREADABLE_WORKBOOK", "一、总体情况")] * 2


def test_the_suite_wide_comparison_catches_a_difference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """conftest.py compares both engines on every read: a stream that misreads one cell fails the read."""
    path = tmp_path / "filled.xlsx"
    path.write_bytes(filled())
    sheet, _ = box("/proactive/regulations/issued")
    b = build_layout(MODEL).fields["/proactive/regulations/issued"].box
    real_get = stream.StreamSource.get

    def misread(self: stream.StreamSource, s: str, row: int, col: int) -> RawCell:
        return RawCell(7) if (s, row, col) == (sheet, b.row, b.col) else real_get(self, s, row, col)

    monkeypatch.setattr(stream.StreamSource, "get", misread)
    with pytest.raises(AssertionError, match="stream and openpyxl reference differ"):
        read_workbook(path, model=MODEL)
