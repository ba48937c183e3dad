"""The same filled workbook in the XML dialects other spreadsheet writers use.

xlsxwriter writes one dialect of SpreadsheetML; a township's file comes back from Excel, WPS or a
generator with the same cells spelled differently. Each function here rewrites every worksheet
part of a filled workbook the way such a writer spells it, changing no cell's value, so a reader
must give identical JSON and issues. The source of each difference (ECMA-376 5th edition, Part 1,
"Fundamentals and Markup Language Reference"; Part 3, "Markup Compatibility"; [MS-XLSX]):

- `excel_extensions`: Excel 2010+ declares its extension namespaces on `<worksheet>` and lists them
  in `mc:Ignorable` (Part 3 §7.2, Ignorable attribute) so older readers skip them; it writes
  `x14ac:dyDescent` on `<row>` and `<sheetFormatPr>` ([MS-XLSX] §2.3.9 / §2.6, x14ac) and an
  `xr:uid` revision id on `<worksheet>` ([MS-XLSX], xr namespace). A reader must ignore them.
- `excel_float_digits`: Excel stores a double with up to 17 significant digits in `<v>`
  (Part 1 §18.3.1.96 v; ST_Xstring holding an xsd:double), so 1.1 is written
  `1.1000000000000001`; the JSON must still say 1.1.
- `explicit_numeric_type`: `t` defaults to "n" (Part 1 §18.3.1.4 c, ST_CellType §18.18.11); Excel
  and xlsxwriter omit it, openpyxl and others write `t="n"`.
- `inline_strings`: text in the cell itself, `t="inlineStr"` with `<is><t>` (§18.3.1.53 is,
  §18.18.11), instead of an index into the shared string table (§18.4.8 si) — what streaming
  writers and several generators and exports write.
- `str_text`: text constants as `t="str"` with the text in `<v>` and no `<f>` (§18.18.11: "str"
  is a formula's string result; some writers use it for every text cell).
- `no_references`: `r` omitted on `<row>` (§18.3.1.73, optional: the row after the previous one)
  and on `<c>` (§18.3.1.4, optional: the column after the previous cell); gaps are written as
  empty `<row/>` / `<c/>` elements, as writers that omit them do.
- `prefixed_namespace`: the SpreadsheetML namespace bound to a prefix (`<x:worksheet
  xmlns:x="...">`, `<x:c>`) as the Open XML SDK writes it (§A.2 schemas; a prefix is only a name
  for the same namespace, Namespaces in XML 1.0 §3).
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Callable

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
EXTENSION_NAMESPACES = {
    "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
    "x14ac": "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac",
    "xr": "http://schemas.microsoft.com/office/spreadsheetml/2014/revision",
    "xr2": "http://schemas.microsoft.com/office/spreadsheetml/2015/revision2",
    "xr3": "http://schemas.microsoft.com/office/spreadsheetml/2016/revision3",
}
SHEET_PART = re.compile(r"xl/worksheets/sheet\d+\.xml")
_CELL = re.compile(r'<c r="([A-Z]+)(\d+)"([^>]*?)(/>|>(.*?)</c>)', re.S)
_ROW = re.compile(r'<row r="(\d+)"([^>]*?)(/>|>(.*?)</row>)', re.S)

Rewrite = Callable[[str, list[str]], str]  # sheet XML, shared strings -> sheet XML


def shared_strings(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        if "xl/sharedStrings.xml" not in zf.namelist():
            return []
        xml = zf.read("xl/sharedStrings.xml").decode("utf-8")
    return [
        html.unescape("".join(re.findall(r"<t(?:\s[^>]*)?>(.*?)</t>", si, re.S)))
        for si in re.findall(r"<si>(.*?)</si>", xml, re.S)
    ]


def apply(data: bytes, rewrite: Rewrite) -> bytes:
    """`data` with every worksheet part rewritten (other parts copied byte for byte)."""
    strings = shared_strings(data)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if SHEET_PART.fullmatch(info.filename):
                content = rewrite(content.decode("utf-8"), strings).encode("utf-8")
            dst.writestr(info, content)
    return out.getvalue()


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def excel_extensions(xml: str, strings: list[str]) -> str:
    declarations = " ".join(f'xmlns:{p}="{ns}"' for p, ns in EXTENSION_NAMESPACES.items())
    root = f'<worksheet xmlns="{MAIN}"'
    assert root in xml
    xml = xml.replace(
        root,
        f'{root} {declarations} mc:Ignorable="x14ac xr xr2 xr3" xr:uid="{{00000000-0001-0000-0000-000000000000}}"',
        1,
    )
    xml = re.sub(r"<sheetFormatPr ", '<sheetFormatPr x14ac:dyDescent="0.25" ', xml)
    return re.sub(r"<row ", '<row x14ac:dyDescent="0.25" ', xml)


def excel_float_digits(xml: str, strings: list[str]) -> str:
    def number(m: re.Match[str]) -> str:
        col, row, attrs, whole, inner = m.groups()
        if inner is None or 't="' in attrs:
            return m.group(0)  # strings, booleans, errors, formula strings: not a double
        inner = re.sub(r"<v>([^<]+)</v>", lambda v: f"<v>{float(v.group(1)):.17g}</v>", inner)
        return f'<c r="{col}{row}"{attrs}>{inner}</c>'

    return _CELL.sub(number, xml)


def explicit_numeric_type(xml: str, strings: list[str]) -> str:
    def typed(m: re.Match[str]) -> str:
        col, row, attrs, whole, inner = m.groups()
        if inner is None or 't="' in attrs or "<v>" not in inner:
            return m.group(0)
        return f'<c r="{col}{row}"{attrs} t="n">{inner}</c>'

    return _CELL.sub(typed, xml)


def _string_cells(xml: str, strings: list[str], spell: Callable[[str], str], t: str) -> str:
    def inline(m: re.Match[str]) -> str:
        col, row, attrs, whole, inner = m.groups()
        if 't="s"' not in attrs:
            return m.group(0)
        index = re.fullmatch(r"<v>(\d+)</v>", inner or "")
        assert index is not None, m.group(0)
        typed = attrs.replace(' t="s"', ' t="' + t + '"')
        return f'<c r="{col}{row}"{typed}>{spell(strings[int(index.group(1))])}</c>'

    return _CELL.sub(inline, xml)


def inline_strings(xml: str, strings: list[str]) -> str:
    return _string_cells(xml, strings, lambda s: f'<is><t xml:space="preserve">{_text(s)}</t></is>', "inlineStr")


def str_text(xml: str, strings: list[str]) -> str:
    return _string_cells(xml, strings, lambda s: f"<v>{_text(s)}</v>", "str")


def _column(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def no_references(xml: str, strings: list[str]) -> str:
    def cells(body: str) -> str:
        out, col = [], 0
        for m in _CELL.finditer(body):
            letters, _row, attrs, whole, _inner = m.groups()
            target = _column(letters)
            out.append("<c/>" * (target - col - 1))
            out.append(f"<c{attrs}{whole}")
            col = target
        return "".join(out)

    out, last, pos = [], 0, 0
    for m in _ROW.finditer(xml):
        number, attrs, whole, body = m.groups()
        out.append(xml[pos : m.start()])
        out.append("<row/>" * (int(number) - last - 1))
        attrs = re.sub(r'\sspans="[^"]*"', "", attrs)
        out.append(f"<row{attrs}/>" if body is None else f"<row{attrs}>{cells(body)}</row>")
        last, pos = int(number), m.end()
    out.append(xml[pos:])
    return "".join(out)


def prefixed_namespace(xml: str, strings: list[str]) -> str:
    xml = xml.replace(f'<worksheet xmlns="{MAIN}"', f'<worksheet xmlns:x="{MAIN}"', 1)
    return re.sub(r"<(/?)([A-Za-z][\w]*)(?=[\s/>])", r"<\1x:\2", xml)


DIALECTS: dict[str, Rewrite] = {
    "excel_extensions": excel_extensions,
    "excel_float_digits": excel_float_digits,
    "explicit_numeric_type": explicit_numeric_type,
    "inline_strings": inline_strings,
    "str_text": str_text,
    "no_references": no_references,
    "prefixed_namespace": prefixed_namespace,
}
