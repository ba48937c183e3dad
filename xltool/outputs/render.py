"""`render`: a report JSON (a file, or an organisation's current version in the archive) to the
publishable document, as HTML, DOCX or PDF; or every accepted report of a year into a folder.

When the report is an archive entry (`DIR/<schema>/<year>/<organisation>.json`) last year's report
of the same organisation comes from the archive; for a loose file it can be given with `previous`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..base.errors import XltoolError
from ..base.files import write_atomic
from ..check.report_json import detect_schema, load_report
from ..check.validate import schema_issues
from ..collect.archive import INDEX
from ..collect.orgs import org_key
from ..spec.model import Model, load_model
from .document import Document, build_document
from .paths import check_out_dir
from .render_docx import docx_to_pdf, to_docx
from .render_html import to_html
from .source import load_year

SUFFIXES = (".html", ".docx", ".pdf")


def archive_root(path: Path) -> Path | None:
    """The archive a report file belongs to, when it sits at DIR/<schema>/<year>/<name>.json."""
    root = path.resolve().parent.parent.parent
    return root if (root / INDEX).is_file() and path.parent.name.isdigit() else None


def previous_from_archive(root: Path, model: Model, report: dict[str, Any]) -> tuple[Model, dict[str, Any]] | None:
    from ..check.evaluate import flatten

    flat = flatten(model, report)
    ident = model.identity_fields
    year = flat.get(ident.get("year", ""))
    if not isinstance(year, int):
        return None
    key = org_key(str(flat.get(ident.get("org_name", "")) or ""), str(flat.get(ident.get("org_code", "")) or ""))
    prev = load_year(root, year - 1, required=False)
    if prev is None:
        return None
    match = next((r for r in prev.reports if r.key == key), None)
    return (prev.model, match.report) if match else None


def document_for(path: str | Path, *, schema: str | None = None, previous: str | Path | None = None) -> Document:
    p = Path(path)
    report = load_report(p)
    model = load_model(schema or detect_schema(report))
    _require_report(model, report, p)
    prev: tuple[Model, dict[str, Any]] | None = None
    if previous is not None:
        prev_report = load_report(previous)
        prev = (load_model(detect_schema(prev_report)), prev_report)
    else:
        root = archive_root(p)
        if root is not None:
            prev = previous_from_archive(root, model, report)
    return build_document(model, report, previous=prev)


STRUCTURE = frozenset({"MISSING_FIELD", "UNKNOWN_FIELD", "WRONG_TYPE", "NOT_AN_OBJECT"})


def _require_report(model: Model, report: dict[str, Any], path: Path) -> None:
    """Refuse a JSON that is not a report of the model (a summary file, another format); rule errors do
    not stop a rendering: the document shows what was archived."""
    wrong = [i for i in schema_issues(model, {k: v for k, v in report.items() if k != "_meta"}) if i.code in STRUCTURE]
    if wrong:
        more = f"（另有 {len(wrong) - 1} 处）" if len(wrong) > 1 else ""
        raise XltoolError(
            "NOT_A_REPORT",
            f"不是“{model.title}”的报告：{wrong[0].message_zh}{more}",
            f"not a report of '{model.name}': {wrong[0].message_en}"
            + (f" (and {len(wrong) - 1} more)" if more else ""),
            path=str(path),
        )


def render_bytes(doc: Document, suffix: str) -> bytes:
    kind = suffix.lower()
    if kind == ".html":
        return to_html(doc).encode("utf-8")
    if kind == ".docx":
        return to_docx(doc)
    if kind == ".pdf":
        return docx_to_pdf(to_docx(doc))
    raise XltoolError("OUTPUT_TYPE", f"不支持的输出格式：{suffix}", f"unsupported output format: {suffix}")


def render_year(
    archive: str | Path,
    year: int,
    out_dir: str | Path,
    *,
    schema: str | None = None,
    kinds: Sequence[str] = (".html", ".docx"),
) -> list[Path]:
    """Every accepted report of `year` rendered into `out_dir` (one file per organisation and kind)."""
    root = Path(archive)
    data = load_year(root, year, schema)
    assert data is not None
    out = check_out_dir(out_dir, archive=root)
    bad = [k for k in kinds if k not in SUFFIXES]
    if bad:
        raise XltoolError(
            "OUTPUT_TYPE", f"不支持的输出格式：{' '.join(bad)}", f"unsupported output format(s): {' '.join(bad)}"
        )
    if not data.reports:
        raise XltoolError(
            "NOTHING_TO_RENDER", f"{year}年度没有已接收的报告", f"no accepted report for {year}", path=str(root)
        )
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for rep in data.reports:
        doc = document_for(root / rep.path, schema=data.schema)
        stem = Path(rep.path).stem
        for kind in kinds:
            target = out / f"{stem}{kind}"
            write_atomic(target, render_bytes(doc, kind))
            written.append(target)
    return written
