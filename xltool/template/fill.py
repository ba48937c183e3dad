"""`fill`: a report JSON written into a fresh template (carry last year's data, re-issue a
corrected file, make test files). The writer does the work; this module maps report -> options."""

from __future__ import annotations

from pathlib import Path

from ..check.evaluate import flatten
from ..check.report_json import detect_schema, json_number, load_report
from ..spec.identity import Identity
from ..spec.model import Model, load_model
from .writer import TemplateOptions, write_template


def fill_report(
    path: str | Path,
    *,
    schema: str | None = None,
    year: int | None = None,
    org: str | None = None,
    org_code: str | None = None,
    level: str | None = None,
    issue_date: str = "",
) -> tuple[bytes, Identity, Model]:
    """The filled template bytes; identity defaults come from the report itself."""
    report = load_report(path)
    model = load_model(schema or detect_schema(report))
    values = {p: json_number(v) for p, v in flatten(model, report).items()}
    roles = {role: values.get(pointer) for role, pointer in model.identity_fields.items()}
    meta = report.get("_meta") if isinstance(report.get("_meta"), dict) else {}
    template = meta.get("template") if isinstance(meta.get("template"), dict) else {}
    report_year = roles.get("year") if isinstance(roles.get("year"), int) else None
    opts = TemplateOptions(
        year=year if year is not None else report_year,
        org_name=org if org is not None else str(roles.get("org_name") or ""),
        org_code=org_code if org_code is not None else str(roles.get("org_code") or ""),
        level=level if level is not None else str(template.get("level") or meta.get("level") or ""),
        issue_date=issue_date,
        values=values,
    )
    data, ident = write_template(model, opts)
    return data, ident, model
