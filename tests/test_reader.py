"""read(write_template(values=x)) == x, for the samples, random reports and every client's re-save.

Real files only: templates written by xltool, re-saved by openpyxl and by
LibreOffice (xlsx, xls, ods), a macro-enabled package, and cells typed like a user in LibreOffice.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import libreoffice as lo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from xltool.check.evaluate import derive, flatten, unflatten
from xltool.read.reader import ReadResult, read_workbook
from xltool.spec.layout import build_layout
from xltool.spec.model import Model, load_model
from xltool.template.writer import TemplateOptions, write_template

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = {"annual-report-2019": "hucun-2020.json", "annual-report-2021": "synthetic-2021.json"}
needs_soffice = pytest.mark.needs("soffice")


def sample(name: str) -> dict[str, Any]:
    report = json.loads((ROOT / "samples" / SAMPLES[name]).read_text(encoding="utf-8"))
    report.pop("_meta")
    return report


def template(model: Model, report: dict[str, Any], **opts: Any) -> bytes:
    org = report.get("organization", {})
    base = {
        "year": report.get("year"),
        "org_name": org.get("name", ""),
        "org_code": org.get("code", ""),
        "level": "township",
        "issue_date": "2026-01-05",
        "values": flatten(model, report),
    }
    data, _ = write_template(model, TemplateOptions(**{**base, **opts}))
    return data


def body(result: ReadResult) -> dict[str, Any]:
    report = dict(result.report)
    report.pop("_meta")
    return report


def save(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def openpyxl_resave(data: bytes) -> bytes:
    out = io.BytesIO()
    load_workbook(io.BytesIO(data)).save(out)
    return out.getvalue()


def issues_of(result: ReadResult) -> list[tuple[str, str, str | None, str | None]]:
    return [(i.code, i.severity, i.sheet, i.cell) for i in result.issues]


HUCUN_ISSUES = [("BLANK_CELL", "warning", "一、总体情况", "B5")]  # 统一社会信用代码 not published


# -- samples -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_round_trip(name: str, tmp_path: Path) -> None:
    model = load_model(name)
    report = sample(name)
    result = read_workbook(save(tmp_path / "filled.xlsx", template(model, report)), model=model)
    assert body(result) == report
    assert json.dumps(body(result), ensure_ascii=False) == json.dumps(report, ensure_ascii=False)
    assert issues_of(result) == (HUCUN_ISSUES if name.endswith("2019") else [])
    assert result.exit_code == 0


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_schema_taken_from_the_file(name: str, tmp_path: Path) -> None:
    model = load_model(name)
    result = read_workbook(save(tmp_path / "filled.xlsx", template(model, sample(name))))
    assert result.model is model
    assert body(result) == sample(name)


def test_meta_block(tmp_path: Path) -> None:
    model = load_model("annual-report-2021")
    data = template(model, sample("annual-report-2021"))
    path = save(tmp_path / "城关镇 2023.xlsx", data)
    result = read_workbook(path, model=model)
    meta = result.report["_meta"]
    assert next(iter(result.report)) == "_meta"
    assert {k: meta[k] for k in ("schema", "schema_id", "schema_version")} == {
        "schema": "annual-report-2021",
        "schema_id": model.id,
        "schema_version": model.version,
    }
    assert meta["template"] == result.identity.as_dict()
    assert meta["template"]["org_name"] == "示例县城关镇人民政府" and meta["template"]["year"] == "2023"
    import hashlib

    assert meta["source"] == {
        "file": "城关镇 2023.xlsx",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "kind": "xlsx",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["read_at"])
    layout = build_layout(model)
    assert result.cells == {p: fc.box.where for p, fc in layout.fields.items()}
    assert result.cells["/organization/name"] == "一、总体情况!B4"


def test_to_json_numbers(tmp_path: Path) -> None:
    model = load_model("annual-report-2021")
    report = sample("annual-report-2021")
    report["proactive"]["fees"]["amount"] = 5949.088667
    result = read_workbook(save(tmp_path / "f.xlsx", template(model, report)), model=model)
    text = result.to_json()
    assert '"amount": 5949.088667' in text
    assert '"year": 2023' in text and '"total": 33' in text  # ints stay ints, no ".0"
    assert "示例县城关镇人民政府" in text  # not \\u-escaped
    parsed = json.loads(text)
    parsed.pop("_meta")
    assert parsed == report
    exact = json.loads(text, parse_float=Decimal)  # the digits written are exactly the amount typed
    assert exact["proactive"]["fees"]["amount"] == Decimal("5949.088667")


def test_generic_schema(tmp_path: Path) -> None:
    """Nothing in the reader knows the annual report: a shop-sales schema reads the same way."""
    model = load_model(ROOT / "tests" / "data" / "generic-schema.json")
    values = {
        "/shop": "一号店",
        "/drinks/online": 3,
        "/drinks/offline": 4,
        "/snacks/online": 1,
        "/snacks/offline": "2件",
        "/revenue": 12.345,
        "/notes": "备注",
    }
    data, _ = write_template(model, TemplateOptions(issue_date="2026-01-05", values=values))
    result = read_workbook(save(tmp_path / "shop.xlsx", data), model=model)
    assert body(result) == {
        "shop": "一号店",
        "drinks": {"online": 3, "offline": 4, "total": 7},
        "snacks": {"online": 1, "offline": None, "total": 1},
        "revenue": 12.345,
        "notes": "备注",
    }
    layout = build_layout(model)
    assert [(i.code, i.pointer, i.cell) for i in result.issues] == sorted(
        [
            ("TEXT_IN_NUMBER", "/snacks/offline", layout.fields["/snacks/offline"].box.a1),
            ("TOO_MANY_DECIMALS", "/revenue", layout.fields["/revenue"].box.a1),
        ],
        key=lambda t: (int(t[2][1:]), t[2][0]),
    )


# -- random reports ------------------------------------------------------------------------

_CHARS = "一二三四五六七八九十政府信息公开年度报告工作情况乡镇街道申请办理，。；：“”（）、《》0123456789abcXYZ "
_TEXT = st.text(alphabet=_CHARS + "\n", min_size=1, max_size=300).filter(lambda t: t.strip() != "")
_NAME = st.text(alphabet=_CHARS.replace(" ", ""), min_size=1, max_size=40)
_CODE = st.one_of(st.just(""), st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=18, max_size=18))


def _amount(n: int, places: int) -> float | int:
    d = Decimal(n).scaleb(-places)
    return int(d) if d == d.to_integral_value() else float(d)


_AMOUNT = st.builds(_amount, st.integers(0, 10**12), st.integers(0, 6))


def _field_strategy(model: Model, pointer: str) -> st.SearchStrategy[Any]:
    f = model.by_pointer[pointer]
    if f.kind == "count":
        return st.integers(0, 10**6)
    if f.kind == "signed_count":
        return st.integers(-(10**6), 10**6)
    if f.kind == "amount":
        return _AMOUNT
    if f.kind == "integer":
        low, high = model.years
        return st.integers(int(max(low or 2000, f.minimum or 2000)), int(min(high or 2100, f.maximum or 2100)))
    if pointer.endswith("/code"):
        return _CODE
    return _NAME if f.kind == "string" else _TEXT


def reports(model: Model) -> st.SearchStrategy[dict[str, Any]]:
    inputs = {f.pointer: _field_strategy(model, f.pointer) for f in model.fields if f.pointer not in model.derived}
    return st.fixed_dictionaries(inputs).map(lambda values: unflatten(model, derive(model, dict(values))))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_random_round_trip(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    model = load_model(name)
    rule_ids = {r.id for r in model.rules}
    folder = tmp_path_factory.mktemp("random")
    counter = iter(range(10**6))

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(report=reports(model), level=st.sampled_from(["", *model.levels]))
    def check(report: dict[str, Any], level: str) -> None:
        path = save(folder / f"r{next(counter)}.xlsx", template(model, report, level=level))
        result = read_workbook(path, model=model)
        assert body(result) == report
        # the same JSON text: ints stay ints (no 12.0), amounts keep their shortest digits
        assert json.dumps(body(result), ensure_ascii=False) == json.dumps(report, ensure_ascii=False)
        assert json.loads(result.to_json()) | {"_meta": None} == report | {"_meta": None}
        blank_code = [("BLANK_CELL", "warning", "一、总体情况", "B5")] if report["organization"]["code"] == "" else []
        assert [t for t in issues_of(result) if t[0] not in rule_ids] == blank_code

    check()


# -- other writers ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_openpyxl_resave(name: str, tmp_path: Path) -> None:
    """An openpyxl re-save: values kept, formulas kept without cached results. (What Excel and WPS
    actually write differently is covered by tests/test_client_dialects.py.)"""
    model = load_model(name)
    result = read_workbook(save(tmp_path / "resaved.xlsx", openpyxl_resave(template(model, sample(name)))), model=model)
    assert body(result) == sample(name)
    assert issues_of(result) == (HUCUN_ISSUES if name.endswith("2019") else [])


def _as_xlsm(data: bytes) -> bytes:
    """The same package declared macro-enabled, as Excel saves a workbook as .xlsm."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                content = content.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                )
            dst.writestr(info, content)
    return out.getvalue()


