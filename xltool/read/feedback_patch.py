"""Feedback workbooks by patching the returned file's XML instead of an openpyxl round trip.

`patch` produces what `feedback.openpyxl_feedback` produces, as openpyxl reads it back (sheets,
values and types, fills, comments, protection, merges, links, filter, panes, active sheet), in a
fraction of the time: parts it does not change are copied as stored. It changes `xl/styles.xml`
(formats appended), the sheets with marked cells, dropped formulas, stale xltool comments or a
selected tab, their comments and VML drawings, the workbook, its relationships and content types,
and adds the list sheet (`feedback_sheet`). `xl/calcChain.xml` is dropped, as openpyxl drops it
(Excel rebuilds it; a chain naming a formula that became text is what Excel calls corrupt).

It raises `Unhandled`, and `write_feedback` takes the openpyxl path, when the source has:
- a macro-enabled or template workbook, or a main part other than `xl/workbook.xml`; strict OOXML;
- a chart sheet or dialog sheet, or a part that does not parse;
- comments not written by xltool, or a VML drawing without comments (form controls, shapes);
- an earlier 问题清单/Issues sheet that is not the last sheet or has parts of its own, or an issue
  pointing at it;
- a formula to drop (in an unlocked or marked cell, or reaching outside the workbook) that is
  shared, an array or a data table;
- damage the openpyxl path would refuse (`feedback_guard`), so that refusal stands.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, NamedTuple

from lxml import etree
from openpyxl.utils.cell import column_index_from_string, get_column_letter

from ..check.issues import Issue, sort_issues
from .feedback_cells import Grid, merged, to_text
from .feedback_guard import accepted_part, check_cells, check_elements, check_strings
from .feedback_package import COMMENTS_TYPE, DOC_REL, PARSER, VML_TYPE, WORKSHEET_TYPE, Package, main_tag
from .feedback_sheet import list_sheet
from .feedback_styles import MAIN, Styles, Unhandled
from .feedback_text import AUTHOR, LIVE, cell_ref, comment, neutralised, severity
from .feedback_vml import comments_vml

_M = f"{{{MAIN}}}"
_RID = f"{{{DOC_REL}}}id"
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_SELECTED = re.compile(rb"tabSelected\s*=\s*[\"'](?:1|true)")
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
# worksheet children that come after <legacyDrawing> (ECMA-376 Part 1 §18.3.1.99 CT_Worksheet)
_AFTER_LEGACY = {"legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems"}
_AFTER_LEGACY |= {"tableParts", "extLst"}
_AFTER_NAMES = {"calcPr", "oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes"}
_AFTER_NAMES |= {"webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst"}


class Sheet(NamedTuple):
    name: str
    state: str
    part: str
    element: etree._Element


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


class Patcher:
    def __init__(self, data: bytes, t: dict[str, Any], parts: Mapping[str, bytes | None] | None = None) -> None:
        self.pkg, self.t = Package(data, parts), t
        self.book = self.pkg.parse("xl/workbook.xml")
        main_tag(self.book, "workbook", "xl/workbook.xml")
        self.book_rels = self.pkg.rels("xl/workbook.xml")
        styles = self.book_rels.of_type("styles")
        if len(styles) != 1:
            raise Unhandled("no single styles part")
        self.styles_part = styles[0][1]
        self.styles = Styles(self.pkg.read(self.styles_part), PARSER)
        targets = {rid: (kind, part) for rid, kind, part in self.book_rels.items()}
        self.sheets: list[Sheet] = []
        for el in self.book.iterfind(f"{_M}sheets/{_M}sheet"):
            kind, part = targets.get(el.get(_RID, ""), ("", None))
            if kind != f"{DOC_REL}/worksheet" or part is None:
                raise Unhandled(f"sheet {el.get('name')!r} is not a worksheet ({kind})")
            self.sheets.append(Sheet(el.get("name", ""), el.get("state", "visible"), part, el))
        self._roots: dict[str, etree._Element] = {}

    def guard(self) -> None:
        """Decline a file the openpyxl path would refuse as damaged (see `feedback_guard`)."""
        for kind, part in (("styles", self.styles_part), ("workbook", "xl/workbook.xml")):
            if not accepted_part(kind, self.pkg.read(part)):
                raise Unhandled(f"{part}: openpyxl may refuse it")
        strings = 0
        for _, part in self.book_rels.of_type("sharedStrings"):
            table = self.pkg.parse(part)
            strings = len(table)
            check_strings(table, part)
        for sheet in self.sheets:
            root = self.root(sheet)
            check_cells(root, strings, len(self.styles.xfs), sheet.name, self.pkg.read(sheet.part))
            check_elements(root, sheet.name)

    def _drop_old_list(self, issues: list[Issue]) -> None:
        """Remove the list sheet of an earlier round (openpyxl's path deletes and rewrites it)."""
        names = [s.name for s in self.sheets]
        if self.t["sheet"] not in names:
            return
        n = names.index(self.t["sheet"])
        old = self.sheets[n]
        if n != len(names) - 1 or self.pkg.rels(old.part).items() or any(i.sheet == old.name for i in issues):
            raise Unhandled("an earlier list sheet that is not last, has parts, or is pointed at")
        old.element.getparent().remove(old.element)
        self.book_rels.remove(old.element.get(_RID, ""))
        self.pkg.drop(old.part)
        for name in list(self.book.iterfind(f"{_M}definedNames/{_M}definedName")):
            if name.get("localSheetId") == str(n):
                name.getparent().remove(name)
        self.sheets.pop()

    def _comments(self, sheet: Sheet, root: etree._Element, notes: dict[tuple[int, int], tuple[str, int]]) -> None:
        """Drop stale xltool comments (an earlier round) and write `notes` {(row, column): (text, height)}."""
        rels = self.pkg.rels(sheet.part)
        old_comments, old_vml = rels.of_type("comments"), rels.of_type("vmlDrawing")
        if old_comments or old_vml:
            legacy = root.find(f"{_M}legacyDrawing")
            if len(old_comments) != 1 or len(old_vml) != 1 or legacy is None or legacy.get(_RID) != old_vml[0][0]:
                raise Unhandled(f"{sheet.name}: drawings or comments it does not know")
            part = self.pkg.parse(old_comments[0][1])
            authors = [a.text for a in part.iterfind(f"{_M}authors/{_M}author")]
            for c in part.iterfind(f"{_M}commentList/{_M}comment"):
                n = int(c.get("authorId", "-1"))
                if not 0 <= n < len(authors) or authors[n] != AUTHOR:
                    raise Unhandled(f"{sheet.name}: a comment not written by xltool")
            for rid, name in old_comments + old_vml:
                rels.remove(rid)
                self.pkg.drop(name)
            root.remove(legacy)
        if notes:
            xml = etree.Element(f"{_M}comments", nsmap={None: MAIN})
            etree.SubElement(etree.SubElement(xml, f"{_M}authors"), f"{_M}author").text = AUTHOR
            listing = etree.SubElement(xml, f"{_M}commentList")
            for (r, col), (text, _) in notes.items():
                coord = f"{get_column_letter(col)}{r}"
                body = etree.SubElement(etree.SubElement(listing, f"{_M}comment", ref=coord, authorId="0"), f"{_M}text")
                t = etree.SubElement(body, f"{_M}t")
                t.text, _ = text, t.set(_XML_SPACE, "preserve")
            comments_part = self.pkg.free_name("xl/comments/comment{}.xml")
            self.pkg.put(comments_part, etree.tostring(xml, xml_declaration=True, encoding="UTF-8"), COMMENTS_TYPE)
            vml_part = self.pkg.free_name("xl/drawings/commentsDrawing{}.vml")
            self.pkg.put(vml_part, comments_vml([(r, col, height) for (r, col), (_, height) in notes.items()], 260))
            self.pkg.default_type("vml", VML_TYPE)
            rels.add("comments", comments_part)
            legacy = etree.Element(f"{_M}legacyDrawing")
            legacy.set(_RID, rels.add("vmlDrawing", vml_part))
            later = next((el for el in root if _local(el) in _AFTER_LEGACY), None)
            if later is not None:
                later.addprevious(legacy)
            else:
                root.append(legacy)
        self.pkg.write_rels(rels)

    def _sheet(self, sheet: Sheet, marks: dict[tuple[int, int], tuple[str, str, int]]) -> None:
        """Fill and comment the marked cells, drop the formulas `_neutralise` drops, deselect the tab.
        A sheet none of that touches is copied as stored."""
        raw = self.pkg.read(sheet.part)
        rels = self.pkg.rels(sheet.part)
        drawn = rels.of_type("comments") or rels.of_type("vmlDrawing")
        if not (marks or drawn or _FORMULA.search(raw) or _SELECTED.search(raw)):
            return
        root = self.root(sheet)
        dropped: dict[etree._Element, str] = {}
        # formulas reaching outside, or typed into an unlocked cell; the value is what openpyxl reads
        formulas = [(f.getparent(), "=" + (f.text or "")) for f in root.iter(f"{_M}f")]
        live = LIVE.search("\n".join(text for _, text in formulas)) is not None  # one search finds them all
        for c, text in formulas:
            if c.tag == f"{_M}c" and ((live and LIVE.search(text)) or not self.styles.locked(int(c.get("s") or 0))):
                dropped[c] = text
        grid, marked = Grid(root) if marks else None, set()
        for key, (fill, _, _) in marks.items():
            assert grid is not None
            if key not in grid.cells:  # a new cell has openpyxl's defaults, not cell format 0's alignment
                grid.cell(*key).set("s", str(self.styles.listing(fill=fill)))
                continue
            c = grid.cells[key]
            f = c.find(f"{_M}f")
            if f is not None:  # a marked formula is dropped too
                dropped[c] = "=" + (f.text or "")
            c.set("s", str(self.styles.marked(int(c.get("s") or 0), fill, c in dropped)))
            marked.add(c)
        for c, text in dropped.items():
            f = c.find(f"{_M}f")
            if f.get("t", "normal") != "normal":
                raise Unhandled(f"{sheet.name}!{c.get('r')}: a {f.get('t')} formula to drop")
            if c not in marked:
                c.set("s", str(self.styles.marked(int(c.get("s") or 0), None, True)))
            to_text(c, neutralised(text))
        selected = [v for v in root.iterfind(f"{_M}sheetViews/{_M}sheetView") if "tabSelected" in v.attrib]
        for view in selected:
            del view.attrib["tabSelected"]
        if not (marks or drawn or dropped or selected):
            return
        self._comments(sheet, root, {key: (text, height) for key, (_, text, height) in marks.items()})
        self.pkg.put(sheet.part, etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))

    def root(self, sheet: Sheet) -> etree._Element:
        if sheet.part not in self._roots:
            self._roots[sheet.part] = self.pkg.parse(sheet.part)
            main_tag(self._roots[sheet.part], "worksheet", sheet.part)
        return self._roots[sheet.part]

    def _targets(
        self, issues: list[Issue]
    ) -> tuple[dict[int, tuple[Sheet, str]], dict[tuple[str, int, int], list[Issue]]]:
        """Where each issue is marked (top-left of a merged range), and the issues of each cell."""
        by_name = {s.name: s for s in self.sheets}
        where: dict[int, tuple[Sheet, str]] = {}
        groups: dict[tuple[str, int, int], list[Issue]] = defaultdict(list)
        ranges: dict[str, list[tuple[int, int, int, int]]] = {}
        for n, issue in enumerate(issues):
            ref, sheet = cell_ref(issue), by_name.get(issue.sheet or "")
            if ref is None or sheet is None:
                continue
            if sheet.name not in ranges:
                ranges[sheet.name] = merged(self.root(sheet))
            r, col = ref[1], column_index_from_string(ref[0])
            r, col = next(
                ((r0, c0) for r0, c0, r1, c1 in ranges[sheet.name] if r0 <= r <= r1 and c0 <= col <= c1), (r, col)
            )
            where[n] = (sheet, f"{get_column_letter(col)}{r}")
            groups[(sheet.name, r, col)].append(issue)
        return where, groups

    def _add_list(self, issues: list[Issue], links: dict[int, str], lang: str, title: str | None) -> None:
        """The list sheet, last and active, with its filter and print-title names."""
        index, name = len(self.sheets), self.t["sheet"]
        xml, head = list_sheet(issues, links, self.t, lang, title, self.styles)
        part = self.pkg.free_name("xl/worksheets/sheet{}.xml")
        self.pkg.put(part, xml, WORKSHEET_TYPE)
        listing = self.book.find(f"{_M}sheets")
        try:
            sheet_id = max([int(s.get("sheetId", "0")) for s in listing] + [0]) + 1
        except ValueError:
            raise Unhandled("a sheetId that is not a number") from None
        el = etree.SubElement(listing, f"{_M}sheet", name=name, sheetId=str(sheet_id))
        el.set(_RID, self.book_rels.add("worksheet", part))
        names = self.book.find(f"{_M}definedNames")
        if names is None:
            names = etree.Element(f"{_M}definedNames")
            later = next((e for e in self.book if _local(e) in _AFTER_NAMES), None)
            later.addprevious(names) if later is not None else self.book.append(names)
        quoted = "'" + name.replace("'", "''") + "'"
        area = etree.SubElement(names, f"{_M}definedName", name="_xlnm._FilterDatabase", localSheetId=str(index))
        area.set("hidden", "1")
        area.text = f"{quoted}!$A${head}:$G${head + len(issues)}"
        titles = etree.SubElement(names, f"{_M}definedName", name="_xlnm.Print_Titles", localSheetId=str(index))
        titles.text = f"{quoted}!${head}:${head}"
        views = self.book.find(f"{_M}bookViews")
        if views is None:
            views = etree.Element(f"{_M}bookViews")
            listing.addprevious(views)
        view = views.find(f"{_M}workbookView")
        view = etree.SubElement(views, f"{_M}workbookView") if view is None else view
        view.set("activeTab", str(index))


