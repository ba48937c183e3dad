"""`fill`: a report JSON written into a template (carry last year's data, re-issue a corrected file,
make test files). The writer does the work; this module maps report -> options.

Into a fresh template, the identity comes from the options, else from the report. Into an issued
template (`issued`, its identity as read back), everything it was issued with is kept: schema, year,
organisation, level, issue date, deadline and contact, so the serial stays the same."""

from __future__ import annotations

from pathlib import Path

from ..base.errors import XltoolError
from ..check.evaluate import flatten
from ..check.report_json import detect_schema, json_number, load_report, report_level
from ..spec.identity import Identity, check_level, model_for, year_of
from ..spec.model import Model
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
    issued: Identity | None = None,
) -> tuple[bytes, Identity, Model]:
    """The filled template bytes; identity defaults come from the issued template, else the report."""
    report = load_report(path)
    if issued is not None:
        given = [n for n, v in (("--year", year), ("--org", org), ("--org-code", org_code), ("--level", level)) if v]
        if given or schema:
            raise XltoolError(
                "BAD_ARGUMENT",
                f"使用 --template 时不能再给出 {'、'.join(given or ['--schema'])}：这些取自下发的模板",
                f"--template takes {', '.join(given or ['--schema'])} from the issued template; do not give them",
            )
        return _into_issued(report, issued)
    meta = report.get("_meta")
    named = isinstance(meta, dict) and bool(meta.get("schema") or meta.get("schema_id"))
    model = model_for(schema or (detect_schema(report) if named or year is None else None), year)
    check_level(level, model.levels)
    values = {p: json_number(v) for p, v in flatten(model, report).items()}
    roles = {role: values.get(pointer) for role, pointer in model.identity_fields.items()}
    report_year = year_of(roles.get("year"))
    if year is not None and "year" in model.identity_fields:
        values[model.identity_fields["year"]] = year  # a report carried into another year says that year
    opts = TemplateOptions(
        year=year if year is not None else report_year,
        org_name=org if org is not None else str(roles.get("org_name") or ""),
        org_code=org_code if org_code is not None else str(roles.get("org_code") or ""),
        level=level if level is not None else (report_level(report) or ""),
        issue_date=issue_date,
        values=values,
    )
    data, ident = write_template(model, opts)
    return data, ident, model


def _into_issued(report: dict[str, object], issued: Identity) -> tuple[bytes, Identity, Model]:
    year = year_of(issued.year)
    model = model_for(issued.schema_name, year)
    values = {p: json_number(v) for p, v in flatten(model, report).items()}
    for role, value in (("year", year), ("org_name", issued.org_name), ("org_code", issued.org_code)):
        pointer = model.identity_fields.get(role)
        if pointer and value not in (None, ""):
            values[pointer] = value  # the organisation and year it was issued for, not the report's
    opts = TemplateOptions(
        year=year,
        org_name=issued.org_name,
        org_code=issued.org_code,
        level=issued.level,
        deadline=issued.deadline,
        contact=issued.contact,
        issue_date=issued.issue_date,
        values=values,
    )
    data, ident = write_template(model, opts)
    return data, ident, model
