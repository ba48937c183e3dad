"""The returned workbook as an OPC package the feedback patcher edits: parts, relationships, types.

Parts the patcher changes are parsed with lxml (no DTD or entities: the safety gate refused those
already, and the parser resolves none); every other part is copied as it is stored, once an XML
part has been parsed too: a part that is not well-formed makes the openpyxl path refuse the file,
and it must not pass here.
Anything outside the plain SpreadsheetML transitional package (another main part name, a macro
or template workbook, strict-OOXML namespaces, a relationship to a part that is not there) raises
`Unhandled`, and the caller falls back to the openpyxl path.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Mapping

from lxml import etree

from .feedback_styles import MAIN, Unhandled
from .feedback_zip import ZipCopy

CT = "http://schemas.openxmlformats.org/package/2006/content-types"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WORKBOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
_R = f"{{{PKG_REL}}}Relationship"


def rel_type(name: str) -> str:
    return f"{DOC_REL}/{name}"


class Rels:
    """One `.rels` part: relationships by id, with targets resolved to part names."""

    def __init__(self, package: Package, owner: str, xml: bytes | None) -> None:
        self.part = posixpath.join(posixpath.dirname(owner), "_rels", posixpath.basename(owner) + ".rels")
        self.folder = posixpath.dirname(owner)
        self.root = etree.fromstring(xml, PARSER) if xml is not None else etree.Element(_R + "s", nsmap={None: PKG_REL})
        if self.root.tag != _R + "s":
            raise Unhandled(f"{self.part}: not a relationships part")
        self.package = package

    def items(self) -> list[tuple[str, str, str | None]]:
        """(id, type, part name or None when external) of every relationship."""
        out = []
        for rel in self.root.findall(_R):
            external = rel.get("TargetMode") == "External"
            out.append(
                (rel.get("Id", ""), rel.get("Type", ""), None if external else self.resolve(rel.get("Target", "")))
            )
        return out

    def resolve(self, target: str) -> str:
        name = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(self.folder, target))
        if not self.package.has(name):
            raise Unhandled(f"{self.part}: target {target} is missing")
        return name

    def of_type(self, kind: str) -> list[tuple[str, str]]:
        return [(rid, part) for rid, t, part in self.items() if t == rel_type(kind) and part is not None]

    def add(self, kind: str, part: str) -> str:
        ids = {rel.get("Id") for rel in self.root.findall(_R)}
        rid = next(f"rId{n}" for n in range(1, len(ids) + 2) if f"rId{n}" not in ids)
        target = posixpath.relpath(part, self.folder)
        etree.SubElement(self.root, _R, Id=rid, Type=rel_type(kind), Target=target)
        return rid

    def remove(self, rid: str) -> None:
        for rel in self.root.findall(_R):
            if rel.get("Id") == rid:
                self.root.remove(rel)

    def tobytes(self) -> bytes:
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", standalone=True)


class Package:
    """The zip of a returned workbook, with the parts to change, add and drop."""

    def __init__(self, data: bytes, parts: Mapping[str, bytes | None] | None = None) -> None:
        self.data = data
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        # inflated once: by the safety gate (`Sniffed.parts`, the bytes `zipfile` reads) or here
        self._inflated: dict[str, bytes] = {n: c for n, c in (parts or {}).items() if c is not None}
        self.names = set(self.zip.namelist())
        self.changed: dict[str, bytes] = {}
        self.dropped: set[str] = set()
        self.parsed: set[str] = set()  # parts known to be well-formed
        self.types = self.parse("[Content_Types].xml")
        if self.types.tag != f"{{{CT}}}Types":
            raise Unhandled("content types: unknown namespace")
        overrides = {o.get("PartName"): o.get("ContentType") for o in self.types.findall(f"{{{CT}}}Override")}
        if overrides.get("/xl/workbook.xml") != WORKBOOK_TYPE or "xl/vbaProject.bin" in self.names:
            raise Unhandled("not a plain .xlsx workbook part (template, macros or another part name)")

    def has(self, name: str) -> bool:
        return name in self.changed or (name in self.names and name not in self.dropped)

    def read(self, name: str) -> bytes:
        """The stored part `name` inflated (each part at most once)."""
        if name not in self._inflated:
            self._inflated[name] = self.zip.read(name)
        return self._inflated[name]

    def parse(self, name: str) -> etree._Element:
        if name not in self.names:
            raise Unhandled(f"{name} is missing")
        try:
            root = etree.fromstring(self.read(name), PARSER)
            self.parsed.add(name)
            return root
        except etree.XMLSyntaxError as exc:
            raise Unhandled(f"{name}: {exc}") from None

    def rels(self, owner: str) -> Rels:
        name = posixpath.join(posixpath.dirname(owner), "_rels", posixpath.basename(owner) + ".rels")
        return Rels(self, owner, self.read(name) if name in self.names else None)

    def free_name(self, pattern: str) -> str:
        """The first `pattern.format(n)` (n = 1, 2, ...) that is no part of the package."""
        taken = (self.names - self.dropped) | set(self.changed)
        return next(pattern.format(n) for n in range(1, len(taken) + 2) if pattern.format(n) not in taken)

    def put(self, name: str, content: bytes, content_type: str | None = None) -> None:
        self.changed[name] = content
        self.dropped.discard(name)
        if content_type is not None:
            self._override(name, content_type)

    def drop(self, name: str) -> None:
        self.dropped.add(name)
        self.changed.pop(name, None)
        for o in self.types.findall(f"{{{CT}}}Override"):
            if o.get("PartName") == "/" + name:
                self.types.remove(o)

    def _override(self, name: str, content_type: str) -> None:
        for o in self.types.findall(f"{{{CT}}}Override"):
            if o.get("PartName") == "/" + name:
                self.types.remove(o)
        etree.SubElement(self.types, f"{{{CT}}}Override", PartName="/" + name, ContentType=content_type)

    def default_type(self, extension: str, content_type: str) -> None:
        found = [d for d in self.types.findall(f"{{{CT}}}Default") if d.get("Extension", "").lower() == extension]
        if not found:
            self.types.insert(0, etree.Element(f"{{{CT}}}Default", Extension=extension, ContentType=content_type))
        elif found[0].get("ContentType") != content_type:
            raise Unhandled(f"content types: .{extension} is {found[0].get('ContentType')}")

    def write_rels(self, rels: Rels) -> None:
        if len(rels.root):
            self.put(rels.part, rels.tobytes())
        elif rels.part in self.names:
            self.drop(rels.part)

    def tobytes(self) -> bytes:
        self.changed["[Content_Types].xml"] = etree.tostring(
            self.types, xml_declaration=True, encoding="UTF-8", standalone=True
        )
        out = ZipCopy(self.zip, self.data)
        for name in self.zip.namelist():
            if name in self.changed:
                out.write(name, self.changed.pop(name))
            elif name not in self.dropped:
                if name.endswith((".xml", ".rels")) and name not in self.parsed:
                    self.parse(name)  # copied unread, but a damaged part must not pass unseen
                out.copy(name)
        for name, content in self.changed.items():
            out.write(name, content)
        return out.getvalue()


def main_tag(root: etree._Element, local: str, part: str) -> None:
    """Refuse a part whose root is not SpreadsheetML `local` (strict OOXML, another kind of part)."""
    if root.tag != f"{{{MAIN}}}{local}":
        raise Unhandled(f"{part}: root is {root.tag}, not {local}")
