"""Roster templates from one rendering per kind of template: the organisation's text stamped in.

A roster's templates differ only in the organisation's own text (name, code, contact, deadline, upload
link, serial). So a template is rendered once per *shape* with stand-ins (private-use characters that
xlsxwriter writes as they are) for that text, and each organisation's file is made by putting its text,
escaped as xlsxwriter escapes it, where the stand-ins are, and zipping the parts as xlsxwriter does.

Speed never changes the file: a stamped template is byte-identical to `write_template`'s. The shape
(everything else the writer looks at: schema, year, level, password, issue date, which texts are
empty, every cell value and every rule outcome) is the cache key. A shape is rendered when its second
file is asked for (a shape that never recurs costs nothing extra); its first file that can be stamped
is also written directly and compared, and a shape whose stamped file differs is never stamped again.
Text that xlsxwriter treats specially (control characters, `_` as in its `_xHHHH_` escapes, spaces at
either end, very long text, `&G` in a footer) and text that would merge with another shared string go
the direct way.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, replace
from typing import Any

from ..spec.identity import Identity
from ..spec.model import Model
from .writer import TemplateOptions, TemplateWriter, make_identity, prepare_values, write_template

TEXTS = ("org_name", "org_code", "contact", "deadline", "portal_link")  # options that vary per organisation
_SERIAL = "serial"
_TOKENS = {name: f"\ue000{i}\ue001" for i, name in enumerate((*TEXTS, _SERIAL))}
_MAX_LEN = {"org_name": 60}  # the page footer (org name, '&' doubled) must stay within Excel's 255
_DEFAULT_MAX = 200
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\ue000-\uf8ff\ufffe\uffff\ud800-\udfff]|_")
_FOOTER_CODE = re.compile(r"&[G\[]")
_FOOTER = re.compile(rb"<(oddFooter|evenFooter|firstFooter)>[^<]*</\1>")
_OPEN = "\ue000".encode()  # opens every stand-in
_SHARED = "xl/sharedStrings.xml"
_SI = re.compile(rb"<si>.*?</si>", re.S)
_SEEN_LIMIT = 4096
_CACHE_LIMIT = 64  # shapes kept (about 140 kB each)


@dataclass
class _Shape:
    """One rendering with stand-ins: its zip parts, its shared strings split by whether they hold one, and
    whether a stamped file of it was found equal to the direct one (until then, files are written directly)."""

    parts: list[tuple[str, bytes]]
    fixed_strings: frozenset[bytes]
    stamped_strings: tuple[bytes, ...]
    verified: bool = False


_shapes: dict[bytes, _Shape | None] = {}  # None: this shape is written directly
_seen: set[bytes] = set()  # shapes met once
counts = {"stamped": 0, "direct": 0}  # how this process made its templates (tests, benchmarks)


def _plain(name: str, text: str) -> bool:
    if name == "org_name" and _FOOTER_CODE.search(text):
        return False  # xlsxwriter reads '&G' (a picture) even in '&&G' and then drops the footer
    return len(text) <= _MAX_LEN.get(name, _DEFAULT_MAX) and text == text.strip() and not _UNSAFE.search(text)


def _escape(text: str) -> bytes:
    """xlsxwriter's escaping of element text (`XMLwriter._escape_data`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode("utf-8")