def test_xlsm_reads_with_warning(tmp_path: Path) -> None:
    model = load_model("annual-report-2021")
    result = read_workbook(save(tmp_path / "macro.xlsm", _as_xlsm(template(model, sample(model.name)))), model=model)
    assert result.report["_meta"]["source"]["kind"] == "xlsm"
    assert body(result) == sample(model.name)
    assert [(i.code, i.severity, i.sheet, i.cell) for i in result.issues] == [("MACROS_IGNORED", "warning", None, None)]
    assert result.exit_code == 0


@needs_soffice
@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
def test_libreoffice_saved(fmt: str, tmp_path: Path) -> None:
    model = load_model("annual-report-2021")
    src = save(tmp_path / "filled.xlsx", template(model, sample(model.name)))
    out = lo.convert(src, tmp_path / "lo", fmt)
    result = read_workbook(out, model=model)
    assert result.report["_meta"]["source"]["kind"] == fmt
    assert body(result) == sample(model.name)
    assert issues_of(result) == []
    assert result.identity.org_name == "示例县城关镇人民政府"


@needs_soffice
def test_libreoffice_saved_2019_ods(tmp_path: Path) -> None:
    model = load_model("annual-report-2019")
    src = save(tmp_path / "hucun.xlsx", template(model, sample(model.name)))
    result = read_workbook(lo.convert(src, tmp_path / "lo", "ods"))
    assert result.model is model
    assert body(result) == sample(model.name)
    assert issues_of(result) == HUCUN_ISSUES


