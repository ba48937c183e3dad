"""The document as one self-contained HTML file: inline CSS, A4 print layout, no scripts, no links.

Made to be pasted into a government portal's editor or printed. Every text from a report (township
data) is HTML-escaped, so a narrative cannot inject markup or script.
"""

from __future__ import annotations

from html import escape

from .document import Comparison, Document, Narrative, Table

CSS = """
@page { size: A4; margin: 20mm 18mm; }
body { font-family: "SimSun", "宋体", "Noto Serif CJK SC", "Noto Sans CJK SC", serif; font-size: 12pt;
       line-height: 1.6; color: #000; max-width: 170mm; margin: 0 auto; }
h1 { font-size: 18pt; text-align: center; font-weight: bold; margin: 12pt 0 18pt; }
h2 { font-size: 14pt; font-weight: bold; margin: 14pt 0 6pt; }
p { text-indent: 2em; margin: 0 0 6pt; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0 10pt; font-size: 9pt; page-break-inside: auto; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: 2pt 0; }
th, td { border: 0.5pt solid #000; padding: 2pt 3pt; vertical-align: middle; }
th { font-weight: bold; text-align: center; background: #f2f2f2; }
td.num { text-align: center; }
tr { page-break-inside: avoid; }
p.note { text-indent: 0; font-size: 10pt; }
"""


def _table(t: Table) -> str:
    out = ["<table>"]
    if t.caption:
        out.append(f"<caption>{escape(t.caption)}</caption>")
    widths = t.widths[: t.ncols]
    if len(widths) == t.ncols and sum(widths) > 0:
        out.append(
            "<colgroup>" + "".join(f'<col style="width:{100 * w / sum(widths):.1f}%">' for w in widths) + "</colgroup>"
        )
    for rows, tag in ((t.header, "th"), (t.body, "td")):
        group = "thead" if tag == "th" else "tbody"
        if not rows:
            continue
        out.append(f"<{group}>")
        for row in rows:
            cells = []
            for c in row:
                span = (f' colspan="{c.colspan}"' if c.colspan > 1 else "") + (
                    f' rowspan="{c.rowspan}"' if c.rowspan > 1 else ""
                )
                cls = ' class="num"' if c.numeric else ""
                name = "th" if c.role == "header" else "td"
                cells.append(f"<{name}{span}{cls}>{escape(c.text)}</{name}>")
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append(f"</{group}>")
    out.append("</table>")
    return "\n".join(out)


def _narrative(n: Narrative) -> str:
    paras = [line.strip() for line in n.text.split("\n") if line.strip()]
    return "\n".join(f"<p>{escape(p)}</p>" for p in paras) or "<p></p>"


def _comparison(c: Comparison) -> str:
    year = f"{c.previous_year}年" if c.previous_year else "上年"
    out = ["<h2>附：主要合计数与上年对比</h2>", "<table>", "<thead><tr><th>项目</th><th>本年</th>"]
    out.append(f"<th>上年（{escape(year)}）</th></tr></thead><tbody>")
    for label, now, before in c.rows:
        out.append(
            f'<tr><td>{escape(label)}</td><td class="num">{escape(now)}</td><td class="num">{escape(before)}</td></tr>'
        )
    out.append("</tbody></table>")
    out += [f'<p class="note">{escape(n)}</p>' for n in c.notes]
    return "\n".join(out)


def to_html(doc: Document) -> str:
    body = [f"<h1>{escape(doc.title)}</h1>"]
    for s in doc.sections:
        if s.heading:
            body.append(f"<h2>{escape(s.heading)}</h2>")
        for b in s.blocks:
            body.append(_table(b) if isinstance(b, Table) else _narrative(b))
    if doc.comparison is not None:
        body.append(_comparison(doc.comparison))
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(doc.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