def stamped_template(model: Model, opts: TemplateOptions) -> tuple[bytes, Identity]:
    """Exactly `write_template(model, opts)`, faster for the second and later organisation of a shape."""
    texts = {name: str(getattr(opts, name)) for name in TEXTS}
    if opts.extra_sheets is not None or not all(_plain(n, t) for n, t in texts.items()):
        counts["direct"] += 1
        return write_template(model, opts)
    values, outcomes = prepare_values(model, opts)
    identity = make_identity(model, opts)
    present = {n: t for n, t in texts.items() if t}
    held = {p: r for r, p in model.identity_fields.items() if r in ("org_name", "org_code") and r in present}
    if any(values.get(p) != present[r] for p, r in held.items()):
        counts["direct"] += 1
        return write_template(model, opts)  # a pre-fill other than the organisation's own text
    stand_in = {p: (_TOKENS[held[p]] if p in held else v) for p, v in values.items()}
    shape_of = (
        model.name,
        model.version,
        model.digest,
        opts.year,
        opts.level,
        opts.password,
        opts.issue_date,
        tuple(sorted(present)),
        tuple(stand_in.items()),
        tuple((k, o.state, repr(o.left), repr(o.right)) for k, o in outcomes.items()),
    )
    key = hashlib.sha256(repr(shape_of).encode("utf-8")).digest()  # small, for the shapes met once
    real = {_TOKENS[n].encode(): t for n, t in present.items()} | {_TOKENS[_SERIAL].encode(): identity.serial}
    if key not in _shapes and key not in _seen:
        if len(_seen) >= _SEEN_LIMIT:
            _seen.clear()
        _seen.add(key)  # a shape is made for its second file: one that never recurs costs nothing extra
        counts["direct"] += 1
        return write_template(model, opts)
    if key not in _shapes:
        while len(_shapes) >= _CACHE_LIMIT:
            del _shapes[next(iter(_shapes))]  # the oldest shape
        stand_in_texts: dict[str, Any] = {n: _TOKENS[n] for n in present}
        ph_opts = replace(opts, **stand_in_texts)
        ph_identity = replace(make_identity(model, ph_opts), serial=_TOKENS[_SERIAL])
        _shapes[key] = _shape(TemplateWriter(model, ph_opts, (stand_in, outcomes), ph_identity).write())
    shape = _shapes[key]
    data = None if shape is None else _stamp(shape, real)
    if shape is None or data is None or not shape.verified:
        counts["direct"] += 1
        direct = write_template(model, opts)
        if shape is not None and data is not None:  # the shape's first file that can be stamped: compare
            shape.verified = data == direct[0]
            if not shape.verified:
                _shapes[key] = None
        return direct
    counts["stamped"] += 1
    return data, identity


def _shape(data: bytes) -> _Shape | None:
    """The rendering with stand-ins, kept when stand-ins sit only where `_stamp` puts the texts."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = [(i.filename, z.read(i)) for i in z.infolist()]
    tokens = [t.encode() for t in _TOKENS.values()]
    for name, xml in parts:
        if name.startswith("xl/worksheets/"):  # a sheet holds stand-ins only in its page footer (the org name)
            in_footers = sum(m.group().count(tokens[0]) for m in _FOOTER.finditer(xml))
            if sum(xml.count(t) for t in tokens) != in_footers:
                return None
    strings = _SI.findall(dict(parts).get(_SHARED, b""))
    if len(set(strings)) != len(strings) or any(_OPEN in s and b"_" in s for s in strings):
        return None  # '_' next to a text could make an `_xHHHH_` escape of the shared string
    fixed = frozenset(s for s in strings if _OPEN not in s)
    return _Shape(parts, fixed, tuple(s for s in strings if _OPEN in s))


def _substitute(xml: bytes, real: dict[bytes, bytes]) -> bytes:
    for token, text in real.items():
        if token in xml:
            xml = xml.replace(token, text)
    return xml


def _stamp(shape: _Shape, texts: dict[bytes, str]) -> bytes | None:
    """The file with `texts` in place of the stand-ins; None when a text would merge two shared strings."""
    plain = {t: _escape(v) for t, v in texts.items()}
    footer = {t: _escape(v.replace("&", "&&")) for t, v in texts.items()}
    stamped = [_substitute(s, plain) for s in shape.stamped_strings]
    if len(set(stamped)) != len(stamped) or any(s in shape.fixed_strings for s in stamped):
        return None  # xlsxwriter would have written one shared string for two of these
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for name, xml in shape.parts:
            if name.startswith("xl/worksheets/"):
                xml = _FOOTER.sub(lambda m: _substitute(m.group(), footer), xml)
            elif _OPEN in xml:
                xml = _substitute(xml, plain)
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))  # as xlsxwriter's `_store_workbook`
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, xml)
    return buf.getvalue()
