"""A filled workbook as Excel, WPS and other writers spell it reads exactly like the original.

Each dialect of tests/client_dialects.py (where its difference comes from is documented there)
rewrites the sheet XML of a filled template without changing any cell's value. `read` must give the
same report JSON (apart from the source file's name and hash) and the same issues. The filled
workbooks hold a valid report of each format and one with errors (text in a count, a negative
count; a decimal amount in both), so values, issues and identity are all compared.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import client_dialects as D
import pytest
from support import model_for, valid_report

from xltool.check.evaluate import flatten
from xltool.read.reader import ReadResult, read_workbook
from xltool.template.writer import TemplateOptions, write_template


def filled(year: str, broken: bool) -> bytes:
    model = model_for(year)
    report = valid_report(year)
    values = flatten(model, report)
    if broken:
        values["/proactive/licensing/decisions"] = "12件"
        values["/applications/received/natural_person"] = -3
    amount = next(f.pointer for f in model.fields if f.kind == "amount")
    values[amount] = 1.1  # written by Excel as 1.1000000000000001
    org = report["organization"]
    opts = TemplateOptions(
        year=report["year"],
        org_name=org["name"],
        org_code=org.get("code", ""),
        level="township",
        issue_date="2026-01-05",
        values=values,
    )
    return write_template(model, opts)[0]


def comparable(result: ReadResult) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    report = json.loads(result.to_json())
    source = report["_meta"].pop("source")
    report["_meta"].pop("read_at", None)
    assert source["kind"] == "xlsx" and {"file", "sha256", "size"} <= set(source)
    return report, [i.as_dict() for i in result.issues]


def sheet_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return "".join(zf.read(n).decode() for n in zf.namelist() if D.SHEET_PART.fullmatch(n))


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], tuple[bytes, Any]]:
    tmp = tmp_path_factory.mktemp("dialect-originals")
    out = {}
    for year in ("2021", "2019"):
        for broken in (False, True):
            data = filled(year, broken)
            path = tmp / f"{year}-{broken}.xlsx"
            path.write_bytes(data)
            out[(year, broken)] = (data, comparable(read_workbook(path)))
    return out


@pytest.mark.parametrize("dialect", sorted(D.DIALECTS))
@pytest.mark.parametrize("year", ["2021", "2019"])
@pytest.mark.parametrize("broken", [False, True], ids=["valid", "with-errors"])
@pytest.mark.parametrize("reference", [False, True], ids=["stream", "openpyxl"])
def test_dialect_reads_identically(
    originals: dict[tuple[str, bool], tuple[bytes, Any]],
    tmp_path: Path,
    dialect: str,
    year: str,
    broken: bool,
    reference: bool,
) -> None:
    """Both xlsx engines of the reader (the lxml stream and the openpyxl reference) read every
    dialect as the original."""
    data, expected = originals[(year, broken)]
    rewritten = D.apply(data, D.DIALECTS[dialect])
    assert sheet_xml(rewritten) != sheet_xml(data)  # the dialect really differs
    path = tmp_path / f"{dialect}.xlsx"
    path.write_bytes(rewritten)
    assert comparable(read_workbook(path, reference=reference)) == expected
    report, issues = expected
    assert any(i["severity"] == "error" for i in issues) == broken


def test_the_fixtures_carry_what_they_claim() -> None:
    """Spot checks of the rewritten XML, so a dialect cannot silently become a copy."""
    data = filled("2021", broken=True)
    spelled = {name: sheet_xml(D.apply(data, rewrite)) for name, rewrite in D.DIALECTS.items()}
    assert 'mc:Ignorable="x14ac xr xr2 xr3"' in spelled["excel_extensions"]
    assert 'x14ac:dyDescent="0.25"' in spelled["excel_extensions"]
    assert "<v>1.1000000000000001</v>" in spelled["excel_float_digits"]
    assert ' t="n">' in spelled["explicit_numeric_type"]
    assert 't="inlineStr"><is><t xml:space="preserve">12件</t></is>' in spelled["inline_strings"]
    assert 't="s"' not in spelled["inline_strings"] and 't="s"' not in spelled["str_text"]
    assert 't="str"><v>12件</v>' in spelled["str_text"]
    assert ' r="' not in spelled["no_references"] and "<c/>" in spelled["no_references"]
    assert "<x:worksheet " in spelled["prefixed_namespace"] and "<x:c " in spelled["prefixed_namespace"]
