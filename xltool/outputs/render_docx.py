"""The document as DOCX (python-docx) and, through LibreOffice, as PDF.

The DOCX uses only plain paragraphs, bold runs and grid tables with merged cells, which Word, WPS and
LibreOffice all show the same way; Chinese text gets an East Asian font (宋体) explicitly, since a
Latin font setting alone makes Word pick a fallback. The PDF is LibreOffice's conversion of that DOCX:
one rendering path, so the PDF says what the DOCX says.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from docx import Document as new_docx
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.text.run import Run

from ..base.errors import XltoolError
from .document import Comparison, Document, Narrative, Table

FONT = "宋体"
PDF_TIMEOUT = 180.0


def _font(run: Run, size: float, bold: bool = False) -> None:
    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    rpr = run._element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    rfonts.set(qn("w:eastAsia"), FONT)


def _para(
    doc: object, text: str, size: float = 12, *, bold: bool = False, center: bool = False, indent: bool = False
) -> None:
    p = doc.add_paragraph()  # type: ignore[attr-defined]
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if indent:
        p.paragraph_format.first_line_indent = Pt(size * 2)
    _font(p.add_run(text), size, bold)


def _table(doc: object, t: Table) -> None:
    if t.caption:
        _para(doc, t.caption, 10.5, bold=True)
    table = doc.add_table(rows=t.nrows, cols=t.ncols)  # type: ignore[attr-defined]
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, r, c in t.placed():
        target = table.cell(r, c)
        if cell.rowspan > 1 or cell.colspan > 1:
            target = target.merge(table.cell(r + cell.rowspan - 1, c + cell.colspan - 1))
        para = target.paragraphs[0]
        if cell.numeric or cell.role == "header":
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(para.add_run(cell.text), 9, cell.role == "header")
    widths = t.widths[: t.ncols]
    if len(widths) == t.ncols and sum(widths) > 0:
        table.autofit = False
        for col, w in zip(table.columns, widths, strict=True):
            col.width = Mm(174 * w / sum(widths))
            for cell in col.cells:
                cell.width = Mm(174 * w / sum(widths))
    for row in table.rows[: len(t.header)]:
        trpr = row._tr.get_or_add_trPr()
        trpr.append(trpr.makeelement(qn("w:tblHeader"), {}))  # repeat the header on every page
    doc.add_paragraph()  # type: ignore[attr-defined]


def _comparison(doc: object, c: Comparison) -> None:
    year = f"{c.previous_year}年" if c.previous_year else "上年"
    rows = [("项目", "本年", f"上年（{year}）")] + c.rows
    _para(doc, "附：主要合计数与上年对比", 14, bold=True)
    table = doc.add_table(rows=len(rows), cols=3)  # type: ignore[attr-defined]
    table.style = "Table Grid"
    for r, values in enumerate(rows):
        for col, text in enumerate(values):
            _font(table.cell(r, col).paragraphs[0].add_run(text), 9, r == 0)
    for note in c.notes:
        _para(doc, note, 10)


def to_docx(doc: Document) -> bytes:
    out = new_docx()
    section = out.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(18)
    section.top_margin = section.bottom_margin = Mm(20)
    props = out.core_properties
    props.title, props.author = doc.title, doc.org
    _para(out, doc.title, 18, bold=True, center=True)
    for s in doc.sections:
        if s.heading:
            _para(out, s.heading, 14, bold=True)
        for b in s.blocks:
            if isinstance(b, Narrative):
                for line in [x.strip() for x in b.text.split("\n") if x.strip()] or [""]:
                    _para(out, line, 12, indent=True)
            else:
                _table(out, b)
    if doc.comparison is not None:
        _comparison(out, doc.comparison)
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def docx_to_pdf(data: bytes, *, timeout: float = PDF_TIMEOUT) -> bytes:
    """Convert DOCX bytes to PDF with LibreOffice (own profile, so a running LibreOffice is not disturbed)."""
    exe = soffice()
    if exe is None:
        raise XltoolError(
            "NO_LIBREOFFICE",
            "生成PDF需要LibreOffice（soffice），本机未安装；可先生成 .docx 或 .html",
            "PDF needs LibreOffice (soffice), which is not installed; render .docx or .html instead",
        )
    with tempfile.TemporaryDirectory(prefix="xltool-pdf-") as tmp:
        src = Path(tmp) / "report.docx"
        src.write_bytes(data)
        profile = Path(tmp, "profile").as_uri()
        cmd = [exe, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir", tmp, str(src)]
        try:
            subprocess.run(cmd, capture_output=True, timeout=timeout, check=False, env=dict(os.environ, HOME=tmp))
        except subprocess.TimeoutExpired:
            raise XltoolError(
                "PDF_TIMEOUT",
                f"LibreOffice 在 {timeout:g} 秒内未完成PDF转换",
                f"LibreOffice did not finish within {timeout:g} s",
            ) from None
        pdf = Path(tmp) / "report.pdf"
        if not pdf.is_file():
            raise XltoolError("PDF_FAILED", "LibreOffice 未能生成PDF", "LibreOffice did not produce a PDF")
        return pdf.read_bytes()