def patch(
    data: bytes,
    issues: list[Issue],
    t: dict[str, Any],
    lang: str,
    title: str | None,
    parts: Mapping[str, bytes | None] | None = None,
) -> bytes:
    """The feedback workbook for `data` (a file that passed the safety gate), or `Unhandled`;
    `parts`: the gate's inflated parts (`Sniffed.parts`), so none is inflated twice."""
    p = Patcher(data, t, parts)
    p.guard()
    ordered = sort_issues(issues, [s.name for s in p.sheets])
    p._drop_old_list(ordered)
    where, groups = p._targets(ordered)
    for sheet in p.sheets:
        marks = {}
        for (name, r, col), group in groups.items():
            if name == sheet.name:
                marks[(r, col)] = (severity(group), *comment(group, p.t, lang))
        p._sheet(sheet, marks)
    links = {
        n: "'" + sheet.name.replace("'", "''") + f"'!{coord}"
        for n, (sheet, coord) in where.items()
        if sheet.state == "visible"
    }
    p._add_list(ordered, links, lang, title)
    for rid, part in p.book_rels.of_type("calcChain"):
        p.book_rels.remove(rid)
        p.pkg.drop(part)
    p.pkg.put(p.styles_part, p.styles.tobytes())
    p.pkg.put("xl/workbook.xml", etree.tostring(p.book, xml_declaration=True, encoding="UTF-8", standalone=True))
    p.pkg.write_rels(p.book_rels)
    return p.pkg.tobytes()