@pytest.mark.needs("soffice", "uno")
def test_typed_in_libreoffice(tmp_path: Path) -> None:
    """What a user types in Calc (zh-CN): numbers, text numbers, units, dates, formulas.

    (A date typed into a count cell is not a case: the cell's "0" format makes Calc store the
    serial number, which is indistinguishable from a number typed there.)
    """
    model = load_model("annual-report-2021")
    layout = build_layout(model)
    src = save(tmp_path / "blank.xlsx", template(model, sample(model.name)))
    cells = {
        "/applications/received/natural_person": ("12", 12, []),
        "/applications/received/commercial_enterprise": ("'7", 7, [("TEXT_NUMBER", "warning")]),
        "/applications/received/research_institution": ("3件", None, [("TEXT_IN_NUMBER", "error")]),
        "/applications/received/public_welfare_organization": ("0", 0, []),
        # the amount cell has the General format, so Calc turns a typed date into a date
        "/proactive/fees/amount": ("2024/1/5", None, [("DATE_IN_NUMBER", "error")]),
        "/applications/received/legal_service_organization": ("=1+1", 2, [("FORMULA_IN_INPUT", "warning")]),
        "/applications/received/other_organization": (None, 0, [("BLANK_CELL", "warning")]),
        "/problems": ("第一行\n第二行", "第一行\n第二行", []),
    }
    edits = {(layout.fields[p].box.sheet, layout.fields[p].box.a1): typed for p, (typed, _, _) in cells.items()}
    dst = tmp_path / "typed.xlsx"
    lo.edit_like_user(src, dst, edits)
    result = read_workbook(dst, model=model)
    rule_ids = {r.id for r in model.rules}
    for pointer, (_typed, value, expected) in cells.items():
        box = layout.fields[pointer].box
        got = [(i.code, i.severity, i.cell) for i in result.issues if i.pointer == pointer and i.code not in rule_ids]
        assert got == [(c, s, box.a1) for c, s in expected], pointer
        assert result.values[pointer] == value, pointer
    total = "/applications/received/total"
    assert result.values[total] == 12 + 7 + 2  # recomputed from what could be read
    # Calc's SUM skipped the text "7": the file shows 14, the recomputed total (used) is 21
    mismatch = [(i.cell, i.expected, i.found) for i in result.issues if i.code == "CACHED_TOTAL_MISMATCH"]
    assert mismatch == [(layout.fields[total].box.a1, 21, 14)]
