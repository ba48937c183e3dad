"""The document as DOCX (WordprocessingML written here) and, through LibreOffice, as PDF.

Why not python-docx: it needs lxml, and with lxml installed openpyxl parses workbooks with lxml
instead of defusedxml, which removes the reader's second line of defence against hostile XML
(tests/test_safety.py). The part of WordprocessingML a report needs is small: paragraphs, bold runs
with an explicit East Asian font (宋体; a Latin font setting alone makes Word pick a fallback), and
grid tables whose merged cells are `gridSpan` (columns) and `vMerge` (rows), with header rows
repeated on each page. Word, WPS and LibreOffice all read it; the PDF is LibreOffice's conversion of
this DOCX, so the PDF says what the DOCX says.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from ..base.errors import XltoolError
from .document import Cell, Comparison, Document, Narrative, Table

FONT = "宋体"
PDF_TIMEOUT = 180.0
TEXT_WIDTH = 9864  # twentieths of a point: A4 (11906) minus 18 mm margins (1021 each)
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
STAMP = (2000, 1, 1, 0, 0, 0)  # fixed zip times: the same report gives the same bytes

PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '<Override PartName="/word/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>'
    "</Types>",
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/></Relationships>',
    "word/_rels/document.xml.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>',
    "word/styles.xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles {W}>'
    f'<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" '
    f'w:eastAsia="{FONT}" w:cs="Times New Roman"/><w:sz w:val="24"/><w:lang w:val="en-US" w:eastAsia="zh-CN"/>'
    '</w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after="60" w:line="360" w:lineRule="auto"/>'
    "</w:pPr></w:pPrDefault></w:docDefaults>"
    '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>'
    '<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/>'
    '<w:tblPr><w:tblCellMar><w:left w:w="60" w:type="dxa"/><w:right w:w="60" w:type="dxa"/></w:tblCellMar>'
    "</w:tblPr></w:style></w:styles>",
}


def _run(text: str, size: float, bold: bool = False) -> str:
    half = int(round(size * 2))
    b = "<w:b/>" if bold else ""
    return (
        f'<w:r><w:rPr><w:rFonts w:eastAsia="{FONT}"/>{b}<w:sz w:val="{half}"/><w:szCs w:val="{half}"/></w:rPr>'
        f'<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'
    )


def _para(text: str, size: float = 12, *, bold: bool = False, center: bool = False, indent: bool = False) -> str:
    ppr = ""
    if indent:
        ppr += f'<w:ind w:firstLine="{int(size * 40)}"/>'
    if center:
        ppr += '<w:jc w:val="center"/>'
    return f"<w:p><w:pPr>{ppr}</w:pPr>{_run(text, size, bold) if text else ''}</w:p>"


def _cell_para(text: str, *, bold: bool, center: bool) -> str:
    jc = '<w:jc w:val="center"/>' if center else ""
    return f'<w:p><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/>{jc}</w:pPr>{_run(text, 9, bold)}</w:p>'


def _widths(t: Table) -> list[int]:
    widths = list(t.widths[: t.ncols])
    if len(widths) != t.ncols or sum(widths) <= 0:
        widths = [1.0] * t.ncols
    return [int(TEXT_WIDTH * w / sum(widths)) for w in widths]


def _table(t: Table) -> str:
    """Grid cells: the top-left of each merged area carries the text and `vMerge restart`; the cells
    below it are `vMerge` continuations; columns merge with `gridSpan`."""
    widths = _widths(t)
    at: dict[tuple[int, int], tuple[str, int, int, int]] = {}  # (row, col) -> (xml, span, rowspan, first row)
    for cell, r, c in t.placed():
        for dr in range(cell.rowspan):
            at[(r + dr, c)] = ("" if dr else cell.text, cell.colspan, cell.rowspan, dr)
        bold, center = cell.role == "header", cell.numeric or cell.role == "header"
        at[(r, c)] = (_cell_para(cell.text, bold=bold, center=center), cell.colspan, cell.rowspan, 0)
    rows = []
    for r in range(t.nrows):
        head = (
            "<w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>" if r < len(t.header) else "<w:trPr><w:cantSplit/></w:trPr>"
        )
        cells, c = [], 0
        while c < t.ncols:
            xml, span, rowspan, dr = at.get((r, c), (_cell_para("", bold=False, center=False), 1, 1, 0))
            width = sum(widths[c : c + span])
            tcpr = f'<w:tcW w:w="{width}" w:type="dxa"/>' + (f'<w:gridSpan w:val="{span}"/>' if span > 1 else "")
            if rowspan > 1:
                tcpr += '<w:vMerge w:val="restart"/>' if dr == 0 else "<w:vMerge/>"
            tcpr += '<w:vAlign w:val="center"/>'
            body = xml if dr == 0 else _cell_para("", bold=False, center=False)
            cells.append(f"<w:tc><w:tcPr>{tcpr}</w:tcPr>{body}</w:tc>")
            c += span
        rows.append(f"<w:tr>{head}{''.join(cells)}</w:tr>")
    borders = "".join(
        f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
        for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
    caption = _para(t.caption, 10.5, bold=True) if t.caption else ""
    return (
        f'{caption}<w:tbl><w:tblPr><w:tblW w:w="{sum(widths)}" w:type="dxa"/><w:jc w:val="center"/>'
        f'<w:tblBorders>{borders}</w:tblBorders><w:tblLayout w:type="fixed"/></w:tblPr>'
        f"<w:tblGrid>{grid}</w:tblGrid>{''.join(rows)}</w:tbl>" + _para("", 6)
    )


def _comparison(c: Comparison) -> str:
    year = f"{c.previous_year}年" if c.previous_year else "上年"

    rows = [[Cell(h, role="header") for h in ("项目", "本年", f"上年（{year}）")]]
    rows += [
        [Cell(label), Cell(now, role="value", numeric=True), Cell(before, role="value", numeric=True)]
        for label, now, before in c.rows
    ]
    table = Table(None, rows[:1], rows[1:], (40.0, 8.0, 8.0))
    return _para("附：主要合计数与上年对比", 14, bold=True) + _table(table) + "".join(_para(n, 10) for n in c.notes)


def to_docx(doc: Document) -> bytes:
    body = [_para(doc.title, 18, bold=True, center=True)]
    for s in doc.sections:
        if s.heading:
            body.append(_para(s.heading, 14, bold=True))
        for b in s.blocks:
            if isinstance(b, Narrative):
                lines = [x.strip() for x in b.text.split("\n") if x.strip()] or [""]
                body += [_para(line, 12, indent=True) for line in lines]
            else:
                body.append(_table(b))
    if doc.comparison is not None:
        body.append(_comparison(doc.comparison))
    sect = (
        '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/>'
        '<w:pgMar w:top="1134" w:right="1021" w:bottom="1134" w:left="1021" w:header="567" w:footer="567" w:gutter="0"/>'
        "</w:sectPr>"
    )
    document = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W}><w:body>'
        + "".join(body)
        + sect
        + "</w:body></w:document>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in [*PARTS.items(), ("word/document.xml", document)]:
            zf.writestr(zipfile.ZipInfo(name, date_time=STAMP), text.encode("utf-8"), zipfile.ZIP_DEFLATED)
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
