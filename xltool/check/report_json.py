"""Load report JSON files and decide which schema they belong to.

Numbers with decimals are parsed as Decimal so their decimals can be checked exactly as written.
"""

from __future__ import annotations

import json
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..base.errors import InputFileError
from ..spec.schemas import DEFAULT_SCHEMA, builtin_names, schema_for_year

MAX_REPORT_BYTES = 20 * 1024 * 1024  # a report JSON is a few KB; more is the wrong file


def load_report(path: str | Path) -> dict[str, Any]:
    """A report JSON as a dict; a folder, a device or FIFO (/dev/zero would fill memory, a FIFO would
    block) or an oversized file stops with one error instead of being read."""
    p = str(path)
    try:
        st = Path(path).stat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_REPORT_BYTES:
            raise InputFileError(
                "NOT_A_REPORT_FILE",
                "不是报告JSON文件（目录、设备、管道，或大于20 MB）",
                "not a report JSON file (a folder, device, FIFO, or over 20 MB)",
                path=p,
            )
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputFileError(
            "FILE_UNREADABLE", f"无法读取文件：{exc.strerror}", f"cannot read file: {exc.strerror}", path=p
        ) from exc
    try:
        doc = json.loads(raw.decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError("NOT_JSON", f"文件不是有效的JSON：{exc}", f"not valid JSON: {exc}", path=p) from exc
    if not isinstance(doc, dict):
        raise InputFileError(
            "NOT_AN_OBJECT", "JSON顶层必须是对象（报告）", "the JSON top level must be an object (a report)", path=p
        )
    return doc


def detect_schema(report: dict[str, Any]) -> str:
    """`_meta.schema` (short name or $id), else the report year (<= 2020 -> the 2019 format)."""
    meta = report.get("_meta")
    if isinstance(meta, dict):
        name = meta.get("schema") or meta.get("schema_id")
        if isinstance(name, str):
            for builtin in builtin_names():
                if name == builtin or name.endswith(":" + builtin):
                    return builtin
            if Path(name).is_file():
                return name
    year = report.get("year")
    if isinstance(year, int) and not isinstance(year, bool):
        return schema_for_year(year)
    return DEFAULT_SCHEMA


def report_level(report: dict[str, Any]) -> str | None:
    """The organisation level a report names: `_meta.level`, else `_meta.template.level`; None when neither
    is a non-empty string (a hand-edited `_meta` may hold anything)."""
    meta = report.get("_meta")
    if not isinstance(meta, dict):
        return None
    template = meta.get("template")
    for value in (meta.get("level"), template.get("level") if isinstance(template, dict) else None):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def json_number(value: Any) -> Any:
    """A Decimal parsed from report JSON back to int or float as written (5 -> 5, 5.0 -> 5.0)."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        whole = isinstance(exponent, int) and exponent >= 0 and value == value.to_integral_value()
        return int(value) if whole else float(value)
    return value
