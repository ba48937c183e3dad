"""County downloads computed from the archive on request (never written into it: the archive is
collect's): the summary workbook (`aggregate`) and the flat export (`export`), as the CLI makes them."""

from __future__ import annotations

import datetime as dt

from ..base.errors import XltoolError
from ..outputs.aggregate import aggregate
from ..outputs.export import build_table, export_bytes
from ..outputs.summary_workbook import summary_workbook
from .portal import Portal

KINDS = {
    "summary.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "export.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "export.csv": "text/csv; charset=utf-8",
}


def download(portal: Portal, kind: str) -> bytes | None:
    """The bytes of one download, or None when the archive has nothing to make it from yet."""
    try:
        if kind == "summary.xlsx":
            summary = aggregate(portal.archive, portal.year, schema=portal.model.name)
            return summary_workbook(summary, issue_date=dt.date.today().isoformat())
        table = build_table(portal.archive, year=portal.year, schema=portal.model.name)
        return export_bytes(table, "." + kind.rsplit(".", 1)[1], labels=True)
    except XltoolError:
        return None
