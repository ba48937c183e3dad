"""The archive as one flat table: one row per organisation and year, one column per field.

Headers are the JSON pointers (what pandas / DuckDB address) and the official labels (what a person
reads): two header rows in XLSX, a pointer header plus an optional label row in CSV. CSV is UTF-8
with a BOM so Excel opens it in Chinese; text a spreadsheet would take for a formula is escaped
with the shared `base.text` helper (a leading `'` in CSV, a quote-prefix string cell in XLSX), and
`load_export` undoes exactly that, so reading an export back gives the archive's values.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

from ..base.errors import XltoolError
from ..base.text import needs_quote, safe_text
from ..check.evaluate import flatten
from ..check.report_json import json_number
from ..spec.model import Model, load_model
from .source import YearData, collections, load_year

FIXED = (
    ("year", "年度"),
    ("schema", "格式"),
    ("org_name", "单位名称"),
    ("org_code", "统一社会信用代码"),
    ("level", "层级"),
    ("state", "状态"),
    ("source_sha256", "来源文件sha256"),
)


@dataclass
class Table:
    model: Model
    columns: list[tuple[str, str]]  # (key, label): fixed keys, then field pointers
    rows: list[dict[str, Any]]


def select_years(archive: Path, year: int | None, years: str | None, schema: str | None) -> tuple[str, list[int]]:
    """The one schema and the years to export; several formats in range need --schema."""
    found = collections(archive)
    if year is not None and years:
        raise XltoolError("BAD_ARGUMENTS", "--year 与 --years 只能用一个", "use either --year or --years, not both")
    if years:
        try:
            a, b = (int(x) for x in years.split("-", 1)) if "-" in years else (int(years), int(years))
        except ValueError:
            raise XltoolError(
                "BAD_YEARS", f"年度范围“{years}”应写成 2021-2025", f"year range '{years}' must look like 2021-2025"
            ) from None
        wanted = set(range(min(a, b), max(a, b) + 1))
    else:
        wanted = {year} if year is not None else {y for _s, y in found}
    chosen = load_model(schema).name if schema else None
    hits = [(s, y) for s, y in found if y in wanted and (chosen is None or s == chosen)]
    if not hits:
        raise XltoolError(
            "NO_COLLECTION",
            f"归档中没有所选年度的收集记录（已有：{'、'.join(f'{y}/{s}' for s, y in found) or '无'}）",
            f"the archive has no collection for the years asked (present: {', '.join(f'{y}/{s}' for s, y in found) or 'none'})",
            path=str(archive),
        )
    schemas = sorted({s for s, _y in hits})
    if len(schemas) > 1:
        raise XltoolError(
            "MIXED_FORMATS",
            f"所选年度使用了不同格式（{'、'.join(schemas)}），字段不同不能放在一张表里，请用 --schema 指定一种",
            f"the years asked use different formats ({', '.join(schemas)}) with different fields; pass --schema",
            path=str(archive),
        )
    return schemas[0], sorted({y for _s, y in hits})


def _rows(data: YearData) -> Iterator[dict[str, Any]]:
    model = data.model
    by_row = {r.path: r for r in data.reports}
    for o in data.orgs:
        rep = by_row.get(o.current or "")
        flat = flatten(model, rep.report) if rep else {}
        row = {
            "year": data.year,
            "schema": model.name,
            "org_name": o.name,
            "org_code": o.code,
            "level": o.level,
            "state": o.state,
            "source_sha256": rep.sha256 if rep else "",
        }
        row.update({f.pointer: flat.get(f.pointer) for f in model.fields})
        yield row


def build_table(
    archive: str | Path, *, year: int | None = None, years: str | None = None, schema: str | None = None
) -> Table:
    root = Path(archive)
    name, chosen = select_years(root, year, years, schema)
    model = load_model(name)
    rows: list[dict[str, Any]] = []
    for y in chosen:
        data = load_year(root, y, name)
        assert data is not None
        rows.extend(_rows(data))
    columns = list(FIXED) + [(f.pointer, f.label) for f in model.fields]
    return Table(model, columns, rows)


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    return safe_text(value)


def to_csv(table: Table, *, labels: bool = False) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([k for k, _ in table.columns])
    if labels:
        w.writerow([safe_text(label) for _, label in table.columns])
    for row in table.rows:
        w.writerow([_csv_text(row.get(k)) for k, _ in table.columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_jsonl(table: Table) -> bytes:
    lines = [
        json.dumps({k: json_number(row.get(k)) for k, _ in table.columns}, ensure_ascii=False) for row in table.rows
    ]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def to_xlsx(table: Table) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
    )
    ws = wb.add_worksheet("数据")
    head = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "text_wrap": True, "valign": "top"})
    quoted = wb.add_format({"quote_prefix": True})
    for c, (key, label) in enumerate(table.columns):
        ws.write_string(0, c, key, head)
        ws.write_string(1, c, safe_text(label, quote=False), head)
    for r, row in enumerate(table.rows, start=2):
        for c, (key, _label) in enumerate(table.columns):
            v = row.get(key)
            if v is None:
                continue
            if isinstance(v, (int, Decimal)) and not isinstance(v, bool):
                ws.write_number(r, c, json_number(v))
            else:
                text = safe_text(v, quote=False)
                ws.write_string(r, c, text, quoted if needs_quote(text) else None)
    ws.set_row(1, 90)
    ws.set_column(0, len(table.columns) - 1, 14)
    ws.freeze_panes(2, 3)
    ws.autofilter(1, 0, max(1, len(table.rows) + 1), len(table.columns) - 1)
    wb.close()
    return buf.getvalue()


WRITERS = {".csv": "csv", ".xlsx": "xlsx", ".jsonl": "jsonl"}


def export_bytes(table: Table, suffix: str, *, labels: bool = False) -> bytes:
    kind = WRITERS[suffix.lower()]
    if kind == "csv":
        return to_csv(table, labels=labels)
    return to_xlsx(table) if kind == "xlsx" else to_jsonl(table)


def _typed(model: Model, key: str, text: Any) -> Any:
    """A cell read back from an export -> the value as archived (blank numbers None, blank text "")."""
    f = model.by_pointer.get(key)
    number = key == "year" or (f is not None and f.numeric)
    if text is None or text == "":
        return None if number else ""
    if number:
        value = Decimal(repr(text) if isinstance(text, float) else str(text))
        return value if f is not None and f.decimals and value != value.to_integral_value() else int(value)
    if isinstance(text, str) and text.startswith("'") and needs_quote(text[1:]):
        return text[1:]  # the CSV formula-injection escape
    return text


def load_export(path: str | Path, model: Model, *, labels: bool = False) -> list[dict[str, Any]]:
    """Read a CSV or XLSX export back into rows of archived values (the inverse of the writers)."""
    p = Path(path)
    if p.suffix.lower() == ".csv":
        raw: Sequence[Sequence[Any]] = list(csv.reader(io.StringIO(p.read_text(encoding="utf-8-sig"))))
        skip = 2 if labels else 1
    else:
        from openpyxl import load_workbook

        wb = load_workbook(p, read_only=True)
        raw = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
        skip = 2
    keys = [str(k) for k in raw[0]]
    return [{k: _typed(model, k, v) for k, v in zip(keys, r, strict=False)} for r in raw[skip:]]
